#include "appliance/hl7/engine.h"

namespace appliance::hl7 {

void Engine::Process(std::string_view bytes, const AckOptions& ack_options,
                     Outcome* out) const {
  out->parse_status = out->message.ParseInto(bytes, parse_options_);
  if (!out->parse_status.ok()) {
    out->validation.type = MessageType();
    out->validation.findings.clear();
    out->ack = BuildRejectForUnparseable(out->parse_status, ack_options);
    return;
  }
  ValidateInto(out->message, &out->validation);
  const AckCode code = Decide(out->validation.findings, policy_);
  BuildAckInto(out->message, out->validation.findings, code, ack_options,
               &out->ack);
}

}  // namespace appliance::hl7
