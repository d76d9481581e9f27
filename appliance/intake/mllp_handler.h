// Adapts the MLLP server's callbacks to the intake (which knows no sockets):
// hl7d's handler, and the one the ACK-path benchmark runs behind a real
// server (tools/bench/store_bench.cc).
#ifndef APPLIANCE_INTAKE_MLLP_HANDLER_H_
#define APPLIANCE_INTAKE_MLLP_HANDLER_H_

#include <string>

#include "appliance/intake/intake.h"
#include "appliance/mllp/handler.h"

namespace appliance::intake {

class IntakeFrameHandler final : public mllp::FrameHandler {
 public:
  // `intake` is not owned and must outlive the server.
  explicit IntakeFrameHandler(Intake* intake) : intake_(intake) {}

  void OnFrame(const mllp::PeerInfo& peer, std::string payload,
               mllp::Responder respond) override;
  void OnTlsRefused(const mllp::PeerInfo& peer,
                    const std::string& reason) override;
  void OnOversized(const mllp::PeerInfo& peer, std::string prefix,
                   mllp::Responder respond) override;

 private:
  Intake* const intake_;
};

}  // namespace appliance::intake

#endif  // APPLIANCE_INTAKE_MLLP_HANDLER_H_
