// StatsService (api/control/v1/stats.proto): the ops dashboard's document
// (computed by appliance/ops, not here), the delivery state and the mapping
// counters.
#ifndef APPLIANCE_CONTROL_STATS_SERVICE_H_
#define APPLIANCE_CONTROL_STATS_SERVICE_H_

#include "api/control/v1/stats.grpc.pb.h"
#include "appliance/control/call_guard.h"
#include "appliance/intake/message_store.h"
#include "appliance/ops/ops_service.h"
#include "appliance/pipeline/delivery_worker.h"
#include "appliance/pipeline/mapping_worker.h"

namespace appliance::control {

class StatsServiceImpl final
    : public ::hl7appliance::control::v1::StatsService::Service {
 public:
  // Every pointer must outlive the service; `ops`, `delivery` and `mapper`
  // may be null (their parts are then left empty).
  StatsServiceImpl(const CallGuard* guard, intake::MessageStore* store,
                   ops::OpsService* ops,
                   const pipeline::DeliveryWorker* delivery,
                   const pipeline::MappingWorker* mapper)
      : guard_(guard),
        store_(store),
        ops_(ops),
        delivery_(delivery),
        mapper_(mapper) {}

  grpc::Status GetStats(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::GetStatsRequest* req,
      ::hl7appliance::control::v1::GetStatsResponse* resp) override;

 private:
  const CallGuard* const guard_;                    // Not owned.
  intake::MessageStore* const store_;               // Not owned.
  ops::OpsService* const ops_;                      // Not owned; may be null.
  const pipeline::DeliveryWorker* const delivery_;  // Not owned; may be null.
  const pipeline::MappingWorker* const mapper_;     // Not owned; may be null.
};

}  // namespace appliance::control

#endif  // APPLIANCE_CONTROL_STATS_SERVICE_H_
