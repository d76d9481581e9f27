// MessageService (api/control/v1/messages.proto): search and read stored
// messages. Raw HL7 and Bundles are decrypted PHI: `phi.read`, audited by the
// call guard as AUDIT_PHI_READ before the response leaves.
#ifndef APPLIANCE_CONTROL_MESSAGE_SERVICE_H_
#define APPLIANCE_CONTROL_MESSAGE_SERVICE_H_

#include "api/control/v1/messages.grpc.pb.h"
#include "appliance/control/call_guard.h"
#include "appliance/intake/message_store.h"

namespace appliance::control {

class MessageServiceImpl final
    : public ::hl7appliance::control::v1::MessageService::Service {
 public:
  // `guard` and `store` must outlive the service.
  MessageServiceImpl(const CallGuard* guard, intake::MessageStore* store)
      : guard_(guard), store_(store) {}

  grpc::Status SearchMessages(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::SearchMessagesRequest* req,
      ::hl7appliance::control::v1::SearchMessagesResponse* resp) override;
  grpc::Status GetMessage(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::GetMessageRequest* req,
      ::hl7appliance::control::v1::GetMessageResponse* resp) override;
  grpc::Status GetRawMessage(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::GetRawMessageRequest* req,
      ::hl7appliance::control::v1::GetRawMessageResponse* resp) override;
  grpc::Status GetBundle(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::GetBundleRequest* req,
      ::hl7appliance::control::v1::GetBundleResponse* resp) override;

 private:
  const CallGuard* const guard_;       // Not owned.
  intake::MessageStore* const store_;  // Not owned.
};

}  // namespace appliance::control

#endif  // APPLIANCE_CONTROL_MESSAGE_SERVICE_H_
