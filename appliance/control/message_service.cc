#include "appliance/control/message_service.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/control/convert.h"
#include "appliance/store/keys.h"

namespace appliance::control {
namespace {

using MS = api::MessageService;
constexpr char kKind[] = "messages";

absl::Status Unknown(uint64_t seq) {
  return absl::NotFoundError(absl::StrCat("seq ", seq, ": no such message"));
}

}  // namespace

grpc::Status MessageServiceImpl::SearchMessages(
    grpc::ServerContext* ctx, const api::SearchMessagesRequest* req,
    api::SearchMessagesResponse* resp) {
  return guard_->Run(
      ctx, FullMethod<MS>("SearchMessages"), 0,
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
        RETURN_IF_ERROR(
            CheckTimestamp(req->received_after(), "received_after"));
        RETURN_IF_ERROR(
            CheckTimestamp(req->received_before(), "received_before"));
        const int64_t after_us = FromTimestamp(req->received_after());
        const int64_t before_us = req->has_received_before()
                                      ? FromTimestamp(req->received_before())
                                      : INT64_MAX;
        if (req->has_received_before() && req->has_received_after() &&
            before_us <= after_us) {
          return absl::InvalidArgumentError(
              "received_before: must be after received_after");
        }
        ASSIGN_OR_RETURN(uint64_t after,
                         DecodePageToken(kKind, req->page_token()));
        ASSIGN_OR_RETURN(
            uint64_t next,
            ScanPage<spb::MessageMeta>(
                after, EffectivePageSize(req->page_size()),
                [&](uint64_t from, size_t n) {
                  return store_->ListMessages(from, n);
                },
                [&](const spb::MessageMeta& m) -> absl::StatusOr<bool> {
                  if ((!req->control_id().empty() &&
                       m.control_id() != req->control_id()) ||
                      (!req->message_type().empty() &&
                       m.message_type() != req->message_type()) ||
                      (!req->sending_application().empty() &&
                       m.sending_application() != req->sending_application()) ||
                      (!req->sending_facility().empty() &&
                       m.sending_facility() != req->sending_facility()) ||
                      m.received_at_us() < after_us ||
                      m.received_at_us() >= before_us ||
                      (!states.empty() && !states.count(m.state()))) {
                    return false;
                  }
                  ToSummary(m, resp->add_messages());
                  return true;
                }));
        if (next != 0) resp->set_next_page_token(EncodePageToken(kKind, next));
        return absl::OkStatus();
      });
}

grpc::Status MessageServiceImpl::GetMessage(grpc::ServerContext* ctx,
                                            const api::GetMessageRequest* req,
                                            api::GetMessageResponse* resp) {
  return guard_->Run(
      ctx, FullMethod<MS>("GetMessage"), req->seq(),
      [&](const Principal&) -> absl::Status {
        RETURN_IF_ERROR(RequireSeq(req->seq()));
        absl::StatusOr<spb::MessageMeta> m = store_->GetMessage(req->seq());
        if (absl::IsNotFound(m.status())) return Unknown(req->seq());
        RETURN_IF_ERROR(m.status());
        ToSummary(*m, resp->mutable_message());
        absl::StatusOr<spb::PipelineEntry> e =
            store_->GetPipelineEntry(req->seq());
        if (e.ok()) {
          ToQueueItem(*e, resp->mutable_queue_item());
          AddMessageFields(*m, resp->mutable_queue_item());
        } else if (!absl::IsNotFound(e.status())) {
          return e.status();
        }
        // Whether a Bundle exists, without decrypting it.
        ASSIGN_OR_RETURN(store::Dbi bundles, store_->Db("bundles"));
        ASSIGN_OR_RETURN(store::ReadTxn txn, store_->env().BeginRead());
        ASSIGN_OR_RETURN(auto found,
                         txn.Find(bundles, store::EncodeU64BE(req->seq())));
        resp->set_has_bundle(found.has_value());
        return absl::OkStatus();
      });
}

grpc::Status MessageServiceImpl::GetRawMessage(
    grpc::ServerContext* ctx, const api::GetRawMessageRequest* req,
    api::GetRawMessageResponse* resp) {
  return guard_->Run(ctx, FullMethod<MS>("GetRawMessage"), req->seq(),
                     [&](const Principal&) -> absl::Status {
                       RETURN_IF_ERROR(RequireSeq(req->seq()));
                       absl::StatusOr<std::string> raw =
                           store_->ReadPayload(req->seq());
                       if (absl::IsNotFound(raw.status()))
                         return Unknown(req->seq());
                       RETURN_IF_ERROR(raw.status());
                       resp->set_seq(req->seq());
                       resp->set_raw(std::move(*raw));
                       return absl::OkStatus();
                     });
}

grpc::Status MessageServiceImpl::GetBundle(grpc::ServerContext* ctx,
                                           const api::GetBundleRequest* req,
                                           api::GetBundleResponse* resp) {
  return guard_->Run(ctx, FullMethod<MS>("GetBundle"), req->seq(),
                     [&](const Principal&) -> absl::Status {
                       RETURN_IF_ERROR(RequireSeq(req->seq()));
                       absl::StatusOr<std::string> bundle =
                           store_->ReadBundle(req->seq());
                       if (absl::IsNotFound(bundle.status())) {
                         return absl::NotFoundError(absl::StrCat(
                             "seq ", req->seq(),
                             ": no such message, or no Bundle (not mapped)"));
                       }
                       RETURN_IF_ERROR(bundle.status());
                       resp->set_seq(req->seq());
                       resp->set_bundle_json(std::move(*bundle));
                       return absl::OkStatus();
                     });
}

}  // namespace appliance::control
