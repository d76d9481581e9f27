#include "appliance/control/queue_service.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/control/convert.h"

namespace appliance::control {
namespace {

using QS = api::QueueService;
constexpr char kKind[] = "queue";

absl::Status NoDelivery() {
  return absl::UnavailableError("the delivery stage is not running");
}

// Only wording the audit trail and the logs can carry.
absl::Status CheckReason(const std::string& reason) {
  return CheckOperatorText(reason, "reason", 200, /*required=*/true);
}

}  // namespace

void FillDeliveryState(const pipeline::DeliveryWorker* delivery,
                       api::DeliveryState* out) {
  if (delivery == nullptr) return;
  const pipeline::DeliverySnapshot snap = delivery->snapshot();
  const pipeline::DeliveryStats& st = delivery->stats();
  out->set_configured(true);
  out->set_destination(delivery->destination_name());
  out->set_paused(snap.paused);
  out->set_breaker_open(snap.breaker_open);
  out->set_queued(snap.queued);
  out->set_in_flight(snap.in_flight);
  out->set_retrying(snap.retrying);
  out->set_dead_letters(snap.dead_letters);
  ToTimestamp(snap.next_due_us, out->mutable_next_due());
  out->set_attempts(st.attempts.load());
  out->set_delivered(st.delivered.load());
  out->set_failed_attempts(st.failed.load());
  out->set_dead_lettered(st.dead_lettered.load());
  ToTimestamp(st.last_success_us.load(), out->mutable_last_success());
  ToTimestamp(st.last_failure_us.load(), out->mutable_last_failure());
}

absl::Status QueueServiceImpl::FillItem(uint64_t seq, api::QueueItem* out,
                                        spb::MessageMeta* meta) const {
  absl::StatusOr<spb::PipelineEntry> e = store_->GetPipelineEntry(seq);
  if (absl::IsNotFound(e.status())) {
    return absl::NotFoundError(
        absl::StrCat("seq ", seq, ": not in the pipeline"));
  }
  RETURN_IF_ERROR(e.status());
  ToQueueItem(*e, out);
  absl::StatusOr<spb::MessageMeta> m = store_->GetMessage(seq);
  if (m.ok()) AddMessageFields(*m, out);
  if (meta == nullptr) return absl::OkStatus();
  RETURN_IF_ERROR(m.status());
  *meta = *std::move(m);
  return absl::OkStatus();
}

grpc::Status QueueServiceImpl::ListQueue(grpc::ServerContext* ctx,
                                         const api::ListQueueRequest* req,
                                         api::ListQueueResponse* resp) {
  return guard_->Run(
      ctx, FullMethod<QS>("ListQueue"), 0,
      [&](const Principal&) -> absl::Status {
        std::set<int> states;
        for (int i = 0; i < req->states_size(); ++i) {
          const int s = req->states(i);
          if (s == spb::MESSAGE_STATE_UNSPECIFIED ||
              !spb::MessageState_IsValid(s)) {
            return absl::InvalidArgumentError(
                absl::StrCat("states[", i, "]: not a message state"));
          }
          states.insert(s);
        }
        if (states.empty()) {
          states = {spb::MESSAGE_STATE_PENDING, spb::MESSAGE_STATE_MAPPED,
                    spb::MESSAGE_STATE_RETRYING, spb::MESSAGE_STATE_HELD,
                    spb::MESSAGE_STATE_DEAD_LETTER};
        }
        RETURN_IF_ERROR(
            CheckTimestamp(req->enqueued_after(), "enqueued_after"));
        RETURN_IF_ERROR(
            CheckTimestamp(req->enqueued_before(), "enqueued_before"));
        const int64_t after_us = FromTimestamp(req->enqueued_after());
        const int64_t before_us = req->has_enqueued_before()
                                      ? FromTimestamp(req->enqueued_before())
                                      : INT64_MAX;
        ASSIGN_OR_RETURN(uint64_t after,
                         DecodePageToken(kKind, req->page_token()));
        ASSIGN_OR_RETURN(
            uint64_t next,
            ScanPage<spb::PipelineEntry>(
                after, EffectivePageSize(req->page_size()),
                [&](uint64_t from, size_t n) {
                  return store_->ListPipeline(from, n);
                },
                [&](const spb::PipelineEntry& e) -> absl::StatusOr<bool> {
                  if (!states.count(e.state()) ||
                      e.enqueued_at_us() < after_us ||
                      e.enqueued_at_us() >= before_us ||
                      (!req->error_contains().empty() &&
                       !absl::StrContains(e.last_error(),
                                          req->error_contains()))) {
                    return false;
                  }
                  api::QueueItem item;
                  ToQueueItem(e, &item);
                  absl::StatusOr<spb::MessageMeta> m =
                      store_->GetMessage(e.seq());
                  if (m.ok()) AddMessageFields(*m, &item);
                  if (!req->message_type().empty() &&
                      item.message_type() != req->message_type()) {
                    return false;
                  }
                  *resp->add_items() = std::move(item);
                  return true;
                }));
        if (next != 0) resp->set_next_page_token(EncodePageToken(kKind, next));
        return absl::OkStatus();
      });
}

grpc::Status QueueServiceImpl::GetQueueItem(grpc::ServerContext* ctx,
                                            const api::GetQueueItemRequest* req,
                                            api::GetQueueItemResponse* resp) {
  return guard_->Run(
      ctx, FullMethod<QS>("GetQueueItem"), req->seq(),
      [&](const Principal&) -> absl::Status {
        RETURN_IF_ERROR(RequireSeq(req->seq()));
        spb::MessageMeta m;
        RETURN_IF_ERROR(FillItem(req->seq(), resp->mutable_item(), &m));
        ToSummary(m, resp->mutable_message());
        return absl::OkStatus();
      });
}

grpc::Status QueueServiceImpl::GetOperationOutcome(
    grpc::ServerContext* ctx, const api::GetOperationOutcomeRequest* req,
    api::GetOperationOutcomeResponse* resp) {
  return guard_->Run(
      ctx, FullMethod<QS>("GetOperationOutcome"), req->seq(),
      [&](const Principal&) -> absl::Status {
        RETURN_IF_ERROR(RequireSeq(req->seq()));
        absl::StatusOr<spb::PipelineEntry> e =
            store_->GetPipelineEntry(req->seq());
        if (absl::IsNotFound(e.status())) {
          return absl::NotFoundError(
              absl::StrCat("seq ", req->seq(), ": not in the pipeline"));
        }
        RETURN_IF_ERROR(e.status());
        if (e->sealed_outcome().empty()) {
          return absl::NotFoundError(
              absl::StrCat("seq ", req->seq(), ": no OperationOutcome stored"));
        }
        if (store_->keys() == nullptr) {
          return absl::FailedPreconditionError("store opened without its keys");
        }
        ASSIGN_OR_RETURN(
            std::string outcome,
            store_->keys()->Open(e->sealed_outcome(),
                                 intake::OutcomeAad(req->seq())));
        resp->set_seq(req->seq());
        resp->set_operation_outcome(std::move(outcome));
        resp->set_http_status(e->last_http_status());
        return absl::OkStatus();
      });
}

grpc::Status QueueServiceImpl::RetryNow(grpc::ServerContext* ctx,
                                        const api::RetryNowRequest* req,
                                        api::RetryNowResponse* resp) {
  return guard_->Run(
      ctx, FullMethod<QS>("RetryNow"), req->seq(),
      [&](const Principal& who) -> absl::Status {
        RETURN_IF_ERROR(RequireSeq(req->seq()));
        if (delivery_ == nullptr) return NoDelivery();
        RETURN_IF_ERROR(delivery_->RetryNow(req->seq(), who.name));
        return FillItem(req->seq(), resp->mutable_item());
      });
}

grpc::Status QueueServiceImpl::Remap(grpc::ServerContext* ctx,
                                     const api::RemapRequest* req,
                                     api::RemapResponse* resp) {
  return guard_->Run(
      ctx, FullMethod<QS>("Remap"), req->seq(),
      [&](const Principal& who) -> absl::Status {
        RETURN_IF_ERROR(RequireSeq(req->seq()));
        if (mapper_ == nullptr) {
          return absl::UnavailableError("the mapping stage is not running");
        }
        RETURN_IF_ERROR(mapper_->RemapHeld(req->seq(), who.name));
        return FillItem(req->seq(), resp->mutable_item());
      });
}

grpc::Status QueueServiceImpl::Discard(grpc::ServerContext* ctx,
                                       const api::DiscardRequest* req,
                                       api::DiscardResponse* resp) {
  return guard_->Run(ctx, FullMethod<QS>("Discard"), req->seq(),
                     [&](const Principal& who) -> absl::Status {
                       RETURN_IF_ERROR(RequireSeq(req->seq()));
                       RETURN_IF_ERROR(CheckReason(req->reason()));
                       if (delivery_ == nullptr) return NoDelivery();
                       RETURN_IF_ERROR(delivery_->Discard(
                           req->seq(), req->reason(), who.name));
                       return FillItem(req->seq(), resp->mutable_item());
                     });
}

grpc::Status QueueServiceImpl::SetDeliveryPaused(
    grpc::ServerContext* ctx, const api::SetDeliveryPausedRequest* req,
    api::SetDeliveryPausedResponse* resp) {
  return guard_->Run(
      ctx, FullMethod<QS>("SetDeliveryPaused"), 0,
      [&](const Principal& who) -> absl::Status {
        if (delivery_ == nullptr) return NoDelivery();
        RETURN_IF_ERROR(delivery_->SetPaused(req->paused(), who.name));
        FillDeliveryState(delivery_, resp->mutable_delivery());
        return absl::OkStatus();
      });
}

grpc::Status QueueServiceImpl::GetDeliveryState(
    grpc::ServerContext* ctx, const api::GetDeliveryStateRequest*,
    api::GetDeliveryStateResponse* resp) {
  return guard_->Run(ctx, FullMethod<QS>("GetDeliveryState"), 0,
                     [&](const Principal&) -> absl::Status {
                       FillDeliveryState(delivery_, resp->mutable_delivery());
                       return absl::OkStatus();
                     });
}

}  // namespace appliance::control
