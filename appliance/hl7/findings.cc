#include "appliance/hl7/findings.h"

namespace appliance::hl7 {

const char* ErrorCodeText(ErrorCode code) {
  switch (code) {
    case ErrorCode::kSegmentSequence:
      return "Segment sequence error";
    case ErrorCode::kRequiredFieldMissing:
      return "Required field missing";
    case ErrorCode::kDataType:
      return "Data type error";
    case ErrorCode::kTableValue:
      return "Table value not found";
    case ErrorCode::kUnsupportedMessageType:
      return "Unsupported message type";
    case ErrorCode::kUnsupportedEvent:
      return "Unsupported event code";
    case ErrorCode::kUnsupportedProcessingId:
      return "Unsupported processing id";
    case ErrorCode::kUnsupportedVersion:
      return "Unsupported version id";
    case ErrorCode::kApplicationError:
      return "Application internal error";
  }
  return "Application internal error";
}

const char* SeverityCode(Severity severity) {
  switch (severity) {
    case Severity::kError:
      return "E";
    case Severity::kWarning:
      return "W";
    case Severity::kInformation:
      return "I";
  }
  return "E";
}

Action ValidationPolicy::ActionFor(const Finding& f) const {
  auto it = overrides_.find(f.code);
  if (it != overrides_.end()) return it->second;
  switch (f.code) {
    case ErrorCode::kUnsupportedMessageType:
    case ErrorCode::kUnsupportedEvent:
    case ErrorCode::kUnsupportedProcessingId:
    case ErrorCode::kUnsupportedVersion:
      if (f.severity == Severity::kError) return Action::kReject;
      break;
    default:
      break;
  }
  return f.severity == Severity::kError ? Action::kError : Action::kWarn;
}

AckCode Decide(const std::vector<Finding>& findings,
               const ValidationPolicy& policy) {
  AckCode code = AckCode::kAccept;
  for (const Finding& f : findings) {
    switch (policy.ActionFor(f)) {
      case Action::kReject:
        return AckCode::kReject;
      case Action::kError:
        code = AckCode::kError;
        break;
      case Action::kWarn:
        break;
    }
  }
  return code;
}

}  // namespace appliance::hl7
