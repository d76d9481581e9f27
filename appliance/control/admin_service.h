// AdminService (api/control/v1/admin.proto): key rotation, configuration,
// backup (admin_ops.h) and WhoAmI.
#ifndef APPLIANCE_CONTROL_ADMIN_SERVICE_H_
#define APPLIANCE_CONTROL_ADMIN_SERVICE_H_

#include "api/config/v1/config.pb.h"
#include "api/control/v1/admin.grpc.pb.h"
#include "appliance/base/clock.h"
#include "appliance/control/call_guard.h"
#include "appliance/intake/message_store.h"

namespace appliance::control {

class AdminServiceImpl final
    : public ::hl7appliance::control::v1::AdminService::Service {
 public:
  // `guard`, `store` and `clock` must outlive the service; `config` is the
  // effective configuration GetConfig shows (redacted).
  AdminServiceImpl(const CallGuard* guard, intake::MessageStore* store,
                   const Clock* clock,
                   ::hl7appliance::config::v1::ApplianceConfig config)
      : guard_(guard),
        store_(store),
        clock_(clock),
        config_(std::move(config)) {}

  grpc::Status RotateDataKey(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::RotateDataKeyRequest* req,
      ::hl7appliance::control::v1::RotateDataKeyResponse* resp) override;
  grpc::Status GetConfig(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::GetConfigRequest* req,
      ::hl7appliance::control::v1::GetConfigResponse* resp) override;
  grpc::Status Backup(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::BackupRequest* req,
      ::hl7appliance::control::v1::BackupResponse* resp) override;
  grpc::Status WhoAmI(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::WhoAmIRequest* req,
      ::hl7appliance::control::v1::WhoAmIResponse* resp) override;

 private:
  const CallGuard* const guard_;       // Not owned.
  intake::MessageStore* const store_;  // Not owned.
  const Clock* const clock_;           // Not owned.
  const ::hl7appliance::config::v1::ApplianceConfig config_;
};

}  // namespace appliance::control

#endif  // APPLIANCE_CONTROL_ADMIN_SERVICE_H_
