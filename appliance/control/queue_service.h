// QueueService (api/control/v1/queue.proto): a thin adapter over the store's
// pipeline entries, DeliveryWorker (retry, discard, pause) and MappingWorker
// (re-map held messages).
#ifndef APPLIANCE_CONTROL_QUEUE_SERVICE_H_
#define APPLIANCE_CONTROL_QUEUE_SERVICE_H_

#include "api/control/v1/queue.grpc.pb.h"
#include "appliance/control/call_guard.h"
#include "appliance/intake/message_store.h"
#include "appliance/pipeline/delivery_worker.h"
#include "appliance/pipeline/mapping_worker.h"

namespace appliance::control {

// The delivery stage's state for the API; `delivery` may be null (then
// configured = false).
void FillDeliveryState(const pipeline::DeliveryWorker* delivery,
                       ::hl7appliance::control::v1::DeliveryState* out);

class QueueServiceImpl final
    : public ::hl7appliance::control::v1::QueueService::Service {
 public:
  // All pointers must outlive the service; `delivery` and `mapper` may be
  // null (their actions then answer UNAVAILABLE).
  QueueServiceImpl(const CallGuard* guard, intake::MessageStore* store,
                   pipeline::DeliveryWorker* delivery,
                   pipeline::MappingWorker* mapper)
      : guard_(guard), store_(store), delivery_(delivery), mapper_(mapper) {}

  grpc::Status ListQueue(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::ListQueueRequest* req,
      ::hl7appliance::control::v1::ListQueueResponse* resp) override;
  grpc::Status GetQueueItem(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::GetQueueItemRequest* req,
      ::hl7appliance::control::v1::GetQueueItemResponse* resp) override;
  grpc::Status GetOperationOutcome(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::GetOperationOutcomeRequest* req,
      ::hl7appliance::control::v1::GetOperationOutcomeResponse* resp) override;
  grpc::Status RetryNow(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::RetryNowRequest* req,
      ::hl7appliance::control::v1::RetryNowResponse* resp) override;
  grpc::Status Remap(grpc::ServerContext* ctx,
                     const ::hl7appliance::control::v1::RemapRequest* req,
                     ::hl7appliance::control::v1::RemapResponse* resp) override;
  grpc::Status Discard(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::DiscardRequest* req,
      ::hl7appliance::control::v1::DiscardResponse* resp) override;
  grpc::Status SetDeliveryPaused(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::SetDeliveryPausedRequest* req,
      ::hl7appliance::control::v1::SetDeliveryPausedResponse* resp) override;
  grpc::Status GetDeliveryState(
      grpc::ServerContext* ctx,
      const ::hl7appliance::control::v1::GetDeliveryStateRequest* req,
      ::hl7appliance::control::v1::GetDeliveryStateResponse* resp) override;

 private:
  // The entry of `seq` with its message's type, control id and time. With
  // `meta`, the message's record is also returned there, and an error when
  // it cannot be read.
  absl::Status FillItem(
      uint64_t seq, ::hl7appliance::control::v1::QueueItem* out,
      ::hl7appliance::store::v1::MessageMeta* meta = nullptr) const;

  const CallGuard* const guard_;              // Not owned.
  intake::MessageStore* const store_;         // Not owned.
  pipeline::DeliveryWorker* const delivery_;  // Not owned; may be null.
  pipeline::MappingWorker* const mapper_;     // Not owned; may be null.
};

}  // namespace appliance::control

#endif  // APPLIANCE_CONTROL_QUEUE_SERVICE_H_
