#include "appliance/intake/mllp_handler.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace appliance::intake {
namespace {

PeerContext Peer(const mllp::PeerInfo& p) {
  return PeerContext{absl::StrCat(p.address, ":", p.port), p.tls_subject};
}

}  // namespace

void IntakeFrameHandler::OnFrame(const mllp::PeerInfo& peer,
                                 std::string payload, mllp::Responder respond) {
  intake_->OnMessage(Peer(peer), std::move(payload),
                     [respond](std::string ack, bool close) {
                       respond(mllp::Response{std::move(ack), close});
                     });
}

void IntakeFrameHandler::OnTlsRefused(const mllp::PeerInfo& peer,
                                      const std::string& reason) {
  intake_->OnTlsRefused(Peer(peer), reason);
}

void IntakeFrameHandler::OnOversized(const mllp::PeerInfo& peer,
                                     std::string prefix,
                                     mllp::Responder respond) {
  intake_->OnOversized(Peer(peer), std::move(prefix),
                       [respond](std::string ack, bool) {
                         respond(mllp::Response{std::move(ack), true});
                       });
}

}  // namespace appliance::intake
