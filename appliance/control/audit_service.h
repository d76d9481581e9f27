// AuditService (api/control/v1/audit.proto): query, verify (audit/chain.h)
// and export the audit trail.
#ifndef APPLIANCE_CONTROL_AUDIT_SERVICE_H_
#define APPLIANCE_CONTROL_AUDIT_SERVICE_H_

#include <string>

#include "api/control/v1/audit.grpc.pb.h"
#include "appliance/control/call_guard.h"
#include "appliance/intake/message_store.h"

namespace appliance::control {

class AuditServiceImpl final
    : public ::hl7appliance::control::v1::AuditService::Service {
 public:
  // `guard` and `store` must outlive the service. `key_file` holds the audit
  // HMAC key that authenticates the checkpoint (read at each verification;
  // empty: the checkpoint is not checked).
  AuditServiceImpl(const CallGuard* guard, intake::MessageStore* store,
                   std::string key_file)
      : guard_(guard), store_(store), key_file_(std::move(key_file)) {}

  grpc::Status QueryAudit(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::QueryAuditRequest* req,
      ::hl7appliance::control::v1::QueryAuditResponse* resp) override;
  grpc::Status VerifyAudit(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::VerifyAuditRequest* req,
      ::hl7appliance::control::v1::VerifyAuditResponse* resp) override;
  grpc::Status ExportAudit(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::ExportAuditRequest* req,
      grpc::ServerWriter<::hl7appliance::control::v1::ExportAuditChunk>* writer)
      override;

 private:
  const CallGuard* const guard_;       // Not owned.
  intake::MessageStore* const store_;  // Not owned.
  const std::string key_file_;
};

}  // namespace appliance::control

#endif  // APPLIANCE_CONTROL_AUDIT_SERVICE_H_
