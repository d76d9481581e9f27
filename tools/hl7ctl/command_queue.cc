// `hl7ctl queue ...` (QueueService) and `hl7ctl messages ...`
// (MessageService).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "api/control/v1/messages.grpc.pb.h"
#include "api/control/v1/queue.grpc.pb.h"
#include "tools/hl7ctl/command_util.h"

namespace hl7ctl {
namespace {

using F = FlagSpec;

int QueueList(Invocation& inv) {
  api::ListQueueRequest req;
  uint64_t limit = 0;
  if (!AddStates(inv, req.mutable_states()) ||
      !inv.Uint("limit", 1000, &limit) ||
      !inv.Time("from", [&] { return req.mutable_enqueued_after(); }) ||
      !inv.Time("to", [&] { return req.mutable_enqueued_before(); })) {
    return kExitUsage;
  }
  req.set_page_size(static_cast<uint32_t>(limit));
  req.set_page_token(inv.Get("page_token"));
  req.set_message_type(inv.Get("type"));
  req.set_error_contains(inv.Get("error"));
  api::ListQueueResponse resp;
  auto stub = api::QueueService::NewStub(inv.conn().channel());
  auto s = stub->ListQueue(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    Table t({"SEQ", "STATE", "TYPE", "CONTROL_ID", "ATTEMPTS", "ENQUEUED",
             "NEXT_ATTEMPT", "HTTP", "LAST_ERROR"});
    for (const auto& i : resp.items()) {
      t.Add({absl::StrCat(i.seq()), StateText(i.state()), i.message_type(),
             i.control_id(), absl::StrCat(i.attempts()),
             FormatTime(i.enqueued_at()), FormatTime(i.next_attempt_at()),
             i.last_http_status() ? absl::StrCat(i.last_http_status()) : "-",
             i.last_error().empty() ? "-" : i.last_error()});
    }
    t.Print(inv.out());
    PrintNextPage(inv, resp.next_page_token());
  });
}

int QueueShow(Invocation& inv) {
  api::GetQueueItemRequest req;
  uint64_t seq;
  if (!inv.Seq(0, &seq)) return kExitUsage;
  req.set_seq(seq);
  api::GetQueueItemResponse resp;
  auto s = api::QueueService::NewStub(inv.conn().channel())
               ->GetQueueItem(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    Fields f = QueueItemFields(resp.item());
    if (resp.has_message()) {
      f.emplace_back("sending_application",
                     resp.message().sending_application());
      f.emplace_back("sending_facility", resp.message().sending_facility());
      f.emplace_back("ack", AckText(resp.message().ack_code()));
      f.emplace_back("raw_sha256", resp.message().raw_sha256());
    }
    PrintFields(inv.out(), f);
  });
}

int QueueOutcome(Invocation& inv) {
  api::GetOperationOutcomeRequest req;
  uint64_t seq;
  if (!inv.Seq(0, &seq)) return kExitUsage;
  req.set_seq(seq);
  api::GetOperationOutcomeResponse resp;
  auto s = api::QueueService::NewStub(inv.conn().channel())
               ->GetOperationOutcome(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    inv.err() << "seq " << resp.seq() << ", HTTP " << resp.http_status()
              << ":\n";
    PrintText(inv.out(), resp.operation_outcome());
  });
}

// retry, remap, discard: one seq in, the resulting QueueItem out.
template <typename Request, typename Response, typename Call>
int QueueAction(Invocation& inv, Call call, const std::string& reason = "") {
  Request req;
  uint64_t seq;
  if (!inv.Seq(0, &seq)) return kExitUsage;
  req.set_seq(seq);
  if constexpr (std::is_same_v<Request, api::DiscardRequest>) {
    req.set_reason(reason);
  }
  Response resp;
  auto stub = api::QueueService::NewStub(inv.conn().channel());
  auto s = ((*stub).*call)(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp,
               [&] { PrintFields(inv.out(), QueueItemFields(resp.item())); });
}

int QueueDiscard(Invocation& inv) {
  const std::string reason = inv.Get("reason");
  if (reason.empty()) {
    return inv.Usage(
        "--reason=TEXT is required (why; goes into the audit trail)");
  }
  return QueueAction<api::DiscardRequest, api::DiscardResponse>(
      inv, &api::QueueService::Stub::Discard, reason);
}

int SetPaused(Invocation& inv, bool paused) {
  api::SetDeliveryPausedRequest req;
  req.set_paused(paused);
  api::SetDeliveryPausedResponse resp;
  auto s = api::QueueService::NewStub(inv.conn().channel())
               ->SetDeliveryPaused(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    PrintFields(inv.out(), DeliveryFields(resp.delivery()));
  });
}

