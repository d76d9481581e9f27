// One-call processing of a received message: parse, validate, decide and build
// the acknowledgment. Used by the MLLP intake and by `hl7ctl validate`.
#ifndef APPLIANCE_HL7_ENGINE_H_
#define APPLIANCE_HL7_ENGINE_H_

#include <string_view>

#include "absl/status/status.h"
#include "appliance/hl7/ack.h"
#include "appliance/hl7/findings.h"
#include "appliance/hl7/message.h"
#include "appliance/hl7/validator.h"

namespace appliance::hl7 {

// The outcome for one message. Reusable across messages (storage is kept).
// `message` views the bytes passed to Process(), which must outlive it.
struct Outcome {
  absl::Status parse_status;  // Not OK: unparseable; `message` is empty.
  Message message;
  ValidationResult validation;
  Ack ack;
};

class Engine {
 public:
  explicit Engine(ValidationPolicy policy = ValidationPolicy(),
                  ParseOptions parse_options = ParseOptions())
      : policy_(std::move(policy)), parse_options_(parse_options) {}

  // Processes `bytes` (one message) into `*out`.
  void Process(std::string_view bytes, const AckOptions& ack_options,
               Outcome* out) const;

  const ValidationPolicy& policy() const { return policy_; }

 private:
  ValidationPolicy policy_;
  ParseOptions parse_options_;
};

}  // namespace appliance::hl7

#endif  // APPLIANCE_HL7_ENGINE_H_
