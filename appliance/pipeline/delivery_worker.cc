#include "appliance/pipeline/delivery_worker.h"

#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/base/thread_priority.h"
#include "appliance/pipeline/store_util.h"
#include "appliance/store/keys.h"

namespace appliance::pipeline {
namespace {

namespace pb = ::hl7appliance::store::v1;

constexpr char kActor[] = "delivery";
constexpr size_t kScanPage = 512;
constexpr char kPausedKey[] = "delivery_paused";
// Longest a sender sleeps before looking again (covers clock changes).
constexpr absl::Duration kMaxSleep = absl::Milliseconds(200);

std::string LaneOf(const pb::PipelineEntry& e) {
  // Entries without a patient (none today) are ordered only by themselves.
  return e.order_key().empty() ? absl::StrCat("#", e.seq()) : e.order_key();
}

std::string Seconds(int64_t us) {
  return absl::FormatDuration(
      absl::Trunc(absl::Microseconds(us), absl::Milliseconds(1)));
}

}  // namespace

DeliveryWorker::DeliveryWorker(intake::MessageStore* store, const Clock* clock,
                               Destination* destination,
                               DeliveryWorkerOptions options)
    : store_(store),
      clock_(clock),
      destination_(destination),
      options_(std::move(options)),
      policy_(options_.retry, options_.uniform),
      destination_name_(destination->name()),
      cooldown_(options_.breaker_cooldown) {}

DeliveryWorker::~DeliveryWorker() { Stop(); }

absl::Status DeliveryWorker::Start() {
  CHECK(!started_) << "DeliveryWorker started twice";
  {
    ASSIGN_OR_RETURN(store::ReadTxn txn, store_->env().BeginRead());
    ASSIGN_OR_RETURN(store::Dbi meta, store_->Db("meta"));
    ASSIGN_OR_RETURN(std::optional<std::string_view> p, txn.Find(meta, kPausedKey));
    paused_ = p.has_value() && *p == "1";
  }
  ASSIGN_OR_RETURN(uint64_t next, Scan(1, /*stop_at_pending=*/false));
  {
    std::lock_guard<std::mutex> lock(mu_);
    scan_from_ = next;
  }
  started_ = true;
  loader_ = std::thread([this] { LoaderLoop(); });
  for (size_t i = 0; i < std::max<size_t>(1, options_.concurrency); ++i) {
    senders_.emplace_back([this] { SenderLoop(); });
  }
  const DeliverySnapshot s = snapshot();
  LOG(INFO) << "delivery to " << destination_name_ << " started: " << s.queued
            << " queued (" << s.retrying << " retrying)"
            << (s.paused ? ", PAUSED by an operator" : "");
  return absl::OkStatus();
}

void DeliveryWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
    if (!started_) return;
  }
  if (loader_.joinable()) loader_.join();
  for (std::thread& t : senders_) {
    if (t.joinable()) t.join();
  }
  {
    // The results of the last attempts must reach the writer before the
    // store stops.
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return outstanding_jobs_ == 0; });
  }
  if (!senders_.empty()) {
    senders_.clear();
    LOG(INFO) << "delivery stopped: " << stats_.delivered.load()
              << " delivered, " << stats_.failed.load() << " failed attempts, "
              << stats_.dead_lettered.load() << " dead-lettered";
  }
}

void DeliveryWorker::Notify(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  rescan_from_ = std::min(rescan_from_, seq);
  wake_loader_ = true;
  cv_.notify_all();
}

DeliverySnapshot DeliveryWorker::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  DeliverySnapshot s;
  s.queued = items_.size();
  s.in_flight = in_flight_;
  for (const auto& [seq, item] : items_) {
    if (item.attempts > 0) ++s.retrying;
  }
  s.dead_letters = dead_letters_;
  s.paused = paused_;
  s.breaker_open = open_until_us_ != 0;
  s.next_due_us = ready_.empty() ? 0 : ready_.begin()->first;
  return s;
}

bool DeliveryWorker::WaitDrained(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
    return items_.empty() && in_flight_ == 0 && outstanding_jobs_ == 0 &&
           !wake_loader_ && !scanning_;
  });
}