int QueueState(Invocation& inv) {
  api::GetDeliveryStateResponse resp;
  auto s = api::QueueService::NewStub(inv.conn().channel())
               ->GetDeliveryState(inv.Context().get(),
                                  api::GetDeliveryStateRequest(), &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    PrintFields(inv.out(), DeliveryFields(resp.delivery()));
  });
}

int MessagesSearch(Invocation& inv) {
  api::SearchMessagesRequest req;
  uint64_t limit = 0;
  if (!AddStates(inv, req.mutable_states()) ||
      !inv.Uint("limit", 1000, &limit) ||
      !inv.Time("from", [&] { return req.mutable_received_after(); }) ||
      !inv.Time("to", [&] { return req.mutable_received_before(); })) {
    return kExitUsage;
  }
  req.set_control_id(inv.Get("control_id"));
  req.set_message_type(inv.Get("type"));
  req.set_sending_application(inv.Get("sender"));
  req.set_sending_facility(inv.Get("facility"));
  req.set_page_size(static_cast<uint32_t>(limit));
  req.set_page_token(inv.Get("page_token"));
  api::SearchMessagesResponse resp;
  auto s = api::MessageService::NewStub(inv.conn().channel())
               ->SearchMessages(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    Table t({"SEQ", "RECEIVED", "TYPE", "CONTROL_ID", "SENDER", "FACILITY",
             "ACK", "STATE"});
    for (const auto& m : resp.messages()) {
      t.Add({absl::StrCat(m.seq()), FormatTime(m.received_at()),
             m.message_type(), m.control_id(), m.sending_application(),
             m.sending_facility(), AckText(m.ack_code()),
             StateText(m.state())});
    }
    t.Print(inv.out());
    PrintNextPage(inv, resp.next_page_token());
  });
}

int MessagesShow(Invocation& inv) {
  api::GetMessageRequest req;
  uint64_t seq;
  if (!inv.Seq(0, &seq)) return kExitUsage;
  req.set_seq(seq);
  api::GetMessageResponse resp;
  auto s = api::MessageService::NewStub(inv.conn().channel())
               ->GetMessage(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    Fields f = MessageFields(resp.message());
    f.emplace_back("has_bundle", resp.has_bundle() ? "yes" : "no");
    if (resp.has_queue_item()) {
      const api::QueueItem& q = resp.queue_item();
      f.emplace_back("attempts", absl::StrCat(q.attempts()));
      f.emplace_back("last_error",
                     q.last_error().empty() ? "-" : q.last_error());
      f.emplace_back("delivered_at", FormatTime(q.delivered_at()));
    }
    PrintFields(inv.out(), f);
  });
}

int MessagesRaw(Invocation& inv) {
  api::GetRawMessageRequest req;
  uint64_t seq;
  if (!inv.Seq(0, &seq)) return kExitUsage;
  req.set_seq(seq);
  api::GetRawMessageResponse resp;
  auto s = api::MessageService::NewStub(inv.conn().channel())
               ->GetRawMessage(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    if (inv.Has("exact")) {
      inv.out() << resp.raw();
      return;
    }
    std::string text = resp.raw();
    std::replace(text.begin(), text.end(), '\r', '\n');
    PrintText(inv.out(), text);
  });
}

int MessagesBundle(Invocation& inv) {
  api::GetBundleRequest req;
  uint64_t seq;
  if (!inv.Seq(0, &seq)) return kExitUsage;
  req.set_seq(seq);
  api::GetBundleResponse resp;
  auto s = api::MessageService::NewStub(inv.conn().channel())
               ->GetBundle(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    PrintText(inv.out(), resp.bundle_json());
  });
}

}  // namespace

