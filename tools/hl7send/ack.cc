#include "tools/hl7send/ack.h"

#include "appliance/hl7/message.h"

namespace hl7send {

absl::StatusOr<AckInfo> ReadAck(std::string_view payload) {
  absl::StatusOr<appliance::hl7::Message> message =
      appliance::hl7::Message::Parse(payload);
  if (!message.ok()) {
    return absl::InvalidArgumentError("ACK is not an HL7 message");
  }
  AckInfo info;
  info.code = std::string(message->Get("MSA-1"));
  info.control_id = std::string(message->Get("MSA-2"));
  if (info.code.empty()) {
    return absl::InvalidArgumentError("ACK has no MSA-1");
  }
  return info;
}

AckClass ClassifyAck(std::string_view code) {
  if (code == "AA" || code == "CA") return AckClass::kAccept;
  if (code == "AE" || code == "CE") return AckClass::kError;
  if (code == "AR" || code == "CR") return AckClass::kReject;
  return AckClass::kUnknown;
}

std::string ControlIdOf(std::string_view payload) {
  absl::StatusOr<appliance::hl7::Message> message =
      appliance::hl7::Message::Parse(payload);
  if (!message.ok()) return "";
  return std::string(message->control_id());
}

}  // namespace hl7send