// --- Loading ---------------------------------------------------------------

absl::StatusOr<uint64_t> DeliveryWorker::Scan(uint64_t from,
                                              bool stop_at_pending) {
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation = ++scan_generation_;
  }
  uint64_t next = from;
  uint64_t first_pending = 0;
  uint64_t first_unloaded = 0;  // Left out: max_loaded reached.
  bool more = true;
  while (more) {
    ASSIGN_OR_RETURN(std::vector<pb::PipelineEntry> page,
                     store_->ListPipeline(next - 1, kScanPage));
    more = page.size() == kScanPage;
    std::lock_guard<std::mutex> lock(mu_);
    for (const pb::PipelineEntry& e : page) {
      next = e.seq() + 1;
      if (e.state() == pb::MESSAGE_STATE_PENDING && first_pending == 0) {
        first_pending = e.seq();
        if (stop_at_pending) {
          more = false;
          break;
        }
      }
      if (!stop_at_pending && e.state() == pb::MESSAGE_STATE_DEAD_LETTER) {
        ++dead_letters_;  // The full scan at start counts them.
      }
      if (e.state() != pb::MESSAGE_STATE_MAPPED &&
          e.state() != pb::MESSAGE_STATE_RETRYING) {
        continue;
      }
      if (items_.count(e.seq()) != 0 || finishing_.count(e.seq()) != 0) continue;
      if (items_.size() >= options_.max_loaded) {
        // Memory stays bounded under any backlog: the rest waits in the
        // store, loaded (in sequence order) as deliveries finish.
        if (first_unloaded == 0) first_unloaded = e.seq();
        over_cap_ = true;
        if (stop_at_pending) {
          more = false;
          break;
        }
        continue;
      }
      AddLocked(e);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  // Results committed before this scan began were seen by it: forget them.
  for (auto it = finishing_.begin(); it != finishing_.end();) {
    it = it->second < generation ? finishing_.erase(it) : std::next(it);
  }
  cv_.notify_all();
  uint64_t resume = next;
  if (first_pending != 0) resume = std::min(resume, first_pending);
  if (first_unloaded != 0) resume = std::min(resume, first_unloaded);
  return resume;
}

void DeliveryWorker::AddLocked(const pb::PipelineEntry& e) {
  Item item;
  item.seq = e.seq();
  item.lane = LaneOf(e);
  // The mapping stage counts its own run as an attempt; delivery attempts
  // are those after the first one.
  item.attempts = e.first_attempt_at_us() == 0 ? 0 : e.attempts();
  item.failures = e.state() == pb::MESSAGE_STATE_RETRYING ? item.attempts : 0;
  item.first_attempt_us = e.first_attempt_at_us();
  item.due_us = e.state() == pb::MESSAGE_STATE_RETRYING ? e.next_attempt_at_us() : 0;
  const std::string lane = item.lane;
  const uint64_t seq = item.seq;
  items_.emplace(seq, std::move(item));
  std::deque<uint64_t>& q = lanes_[lane];
  // Keep the lane in sequence order, but never put anything before a head
  // that is being delivered.
  auto pos = std::upper_bound(q.begin(), q.end(), seq);
  if (pos == q.begin() && !q.empty() &&
      (items_.at(q.front()).in_flight || items_.at(q.front()).blocked)) {
    ++pos;
  }
  if (!q.empty() && pos == q.begin()) {
    // The old head is no longer the head.
    const Item& old = items_.at(q.front());
    ready_.erase({old.due_us, old.seq});
  }
  q.insert(pos, seq);
  ScheduleHeadLocked(lane);
}

void DeliveryWorker::ScheduleHeadLocked(const std::string& lane) {
  auto it = lanes_.find(lane);
  if (it == lanes_.end()) return;
  if (it->second.empty()) {
    lanes_.erase(it);
    return;
  }
  const Item& head = items_.at(it->second.front());
  if (!head.in_flight && !head.blocked) ready_.insert({head.due_us, head.seq});
}

void DeliveryWorker::RemoveLocked(uint64_t seq) {
  auto it = items_.find(seq);
  if (it == items_.end()) return;
  if (over_cap_ && items_.size() <= options_.max_loaded / 2) {
    over_cap_ = false;  // Room again: load what was left in the store.
    wake_loader_ = true;
  }
  const std::string lane = it->second.lane;
  ready_.erase({it->second.due_us, seq});
  items_.erase(it);
  auto l = lanes_.find(lane);
  if (l == lanes_.end()) return;
  auto& q = l->second;
  const bool was_head = !q.empty() && q.front() == seq;
  q.erase(std::remove(q.begin(), q.end(), seq), q.end());
  if (was_head || q.empty()) ScheduleHeadLocked(lane);
}

void DeliveryWorker::LoaderLoop() {
  LowerThisThreadPriority();  // ACKs first; this stage catches up.
  while (true) {
    uint64_t from;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.poll_interval),
                   [&] { return stopping_ || wake_loader_; });
      if (stopping_) return;
      wake_loader_ = false;
      scanning_ = true;
      from = std::min(scan_from_, rescan_from_);
      rescan_from_ = std::numeric_limits<uint64_t>::max();
    }
    absl::StatusOr<uint64_t> next = Scan(from, /*stop_at_pending=*/true);
    std::lock_guard<std::mutex> lock(mu_);
    scanning_ = false;
    cv_.notify_all();
    if (!next.ok()) {
      LOG(WARNING) << "delivery: cannot read the pipeline: " << next.status();
      rescan_from_ = std::min(rescan_from_, from);
      continue;
    }
    // `from` <= scan_from_, so the scan covered the cursor: it moves to the
    // first entry still waiting for the mapping stage (or the end).
    scan_from_ = *next;
  }
}

