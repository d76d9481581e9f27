// Validation findings and the policy that turns them into ACK codes.
#ifndef APPLIANCE_HL7_FINDINGS_H_
#define APPLIANCE_HL7_FINDINGS_H_

#include <map>
#include <string>
#include <vector>

#include "appliance/hl7/message.h"

namespace appliance::hl7 {

// HL7 table 0357 (message error condition codes) used by this engine.
enum class ErrorCode : int {
  kSegmentSequence = 100,
  kRequiredFieldMissing = 101,
  kDataType = 102,
  kTableValue = 103,
  kUnsupportedMessageType = 200,
  kUnsupportedEvent = 201,
  kUnsupportedProcessingId = 202,
  kUnsupportedVersion = 203,
  kApplicationError = 207,
};

// The text HL7 table 0357 gives each code.
const char* ErrorCodeText(ErrorCode code);

// HL7 table 0516 (error severity).
enum class Severity { kError, kWarning, kInformation };
// "E", "W" or "I".
const char* SeverityCode(Severity severity);

struct Finding {
  ErrorCode code;
  Severity severity;
  Location location;  // Segment (and field...) the finding is about.
  std::string text;   // Plain words; never contains field values (no PHI).
};

// What a finding does to the acknowledgment.
enum class Action {
  kReject,  // AR / CR: the message is not accepted for processing.
  kError,   // AE / CE: accepted for the record, not processed further.
  kWarn,    // Reported in the ACK's ERR segments; AA / CA.
};

// Maps findings to actions. The default: unsupported message type, event,
// processing id or version reject (AR); other findings of severity E error
// (AE); warnings and information only warn. Codes can be overridden, and
// later per sender.
class ValidationPolicy {
 public:
  ValidationPolicy() = default;

  Action ActionFor(const Finding& finding) const;
  // Every finding with `code` gets `action` regardless of severity.
  void Override(ErrorCode code, Action action) { overrides_[code] = action; }

 private:
  std::map<ErrorCode, Action> overrides_;
};

// The acknowledgment code findings call for under `policy`.
enum class AckCode { kAccept, kError, kReject };
AckCode Decide(const std::vector<Finding>& findings,
               const ValidationPolicy& policy);

}  // namespace appliance::hl7

#endif  // APPLIANCE_HL7_FINDINGS_H_
