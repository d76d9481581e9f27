#include "appliance/audit/retention.h"

#include <glog/logging.h>

#include <algorithm>
#include <future>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "appliance/audit/chain.h"
#include "appliance/base/status_macros.h"
#include "appliance/base/thread_priority.h"
#include "appliance/store/keys.h"

namespace appliance::audit {
namespace {

constexpr char kPayloadCursorKey[] = "retention_payload_cursor";

bool ProcessingOver(pb::MessageState s) {
  return s == pb::MESSAGE_STATE_DELIVERED || s == pb::MESSAGE_STATE_DISCARDED ||
         s == pb::MESSAGE_STATE_REJECTED || s == pb::MESSAGE_STATE_ERROR;
}

std::string Serialize(const google::protobuf::Message& m) {
  std::string out;
  m.SerializeToString(&out);
  return out;
}

std::string Utc(int64_t us) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMicros(us),
                          absl::UTCTimeZone());
}

// One step's counts (set by the job; it may run more than once, so it
// assigns rather than adds).
struct StepCounts {
  uint64_t payloads = 0;
  uint64_t audit = 0;
};

absl::Status PrunePayloads(intake::MessageStore* store, store::WriteTxn& txn,
                           int64_t cutoff_us, size_t limit, uint64_t* pruned) {
  ASSIGN_OR_RETURN(store::Dbi meta, store->Db("meta"));
  ASSIGN_OR_RETURN(store::Dbi messages, store->Db("messages"));
  ASSIGN_OR_RETURN(store::Dbi payloads, store->Db("payloads"));
  ASSIGN_OR_RETURN(store::Dbi bundles, store->Db("bundles"));
  // Every message before the cursor has been pruned; the cursor stops at the
  // first old message still in processing, which is looked at again later.
  uint64_t cursor = 1;
  ASSIGN_OR_RETURN(std::optional<std::string_view> c, txn.Find(meta, kPayloadCursorKey));
  if (c.has_value()) {
    ASSIGN_OR_RETURN(cursor, store::DecodeU64BE(*c));
  }
  // Collect first (no writes while a cursor walks the same database).
  std::vector<pb::MessageMeta> old;
  uint64_t new_cursor = 0;  // First seq that must be looked at again.
  uint64_t next = cursor;
  {
    ASSIGN_OR_RETURN(store::Cursor cur, txn.OpenCursor(messages));
    absl::StatusOr<store::KeyValue> kv = cur.Seek(store::EncodeU64BE(cursor));
    for (; kv.ok() && old.size() < limit; kv = cur.Next()) {
      pb::MessageMeta m;
      if (!m.ParseFromArray(kv->value.data(), static_cast<int>(kv->value.size()))) {
        return absl::DataLossError("message record does not parse");
      }
      if (m.received_at_us() >= cutoff_us) break;  // Newer from here on.
      next = m.seq() + 1;
      if (m.payload_pruned()) continue;
      if (!ProcessingOver(m.state())) {
        if (new_cursor == 0) new_cursor = m.seq();
        continue;
      }
      old.push_back(std::move(m));
    }
    if (!kv.ok() && !absl::IsNotFound(kv.status())) return kv.status();
  }
  for (pb::MessageMeta& m : old) {
    const std::string key = store::EncodeU64BE(m.seq());
    for (store::Dbi dbi : {payloads, bundles}) {
      ASSIGN_OR_RETURN(std::optional<std::string_view> v, txn.Find(dbi, key));
      if (v.has_value()) RETURN_IF_ERROR(txn.Delete(dbi, key));
    }
    m.set_payload_pruned(true);
    RETURN_IF_ERROR(txn.Put(messages, key, Serialize(m)));
  }
  *pruned = old.size();
  const uint64_t cursor_after = new_cursor != 0 ? new_cursor : next;
  if (cursor_after != cursor) {
    RETURN_IF_ERROR(txn.Put(meta, kPayloadCursorKey, store::EncodeU64BE(cursor_after)));
  }
  return absl::OkStatus();
}