// --- Sending ---------------------------------------------------------------

bool DeliveryWorker::CanDispatchLocked(int64_t now_us) const {
  if (paused_ || stopping_ || ready_.empty()) return false;
  if (ready_.begin()->first > now_us) return false;
  if (open_until_us_ != 0) {
    // Breaker open: one probe at a time, after the cool-down.
    return !probe_in_flight_ && now_us >= open_until_us_;
  }
  return true;
}

void DeliveryWorker::SenderLoop() {
  LowerThisThreadPriority();
  while (true) {
    uint64_t seq;
    {
      std::unique_lock<std::mutex> lock(mu_);
      while (true) {
        if (stopping_) return;
        const int64_t now = clock_->NowMicros();
        if (CanDispatchLocked(now)) break;
        absl::Duration sleep = kMaxSleep;
        if (!paused_ && !ready_.empty()) {
          int64_t at = ready_.begin()->first;
          if (open_until_us_ != 0) at = std::max(at, open_until_us_);
          sleep = std::min(sleep, absl::Microseconds(std::max<int64_t>(at - now, 0)));
        }
        cv_.wait_for(lock, absl::ToChronoNanoseconds(
                               std::max(sleep, absl::Milliseconds(1))));
      }
      seq = ready_.begin()->second;
      ready_.erase(ready_.begin());
      items_.at(seq).in_flight = true;
      ++in_flight_;
      if (open_until_us_ != 0) probe_in_flight_ = true;
    }
    Attempt(seq);
  }
}

void DeliveryWorker::Attempt(uint64_t seq) {
  auto result = std::make_shared<Result>();
  result->seq = seq;
  absl::StatusOr<std::string> bundle = store_->ReadBundle(seq);
  if (!bundle.ok()) {
    if (absl::IsNotFound(bundle.status())) {
      // No Bundle any more (re-mapped and held meanwhile): not ours to send.
      std::lock_guard<std::mutex> lock(mu_);
      items_.at(seq).in_flight = false;
      --in_flight_;
      probe_in_flight_ = false;
      RemoveLocked(seq);
      cv_.notify_all();
      return;
    }
    result->attempt.disposition = Disposition::kPermanent;
    result->attempt.error = absl::StrCat(
        "stored Bundle cannot be read (",
        absl::StatusCodeToString(bundle.status().code()), ")");
  } else {
    stats_.attempts++;
    result->attempt = destination_->Deliver(seq, *bundle);
    stats_.latency_us_sum += static_cast<uint64_t>(
        std::max<int64_t>(0, absl::ToInt64Microseconds(result->attempt.latency)));
    if (options_.on_attempt) {
      options_.on_attempt(result->attempt.latency, result->attempt.disposition);
    }
  }
  result->now_us = clock_->NowMicros();
  Finish(result);
}

