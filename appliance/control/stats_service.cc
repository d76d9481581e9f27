#include "appliance/control/stats_service.h"

#include <google/protobuf/util/json_util.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/control/convert.h"
#include "appliance/control/queue_service.h"

namespace appliance::control {

grpc::Status StatsServiceImpl::GetStats(grpc::ServerContext* ctx,
                                        const api::GetStatsRequest* req,
                                        api::GetStatsResponse* resp) {
  return guard_->Run(
      ctx, FullMethod<api::StatsService>("GetStats"), 0,
      [&](const Principal&) -> absl::Status {
        if (ops_ != nullptr) {
          // The same document /api/v1/stats serves (cached there for 1 s).
          const ops::HttpResponse doc = ops_->Stats();
          if (doc.status != 200) {
            return absl::InternalError(
                absl::StrCat("dashboard statistics failed (", doc.status, ")"));
          }
          google::protobuf::util::JsonParseOptions options;
          options.ignore_unknown_fields = true;
          const auto parsed = google::protobuf::util::JsonStringToMessage(
              doc.body, resp->mutable_dashboard(), options);
          if (!parsed.ok()) {
            return absl::InternalError(
                "dashboard statistics are not a JSON object");
          }
          const auto& fields = resp->dashboard().fields();
          if (auto it = fields.find("audit_records"); it != fields.end()) {
            resp->set_audit_records(
                static_cast<uint64_t>(it->second.number_value()));
          }
        }
        if (req->count_messages()) {
          ASSIGN_OR_RETURN(intake::StoreSummary sum, store_->Summarize());
          resp->set_messages(sum.messages);
          resp->mutable_by_state()->insert(sum.by_state.begin(),
                                           sum.by_state.end());
          resp->mutable_by_type()->insert(sum.by_type.begin(),
                                          sum.by_type.end());
          resp->set_audit_records(sum.audit_records);
        }
        FillDeliveryState(delivery_, resp->mutable_delivery());
        if (mapper_ != nullptr) {
          resp->set_mapped(mapper_->stats().mapped.load());
          resp->set_held(mapper_->stats().held.load());
        }
        return absl::OkStatus();
      });
}

}  // namespace appliance::control