absl::Status PruneAudit(intake::MessageStore* store, store::WriteTxn& txn,
                        int64_t cutoff_us, int64_t now_us, size_t limit,
                        uint64_t* pruned) {
  ASSIGN_OR_RETURN(Trail trail, OpenTrail(store->env()));
  // At least a message's two intake records, which go together.
  limit = std::max<size_t>(limit, 2);
  struct Doomed {
    uint64_t seq;
    uint64_t message_key;  // Non-zero: an intake record (see TrailEntry).
    bool answer;
    std::string hash;
  };
  std::vector<Doomed> doomed;
  uint64_t first_kept = 0;
  {
    ASSIGN_OR_RETURN(TrailReader reader, TrailReader::Open(txn, trail, 0));
    absl::StatusOr<TrailEntry> e = reader.Next();
    for (; e.ok(); e = reader.Next()) {
      if (!e->problem.empty()) {
        return absl::DataLossError(absl::StrCat(
            "audit record ", e->seq, ": ", e->problem, " (run verify)"));
      }
      if (e->record.time_us() >= cutoff_us || doomed.size() >= limit) {
        first_kept = e->seq;
        break;
      }
      doomed.push_back(
          Doomed{e->seq, e->message_key, e->answer, e->record.hash()});
    }
    if (!e.ok() && !absl::IsNotFound(e.status())) return e.status();
  }
  // The newest record is never removed: the chain head must stay.
  if (first_kept == 0) {
    if (doomed.empty()) return absl::OkStatus();
    first_kept = doomed.back().seq;
    doomed.pop_back();
  }
  // A message's two intake records share its MessageMeta: they go together,
  // so a received record whose answer stays stays too.
  if (!doomed.empty() && doomed.back().message_key != 0 &&
      !doomed.back().answer) {
    first_kept = doomed.back().seq;
    doomed.pop_back();
  }
  if (doomed.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<pb::AuditAnchor> old,
                   ReadAnchor(txn, trail.meta));
  const uint64_t removed_before = old.has_value() ? old->removed() : 0;
  for (const Doomed& d : doomed) {
    if (d.message_key == 0) {
      RETURN_IF_ERROR(txn.Delete(trail.audit, store::EncodeU64BE(d.seq)));
      continue;
    }
    if (!d.answer) continue;  // Removed with its answer.
    const std::string key = store::EncodeU64BE(d.message_key);
    ASSIGN_OR_RETURN(std::string_view v, txn.Get(trail.messages, key));
    pb::MessageMeta m;
    if (!m.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
      return absl::DataLossError(
          absl::StrCat("message record ", d.message_key, " does not parse"));
    }
    m.clear_intake_audit();
    RETURN_IF_ERROR(txn.Put(trail.messages, key, Serialize(m)));
  }
  const pb::AuditAnchor anchor = store->SignAuditAnchor(
      first_kept, doomed.back().hash, now_us, removed_before + doomed.size());
  RETURN_IF_ERROR(txn.Put(trail.meta, kAnchorKey, Serialize(anchor)));
  *pruned = doomed.size();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RetentionResult> Prune(intake::MessageStore* store,
                                      const Clock* clock,
                                      const RetentionOptions& options,
                                      const std::string& actor) {
  RetentionResult result;
  const int64_t now = clock->NowMicros();
  const bool payloads = options.payload_max_age > absl::ZeroDuration();
  const bool audit = options.audit_max_age > absl::ZeroDuration();
  if (!payloads && !audit) return result;
  const int64_t payload_cutoff =
      payloads ? now - absl::ToInt64Microseconds(options.payload_max_age) : 0;
  const int64_t audit_cutoff =
      audit ? now - absl::ToInt64Microseconds(options.audit_max_age) : 0;
  const size_t limit = std::max<size_t>(options.max_per_step, 1);
  while (true) {
    StepCounts counts;
    absl::Status s = store->RunJob([&](store::WriteTxn& txn,
                                       intake::AuditAppender& appender) -> absl::Status {
      counts = StepCounts();
      if (payloads) {
        RETURN_IF_ERROR(PrunePayloads(store, txn, payload_cutoff, limit, &counts.payloads));
      }
      if (audit) {
        RETURN_IF_ERROR(PruneAudit(store, txn, audit_cutoff, now, limit, &counts.audit));
      }
      if (counts.payloads == 0 && counts.audit == 0) return absl::OkStatus();
      pb::AuditRecord r;
      r.set_time_us(clock->NowMicros());
      r.set_type(pb::AUDIT_RETENTION_PRUNED);
      r.set_outcome(pb::AUDIT_OUTCOME_SUCCESS);
      r.set_actor(actor);
      r.set_detail(absl::StrCat(
          counts.payloads, " payloads of messages before ",
          payloads ? Utc(payload_cutoff) : std::string("-"), ", ", counts.audit,
          " audit records before ", audit ? Utc(audit_cutoff) : std::string("-"),
          " removed"));
      return appender.Append(std::move(r));
    });
    if (!s.ok()) return s;
    if (counts.payloads == 0 && counts.audit == 0) break;
    result.payloads_pruned += counts.payloads;
    result.audit_records_pruned += counts.audit;
    result.steps++;
  }
  return result;
}

RetentionWorker::RetentionWorker(intake::MessageStore* store, const Clock* clock,
                                 RetentionOptions options, absl::Duration interval)
    : store_(store), clock_(clock), options_(options), interval_(interval) {}

RetentionWorker::~RetentionWorker() { Stop(); }

void RetentionWorker::Start() {
  if (options_.payload_max_age <= absl::ZeroDuration() &&
      options_.audit_max_age <= absl::ZeroDuration()) {
    return;
  }
  LOG(INFO) << "retention: payloads "
            << (options_.payload_max_age > absl::ZeroDuration()
                    ? absl::FormatDuration(options_.payload_max_age)
                    : std::string("kept"))
            << ", audit records "
            << (options_.audit_max_age > absl::ZeroDuration()
                    ? absl::FormatDuration(options_.audit_max_age)
                    : std::string("kept"))
            << ", every " << absl::FormatDuration(interval_);
  thread_ = std::thread([this] { Loop(); });
}

void RetentionWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void RetentionWorker::Loop() {
  LowerThisThreadPriority();
  while (true) {
    absl::StatusOr<RetentionResult> r = Prune(store_, clock_, options_, "retention");
    if (!r.ok()) {
      LOG(WARNING) << "retention: " << r.status();
    } else if (r->steps > 0) {
      LOG(INFO) << "retention: removed " << r->payloads_pruned << " payloads and "
                << r->audit_records_pruned << " audit records";
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, absl::ToChronoNanoseconds(interval_),
                     [&] { return stopping_; })) {
      return;
    }
  }
}

}  // namespace appliance::audit