void DeliveryWorker::Finish(const std::shared_ptr<Result>& result) {
  const int64_t now = result->now_us;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Item& item = items_.at(result->seq);
    item.in_flight = false;
    --in_flight_;
    probe_in_flight_ = false;
    item.attempts++;
    if (item.first_attempt_us == 0) item.first_attempt_us = now;
    result->final = result->attempt.disposition;
    switch (result->attempt.disposition) {
      case Disposition::kDelivered:
      case Disposition::kPermanent:
        // The destination answered: it is up.
        consecutive_failures_ = 0;
        open_until_us_ = 0;
        cooldown_ = options_.breaker_cooldown;
        break;
      case Disposition::kRetry: {
        item.failures++;
        if (++consecutive_failures_ >= options_.breaker_failures) {
          if (open_until_us_ == 0) {
            stats_.breaker_trips++;
            LOG(WARNING) << "delivery: " << destination_name_ << " is failing ("
                         << result->attempt.error << "); pausing for "
                         << absl::FormatDuration(cooldown_);
          } else {
            cooldown_ = std::min(cooldown_ * 2,
                                 std::max(options_.breaker_cooldown,
                                          options_.retry.max_backoff));
          }
          open_until_us_ = now + absl::ToInt64Microseconds(cooldown_);
        }
        std::optional<std::string> give_up = policy_.GiveUp(
            item.attempts, absl::FromUnixMicros(item.first_attempt_us),
            absl::FromUnixMicros(now));
        if (give_up.has_value()) {
          result->final = Disposition::kPermanent;
          result->give_up_reason = *give_up;
        } else {
          result->next_due_us =
              now + absl::ToInt64Microseconds(
                        policy_.Backoff(item.failures, result->attempt.retry_after));
        }
        break;
      }
    }
    if (result->final == Disposition::kRetry) {
      item.due_us = result->next_due_us;
      ScheduleHeadLocked(item.lane);
    } else {
      RemoveLocked(result->seq);
      if (result->final == Disposition::kPermanent) ++dead_letters_;
    }
    finishing_[result->seq] = kCommitting;
    ++outstanding_jobs_;
    cv_.notify_all();
  }
  (result->attempt.disposition == Disposition::kRetry ? stats_.last_unreachable_us
                                                       : stats_.last_reached_us) = now;
  switch (result->final) {
    case Disposition::kDelivered:
      stats_.delivered++;
      stats_.last_success_us = now;
      break;
    case Disposition::kRetry:
      stats_.failed++;
      stats_.last_failure_us = now;
      break;
    case Disposition::kPermanent:
      // Each attempt counts once: failed (retryable, then gave up) or refused.
      (result->attempt.disposition == Disposition::kRetry ? stats_.failed
                                                          : stats_.refused)++;
      stats_.dead_lettered++;
      stats_.last_failure_us = now;
      LOG(WARNING) << "delivery: message " << result->seq
                   << " dead-lettered: " << result->attempt.error
                   << (result->give_up_reason.empty()
                           ? ""
                           : absl::StrCat(" (", result->give_up_reason, ")"));
      break;
  }
  const uint64_t seq = result->seq;
  store_->SubmitJob(MakeResultJob(result), [this, seq](absl::Status s) {
    if (!s.ok() && !absl::IsAborted(s)) {
      stats_.commit_failures++;
      LOG(ERROR) << "delivery: result of message " << seq
                 << " not stored: " << s;
    }
    std::lock_guard<std::mutex> lock(mu_);
    finishing_[seq] = scan_generation_;
    --outstanding_jobs_;
    cv_.notify_all();
  });
}

