// Messages for the load generator: the built-in synthetic ORU^R01 and a
// template whose MSH-10 (message control id) is replaced cheaply, so the same
// content can be sent many times under unique control ids.
#ifndef TOOLS_HL7LOAD_TEMPLATES_H_
#define TOOLS_HL7LOAD_TEMPLATES_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace hl7load {

// A synthetic ORU^R01 v2.5.1 (one glucose result, no PHI) with CR segment
// terminators, which the appliance accepts with AA.
const std::string& BuiltinOru();

class MessageTemplate {
 public:
  // `message` must start with an MSH segment (segments terminated by CR, as
  // hl7send::SplitAndNormalize produces). INVALID_ARGUMENT otherwise. An MSH
  // with fewer than 10 fields is padded with empty ones when rewritten.
  static absl::StatusOr<MessageTemplate> Create(std::string message);

  // The message with MSH-10 set to `control_id`, which must not contain the
  // message's delimiters.
  std::string WithControlId(std::string_view control_id) const;

  const std::string& message() const { return message_; }
  // The original MSH-10.
  const std::string& control_id() const { return control_id_; }

 private:
  std::string message_;
  std::string control_id_;
  // message_ around MSH-10: prefix_ ends with the field separator before it.
  std::string prefix_;
  std::string suffix_;
};

}  // namespace hl7load

#endif  // TOOLS_HL7LOAD_TEMPLATES_H_
