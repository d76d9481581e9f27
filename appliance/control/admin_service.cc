#include "appliance/control/admin_service.h"

#include <string>
#include <vector>

#include "appliance/base/status_macros.h"
#include "appliance/control/admin_ops.h"
#include "appliance/control/convert.h"

namespace appliance::control {
namespace {

using AdS = api::AdminService;

absl::Status CheckReason(const std::string& reason) {
  return CheckOperatorText(reason, "reason", 150, /*required=*/false);
}

}  // namespace

grpc::Status AdminServiceImpl::RotateDataKey(
    grpc::ServerContext* ctx, const api::RotateDataKeyRequest* req,
    api::RotateDataKeyResponse* resp) {
  return guard_->Run(
      ctx, FullMethod<AdS>("RotateDataKey"), 0,
      [&](const Principal& who) -> absl::Status {
        RETURN_IF_ERROR(CheckReason(req->reason()));
        ASSIGN_OR_RETURN(intake::DataKeyRotation r,
                         store_->RotateDataKey(who.name, req->reason()));
        resp->set_key_id(r.key_id);
        resp->set_previous_key_id(r.previous_key_id);
        resp->set_keys(r.keys);
        return absl::OkStatus();
      });
}

grpc::Status AdminServiceImpl::GetConfig(grpc::ServerContext* ctx,
                                         const api::GetConfigRequest*,
                                         api::GetConfigResponse* resp) {
  return guard_->Run(
      ctx, FullMethod<AdS>("GetConfig"), 0,
      [&](const Principal&) -> absl::Status {
        std::vector<std::string> redacted;
        resp->set_config_text(RedactedConfigText(config_, &redacted));
        for (std::string& r : redacted) resp->add_redacted_fields(std::move(r));
        return absl::OkStatus();
      });
}

grpc::Status AdminServiceImpl::Backup(grpc::ServerContext* ctx,
                                      const api::BackupRequest* req,
                                      api::BackupResponse* resp) {
  return guard_->Run(
      ctx, FullMethod<AdS>("Backup"), 0,
      [&](const Principal& who) -> absl::Status {
        ASSIGN_OR_RETURN(
            uint64_t bytes,
            BackupStore(store_, clock_, req->destination_dir(), who.name));
        resp->set_destination_dir(req->destination_dir());
        resp->set_bytes(bytes);
        ToTimestamp(clock_->NowMicros(), resp->mutable_completed_at());
        return absl::OkStatus();
      });
}

grpc::Status AdminServiceImpl::WhoAmI(grpc::ServerContext* ctx,
                                      const api::WhoAmIRequest*,
                                      api::WhoAmIResponse* resp) {
  return guard_->Run(ctx, FullMethod<AdS>("WhoAmI"), 0,
                     [&](const Principal& who) -> absl::Status {
                       resp->set_name(who.name);
                       resp->set_role(RoleName(who.role));
                       resp->set_authenticated_by(who.authenticated_by);
                       for (Permission p : PermissionsOf(who.role)) {
                         resp->add_permissions(PermissionName(p));
                       }
                       return absl::OkStatus();
                     });
}

}  // namespace appliance::control