intake::WriteJob DeliveryWorker::MakeResultJob(std::shared_ptr<const Result> r) {
  return [this, r](store::WriteTxn& txn, intake::AuditAppender& audit) -> absl::Status {
    const uint64_t seq = r->seq;
    const std::string key = store::EncodeU64BE(seq);
    ASSIGN_OR_RETURN(store::Dbi pipeline, store_->Db("pipeline"));
    ASSIGN_OR_RETURN(store::Dbi messages, store_->Db("messages"));
    pb::PipelineEntry entry;
    RETURN_IF_ERROR(GetProto(txn, pipeline, seq, &entry));
    if (entry.state() != pb::MESSAGE_STATE_MAPPED &&
        entry.state() != pb::MESSAGE_STATE_RETRYING) {
      return absl::AbortedError(absl::StrCat(
          "message ", seq, " is ", intake::StateName(entry.state()), " now"));
    }
    pb::MessageMeta meta;
    RETURN_IF_ERROR(GetProto(txn, messages, seq, &meta));
    const AttemptResult& a = r->attempt;
    if (entry.first_attempt_at_us() == 0) {
      entry.set_first_attempt_at_us(r->now_us);
      entry.set_attempts(0);  // The mapping run is not a delivery attempt.
    }
    entry.set_attempts(entry.attempts() + 1);
    entry.set_last_http_status(a.http_status);
    entry.set_destination(destination_name_);
    entry.set_next_attempt_at_us(r->next_due_us);
    if (!a.outcome.empty()) {
      ASSIGN_OR_RETURN(std::string sealed,
                       store_->keys()->Seal(a.outcome, intake::OutcomeAad(seq)));
      entry.set_sealed_outcome(std::move(sealed));
    } else {
      entry.clear_sealed_outcome();
    }
    const std::string type =
        meta.message_type().empty() ? "unknown" : meta.message_type();
    const std::string ms = absl::StrCat(absl::ToInt64Milliseconds(a.latency), " ms");
    pb::AuditRecord rec;
    rec.set_time_us(r->now_us);
    rec.set_actor(kActor);
    rec.set_message_seq(seq);
    rec.set_control_id(meta.control_id());
    rec.set_message_sha256(meta.raw_sha256());
    pb::MessageState state;
    std::string counter;
    switch (r->final) {
      case Disposition::kDelivered:
        state = pb::MESSAGE_STATE_DELIVERED;
        entry.set_delivered_at_us(r->now_us);
        entry.clear_last_error();
        rec.set_type(pb::AUDIT_DELIVERY_SUCCEEDED);
        rec.set_outcome(pb::AUDIT_OUTCOME_SUCCESS);
        rec.set_detail(absl::StrCat(type, " to ", destination_name_,
                                    ": attempt ", entry.attempts(), ", HTTP ",
                                    a.http_status, ", ", ms));
        counter = "delivered";
        break;
      case Disposition::kRetry:
        state = pb::MESSAGE_STATE_RETRYING;
        entry.set_last_error(a.error);
        rec.set_type(pb::AUDIT_DELIVERY_FAILED);
        rec.set_outcome(pb::AUDIT_OUTCOME_MINOR_FAILURE);
        rec.set_detail(absl::StrCat(type, " attempt ", entry.attempts(), ": ",
                                    a.error, "; next in ",
                                    Seconds(r->next_due_us - r->now_us)));
        counter = "failed";
        break;
      case Disposition::kPermanent:
      default:
        state = pb::MESSAGE_STATE_DEAD_LETTER;
        entry.set_last_error(r->give_up_reason.empty()
                                 ? a.error
                                 : absl::StrCat(a.error, " (", r->give_up_reason, ")"));
        rec.set_type(pb::AUDIT_MESSAGE_DEAD_LETTERED);
        rec.set_outcome(pb::AUDIT_OUTCOME_SERIOUS_FAILURE);
        rec.set_detail(absl::StrCat(type, " attempt ", entry.attempts(), ": ",
                                    entry.last_error()));
        counter = "dead_letter";
        break;
    }
    rec.set_detail(TruncateDetail(rec.detail()));
    entry.set_state(state);
    meta.set_state(state);
    RETURN_IF_ERROR(txn.Put(pipeline, key, Serialize(entry)));
    RETURN_IF_ERROR(txn.Put(messages, key, Serialize(meta)));
    // Totals, and hourly buckets for the dashboard: a dead letter counts as
    // a failed message in the error rate.
    std::map<std::string, uint64_t> deltas = {
        {absl::StrCat("delivery/", counter), 1}};
    if (r->final == Disposition::kDelivered) {
      deltas[absl::StrCat("delivered/", type)] = 1;
      deltas[intake::HourlyKey(r->now_us, "delivered")] = 1;
    } else if (r->final == Disposition::kPermanent) {
      deltas[intake::HourlyKey(r->now_us, "failed")] = 1;
    }
    RETURN_IF_ERROR(store_->AddCounters(txn, deltas));
    return audit.Append(std::move(rec));
  };
}