void AddQueueCommands(std::vector<Command>* c) {
  c->push_back(
      {"queue list",
       "[--state=STATE]... [--type=MSH-9] [--error=TEXT] [--from=TIME] "
       "[--to=TIME] [--limit=N] [--page_token=T]",
       "Pipeline entries (QueueService.ListQueue), ascending seq.\n"
       "STATE: PENDING, MAPPED, HELD, RETRYING, DEAD_LETTER, DELIVERED,\n"
       "DISCARDED (repeat or comma-separate; default: the unfinished\n"
       "ones). --error: last error contains TEXT. --from/--to: entered\n"
       "the pipeline at or after / before (RFC 3339 or YYYY-MM-DD).\n"
       "--limit: page size (default 100, at most 1000); the next page's\n"
       "token is printed on stderr.\n",
       {{"state", F::kRepeated},
        {"type"},
        {"error"},
        {"from"},
        {"to"},
        {"limit"},
        {"page_token"}},
       0,
       0,
       QueueList});
  c->push_back(
      {"queue show",
       "SEQ",
       "One pipeline entry (QueueService.GetQueueItem): attempts, last\n"
       "error, next attempt, HTTP status, destination. Exit 3 when\n"
       "unknown.\n",
       {},
       1,
       1,
       QueueShow});
  c->push_back(
      {"queue outcome",
       "SEQ",
       "The EHR's OperationOutcome of the last failed attempt\n"
       "(QueueService.GetOperationOutcome; PHI, needs phi.read and is\n"
       "audited). Exit 3 when there is none.\n",
       {},
       1,
       1,
       QueueOutcome});
  c->push_back(
      {"queue retry",
       "SEQ",
       "Retry now (RETRYING) or replay (DEAD_LETTER, DELIVERED)\n"
       "(QueueService.RetryNow; needs queue.write).\n",
       {},
       1,
       1,
       [](Invocation& inv) {
         return QueueAction<api::RetryNowRequest, api::RetryNowResponse>(
             inv, &api::QueueService::Stub::RetryNow);
       }});
  c->push_back({"queue remap",
                "SEQ",
                "Map a HELD message again with the current terminology; then\n"
                "it is delivered (QueueService.Remap; needs queue.write).\n",
                {},
                1,
                1,
                [](Invocation& inv) {
                  return QueueAction<api::RemapRequest, api::RemapResponse>(
                      inv, &api::QueueService::Stub::Remap);
                }});
  c->push_back(
      {"queue discard",
       "SEQ --reason=TEXT",
       "Discard a MAPPED, RETRYING, DEAD_LETTER or HELD message\n"
       "(QueueService.Discard; needs queue.write). The reason (1..200\n"
       "printable characters, no PHI) goes into the audit trail.\n",
       {{"reason"}},
       1,
       1,
       QueueDiscard});
  c->push_back({"queue pause",
                "",
                "Pause all deliveries (persisted; attempts in flight finish).\n"
                "QueueService.SetDeliveryPaused; needs queue.write.\n",
                {},
                0,
                0,
                [](Invocation& inv) { return SetPaused(inv, true); }});
  c->push_back({"queue resume",
                "",
                "Resume deliveries.\n",
                {},
                0,
                0,
                [](Invocation& inv) { return SetPaused(inv, false); }});
  c->push_back({"queue state",
                "",
                "The delivery stage: paused, breaker, queue sizes, counters\n"
                "(QueueService.GetDeliveryState).\n",
                {},
                0,
                0,
                QueueState});
}

void AddMessageCommands(std::vector<Command>* c) {
  c->push_back(
      {"messages search",
       "[--control_id=ID] [--type=MSH-9] [--sender=MSH-3] "
       "[--facility=MSH-4] [--from=TIME] [--to=TIME] [--state=STATE]... "
       "[--limit=N] [--page_token=T]",
       "Stored messages matching every filter given\n"
       "(MessageService.SearchMessages), ascending seq. Metadata only.\n"
       "--from/--to: received at or after / before (RFC 3339 or\n"
       "YYYY-MM-DD). STATE as in queue list, plus ERROR and REJECTED.\n",
       {{"control_id"},
        {"type"},
        {"sender"},
        {"facility"},
        {"from"},
        {"to"},
        {"state", F::kRepeated},
        {"limit"},
        {"page_token"}},
       0,
       0,
       MessagesSearch});
  c->push_back({"messages show",
                "SEQ",
                "A message's metadata, findings and pipeline state\n"
                "(MessageService.GetMessage; no PHI). Exit 3 when unknown.\n",
                {},
                1,
                1,
                MessagesShow});
  c->push_back(
      {"messages raw",
       "SEQ [--exact]",
       "The raw HL7 message (MessageService.GetRawMessage; PHI, needs\n"
       "phi.read and is audited). Segments end in newlines; --exact\n"
       "writes the bytes as received (CR separators).\n",
       {{"exact", F::kBool}},
       1,
       1,
       MessagesRaw});
  c->push_back(
      {"messages bundle",
       "SEQ",
       "The FHIR R4 transaction Bundle stored for the message\n"
       "(MessageService.GetBundle; PHI, needs phi.read and is audited).\n"
       "Exit 3 when unknown or not mapped.\n",
       {},
       1,
       1,
       MessagesBundle});
}

}  // namespace hl7ctl