// --- Operators -------------------------------------------------------------

absl::Status DeliveryWorker::HoldForOperator(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = items_.find(seq);
  if (it == items_.end()) return absl::OkStatus();  // Not loaded: nothing to hold.
  if (it->second.in_flight || it->second.blocked) {
    return absl::FailedPreconditionError(
        absl::StrCat("message ", seq, " is being delivered right now"));
  }
  ready_.erase({it->second.due_us, seq});
  it->second.blocked = true;
  return absl::OkStatus();
}

absl::Status DeliveryWorker::CommitOperatorChange(uint64_t seq,
                                                  const std::string& actor,
                                                  int64_t now,
                                                  const OperatorChange& change,
                                                  OperatorChangeResult* result) {
  return store_->RunJob([&](store::WriteTxn& txn,
                    intake::AuditAppender& audit) -> absl::Status {
    const std::string key = store::EncodeU64BE(seq);
    ASSIGN_OR_RETURN(store::Dbi pipeline, store_->Db("pipeline"));
    ASSIGN_OR_RETURN(store::Dbi messages, store_->Db("messages"));
    pb::PipelineEntry entry;
    absl::Status g = GetProto(txn, pipeline, seq, &entry);
    if (absl::IsNotFound(g)) {
      return absl::NotFoundError(absl::StrCat("no message ", seq, " in the pipeline"));
    }
    RETURN_IF_ERROR(g);
    pb::MessageMeta meta;
    RETURN_IF_ERROR(GetProto(txn, messages, seq, &meta));
    result->before = entry.state();
    pb::AuditRecord rec;
    ASSIGN_OR_RETURN(std::string detail, change(entry, &rec));
    meta.set_state(entry.state());
    RETURN_IF_ERROR(txn.Put(pipeline, key, Serialize(entry)));
    RETURN_IF_ERROR(txn.Put(messages, key, Serialize(meta)));
    result->after = entry;
    rec.set_time_us(now);
    rec.set_outcome(pb::AUDIT_OUTCOME_SUCCESS);
    rec.set_actor(actor);
    rec.set_message_seq(seq);
    rec.set_control_id(meta.control_id());
    rec.set_message_sha256(meta.raw_sha256());
    rec.set_detail(TruncateDetail(std::move(detail)));
    return audit.Append(std::move(rec));
  });
}

absl::Status DeliveryWorker::RetryNow(uint64_t seq, const std::string& actor) {
  RETURN_IF_ERROR(HoldForOperator(seq));
  const int64_t now = clock_->NowMicros();
  OperatorChangeResult changed;
  const absl::Status s = CommitOperatorChange(
      seq, actor, now,
      [&](pb::PipelineEntry& entry, pb::AuditRecord* rec) -> absl::StatusOr<std::string> {
        rec->set_type(pb::AUDIT_MESSAGE_RETRIED);
        switch (entry.state()) {
          case pb::MESSAGE_STATE_MAPPED:
          case pb::MESSAGE_STATE_RETRYING:
            entry.set_next_attempt_at_us(now);
            return std::string("retry now");
          case pb::MESSAGE_STATE_DEAD_LETTER:
          case pb::MESSAGE_STATE_DELIVERED: {
            std::string detail =
                absl::StrCat("replay of a ", intake::StateName(entry.state()),
                             " message after ", entry.attempts(), " attempts");
            entry.set_state(pb::MESSAGE_STATE_MAPPED);
            entry.set_attempts(0);
            entry.set_first_attempt_at_us(0);
            entry.set_next_attempt_at_us(now);
            entry.clear_delivered_at_us();
            return detail;
          }
          default:
            return absl::FailedPreconditionError(absl::StrCat(
                "message ", seq, " is ", intake::StateName(entry.state()),
                "; only MAPPED, RETRYING, DEAD_LETTER or DELIVERED messages can "
                "be retried (HELD ones are re-mapped)"));
        }
      },
      &changed);
  std::lock_guard<std::mutex> lock(mu_);
  if (s.ok() && changed.before == pb::MESSAGE_STATE_DEAD_LETTER && dead_letters_ > 0) {
    --dead_letters_;
  }
  auto it = items_.find(seq);
  if (it != items_.end()) {
    it->second.blocked = false;
    if (s.ok()) it->second.due_us = now;
    ScheduleHeadLocked(it->second.lane);  // Back into ready_ if the head.
  } else if (s.ok()) {
    // A dead letter or delivered message queued again (or one not loaded
    // yet): deliver it.
    finishing_.erase(seq);
    AddLocked(changed.after);
  }
  cv_.notify_all();
  return s;
}

absl::Status DeliveryWorker::Discard(uint64_t seq, const std::string& reason,
                                     const std::string& actor) {
  if (reason.empty()) {
    return absl::InvalidArgumentError("a reason is required to discard a message");
  }
  if (reason.size() > kMaxAuditDetail) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the reason is longer than ", kMaxAuditDetail, " characters"));
  }
  RETURN_IF_ERROR(HoldForOperator(seq));
  OperatorChangeResult changed;
  const absl::Status s = CommitOperatorChange(
      seq, actor, clock_->NowMicros(),
      [&](pb::PipelineEntry& entry, pb::AuditRecord* rec) -> absl::StatusOr<std::string> {
        switch (entry.state()) {
          case pb::MESSAGE_STATE_MAPPED:
          case pb::MESSAGE_STATE_RETRYING:
          case pb::MESSAGE_STATE_DEAD_LETTER:
          case pb::MESSAGE_STATE_HELD:
            break;
          default:
            return absl::FailedPreconditionError(absl::StrCat(
                "message ", seq, " is ", intake::StateName(entry.state()),
                "; only MAPPED, RETRYING, DEAD_LETTER or HELD messages can be "
                "discarded"));
        }
        const std::string from = intake::StateName(entry.state());
        entry.set_state(pb::MESSAGE_STATE_DISCARDED);
        rec->set_type(pb::AUDIT_MESSAGE_DISCARDED);
        return absl::StrCat("discarded (was ", from, "): ", reason);
      },
      &changed);
  std::lock_guard<std::mutex> lock(mu_);
  if (s.ok() && changed.before == pb::MESSAGE_STATE_DEAD_LETTER && dead_letters_ > 0) {
    --dead_letters_;
  }
  auto it = items_.find(seq);
  if (it != items_.end()) {
    it->second.blocked = false;
    if (s.ok()) {
      RemoveLocked(seq);
    } else {
      ScheduleHeadLocked(it->second.lane);
    }
  }
  cv_.notify_all();
  return s;
}

absl::Status DeliveryWorker::SetPaused(bool paused, const std::string& actor) {
  const int64_t now = clock_->NowMicros();
  absl::Status s = store_->RunJob([&](store::WriteTxn& txn,
                              intake::AuditAppender& audit) -> absl::Status {
    ASSIGN_OR_RETURN(store::Dbi meta, store_->Db("meta"));
    RETURN_IF_ERROR(txn.Put(meta, kPausedKey, paused ? "1" : "0"));
    pb::AuditRecord rec;
    rec.set_time_us(now);
    rec.set_type(paused ? pb::AUDIT_DELIVERY_PAUSED : pb::AUDIT_DELIVERY_RESUMED);
    rec.set_outcome(pb::AUDIT_OUTCOME_SUCCESS);
    rec.set_actor(actor);
    rec.set_detail(absl::StrCat("delivery to ", destination_name_,
                                paused ? " paused" : " resumed"));
    rec.set_detail(TruncateDetail(rec.detail()));
    return audit.Append(std::move(rec));
  });
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  paused_ = paused;
  cv_.notify_all();
  return absl::OkStatus();
}

}  // namespace appliance::pipeline
