// The delivery stage: sends the mapped Bundles to the destination (the EHR
// over FHIR REST, or the file sink) and keeps every message in exactly one
// visible state: MAPPED (queued), RETRYING (with the next due time and the
// last error), DELIVERED, DEAD_LETTER or DISCARDED.
//
// - Per patient first-in-first-out: messages with the same order key
//   (PipelineEntry.order_key, a pseudonym of the Patient id) form a lane; only
//   the oldest of a lane is attempted, so a later result for a patient waits
//   behind an earlier one that is retrying, while other lanes keep flowing.
// - `concurrency` sender threads deliver the heads of different lanes at
//   once, earliest due first.
// - Each attempt's result is persisted through the store's writer (a write
//   job: pipeline entry, message state, audit record, counters in one
//   transaction). The next message of a lane may be sent before the previous
//   one's result committed: jobs commit in submission order, so after a crash
//   the store never shows a later message delivered and an earlier one not;
//   anything not yet marked DELIVERED is simply sent again, which the
//   deterministic PUTs make harmless.
// - Retries: RetryPolicy (exponential back-off, full jitter, Retry-After);
//   permanent refusals (4xx) and messages past max attempts / max age go to
//   DEAD_LETTER at once, with the destination's OperationOutcome sealed in the
//   entry.
// - Circuit breaker: after `breaker_failures` retryable failures in a row the
//   destination counts as down; no message is attempted (nor charged an
//   attempt) until the cool-down passed, then one probe at a time goes out
//   until one succeeds. The cool-down doubles while probes fail (up to the
//   maximum back-off).
// - Restart resumes everything: MAPPED and RETRYING entries are loaded at
//   Start() (an attempt in flight at a crash was never recorded, so it is
//   made again).
// - Operators (control plane): retry now, replay a dead letter or a
//   delivered message, discard with a reason, pause and resume (persisted) —
//   each audited with the operator's identity.
#ifndef APPLIANCE_PIPELINE_DELIVERY_WORKER_H_
#define APPLIANCE_PIPELINE_DELIVERY_WORKER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "appliance/base/clock.h"
#include "appliance/intake/message_store.h"
#include "appliance/pipeline/destination.h"
#include "appliance/pipeline/retry_policy.h"

namespace appliance::pipeline {

struct DeliveryWorkerOptions {
  RetryPolicyOptions retry;
  size_t concurrency = 4;
  uint32_t breaker_failures = 5;
  absl::Duration breaker_cooldown = absl::Seconds(5);
  // How often the store is scanned for new MAPPED entries without a
  // Notify().
  absl::Duration poll_interval = absl::Milliseconds(500);
  // Most messages held in memory (queued or retrying); the rest of a backlog
  // waits in the store and is loaded in sequence order as room frees up.
  size_t max_loaded = 20000;
  // For tests: the jitter source of the retry policy (see RetryPolicy).
  std::function<double()> uniform;
  // Called after each attempt that reached the destination code (sender
  // thread; must be cheap), with its round-trip time and disposition, e.g.
  // to feed a latency histogram.
  std::function<void(absl::Duration latency, Disposition disposition)> on_attempt;
};

struct DeliveryStats {
  std::atomic<uint64_t> attempts{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> failed{0};   // Attempts that failed retryably.
  std::atomic<uint64_t> refused{0};  // Attempts refused permanently (4xx).
  std::atomic<uint64_t> dead_lettered{0};
  std::atomic<uint64_t> commit_failures{0};
  std::atomic<uint64_t> breaker_trips{0};
  // Sum and count of attempt latencies (destination round trips).
  std::atomic<uint64_t> latency_us_sum{0};
  std::atomic<int64_t> last_success_us{0};  // Wall time of the last delivery.
  std::atomic<int64_t> last_failure_us{0};
  // Last time the destination answered for itself (delivered, or refused a
  // Bundle: it is up), and last time it failed so that a retry is needed
  // (no connection, timeout, 5xx...). Reachable = the former is newer.
  std::atomic<int64_t> last_reached_us{0};
  std::atomic<int64_t> last_unreachable_us{0};
};

// What the worker holds in memory right now (for metrics and the dashboard).
struct DeliverySnapshot {
  size_t queued = 0;    // Loaded, not finished (incl. in flight).
  size_t in_flight = 0;
  size_t retrying = 0;  // Queued with at least one failed attempt.
  uint64_t dead_letters = 0;  // Messages in DEAD_LETTER now.
  bool paused = false;
  bool breaker_open = false;
  int64_t next_due_us = 0;  // Earliest due time of a waiting head (0: none).
};

class DeliveryWorker {
 public:
  // `store`, `clock` and `destination` must outlive the worker.
  DeliveryWorker(intake::MessageStore* store, const Clock* clock,
                 Destination* destination, DeliveryWorkerOptions options);
  DeliveryWorker(const DeliveryWorker&) = delete;
  DeliveryWorker& operator=(const DeliveryWorker&) = delete;
  ~DeliveryWorker();  // Stop().

  // Loads the persisted pause flag and every MAPPED and RETRYING entry, then
  // starts the threads. Errors when the store cannot be read.
  absl::Status Start();
  // Lets the attempts in flight finish, waits for their results to commit
  // and joins the threads. Call before stopping the store. Idempotent.
  void Stop();

  // New MAPPED entries may exist from `seq` on (the mapping stage calls
  // this); wakes the loader.
  void Notify(uint64_t seq);

  // Operator actions; each blocks until its change committed and is audited
  // with `actor`.
  //  - RetryNow: a RETRYING message is attempted at once; a DEAD_LETTER or
  //    DELIVERED one is queued again (MAPPED, attempts reset) — a replay.
  //  - Discard: MAPPED, RETRYING, DEAD_LETTER or HELD -> DISCARDED; `reason`
  //    (required, no PHI, at most 200 characters) goes into the audit record.
  // NOT_FOUND for an unknown seq, FAILED_PRECONDITION for a message in another
  // state or being delivered at this moment, INVALID_ARGUMENT for a bad
  // reason.
  absl::Status RetryNow(uint64_t seq, const std::string& actor);
  absl::Status Discard(uint64_t seq, const std::string& reason,
                       const std::string& actor);
  // Pauses / resumes all deliveries (persisted across restarts). Attempts in
  // flight finish.
  absl::Status SetPaused(bool paused, const std::string& actor);

  DeliverySnapshot snapshot() const;
  const DeliveryStats& stats() const { return stats_; }
  const std::string& destination_name() const { return destination_name_; }

  // Waits until nothing is queued, in flight or committing and no Notify()
  // is waiting to be scanned, or `timeout`; returns whether that happened
  // (tests, benchmarks).
  bool WaitDrained(absl::Duration timeout);

 private:
  struct Item {
    uint64_t seq = 0;
    std::string lane;
    int64_t due_us = 0;
    uint32_t attempts = 0;        // Persisted attempts so far.
    uint32_t failures = 0;        // Failed attempts in a row.
    int64_t first_attempt_us = 0;
    bool in_flight = false;
    bool blocked = false;         // An operator change is committing.
  };
  // The result of one attempt, handed to its write job.
  struct Result {
    uint64_t seq = 0;
    AttemptResult attempt;
    Disposition final = Disposition::kRetry;  // After the retry policy.
    std::string give_up_reason;               // When dead-lettered.
    int64_t now_us = 0;
    int64_t next_due_us = 0;  // When retrying.
  };

  void LoaderLoop();
  void SenderLoop();
  // Scans the pipeline from `from` for MAPPED / RETRYING entries not yet
  // loaded. Returns the first seq still PENDING (the next scan's start) or
  // the end. The mapping stage maps in sequence order, so nothing after the
  // first PENDING entry is mapped yet unless it was re-mapped (and then
  // Notify() names it): `stop_at_pending` stops there.
  absl::StatusOr<uint64_t> Scan(uint64_t from, bool stop_at_pending);
  void AddLocked(const intake::pb::PipelineEntry& entry);
  // Puts the head of `lane` (if any, and not in flight or blocked) into
  // ready_. Requires mu_.
  void ScheduleHeadLocked(const std::string& lane);
  void RemoveLocked(uint64_t seq);
  bool CanDispatchLocked(int64_t now_us) const;
  void Attempt(uint64_t seq);
  void Finish(const std::shared_ptr<Result>& result);
  intake::WriteJob MakeResultJob(std::shared_ptr<const Result> result);
  // Keeps a loaded message away from the senders while an operator's change
  // commits. FAILED_PRECONDITION when it is being delivered right now.
  absl::Status HoldForOperator(uint64_t seq);
  // An operator's change: modifies the pipeline entry (the message's state
  // follows it), sets the audit record's type and returns its detail, or an
  // error that aborts the change.
  using OperatorChange = std::function<absl::StatusOr<std::string>(
      intake::pb::PipelineEntry& entry, intake::pb::AuditRecord* record)>;
  struct OperatorChangeResult {
    intake::pb::MessageState before = intake::pb::MESSAGE_STATE_UNSPECIFIED;
    intake::pb::PipelineEntry after;
  };
  // Reads entry and metadata of `seq` in one write job (NOT_FOUND without a
  // pipeline entry), applies `change`, writes both and the audit record.
  absl::Status CommitOperatorChange(uint64_t seq, const std::string& actor,
                                    int64_t now, const OperatorChange& change,
                                    OperatorChangeResult* result);

  intake::MessageStore* const store_;  // Not owned.
  const Clock* const clock_;           // Not owned.
  Destination* const destination_;     // Not owned.
  const DeliveryWorkerOptions options_;
  const RetryPolicy policy_;
  const std::string destination_name_;
  DeliveryStats stats_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Everything below is guarded by mu_.
  std::map<uint64_t, Item> items_;
  std::unordered_map<std::string, std::deque<uint64_t>> lanes_;
  std::set<std::pair<int64_t, uint64_t>> ready_;  // (due, seq) of lane heads.
  // Results handed to the writer and not yet committed (seq -> the scan
  // generation current at commit, or kCommitting); a scan that started
  // before the commit may still see the old state and must not reload them.
  static constexpr uint64_t kCommitting = std::numeric_limits<uint64_t>::max();
  std::map<uint64_t, uint64_t> finishing_;
  uint64_t scan_generation_ = 0;
  size_t outstanding_jobs_ = 0;
  size_t in_flight_ = 0;
  uint64_t scan_from_ = 1;
  uint64_t rescan_from_ = std::numeric_limits<uint64_t>::max();
  uint64_t dead_letters_ = 0;
  bool over_cap_ = false;  // A scan left entries out (max_loaded).
  bool wake_loader_ = true;
  bool scanning_ = false;
  bool paused_ = false;
  bool stopping_ = false;
  // Breaker.
  uint32_t consecutive_failures_ = 0;
  int64_t open_until_us_ = 0;  // 0: closed.
  absl::Duration cooldown_;
  bool probe_in_flight_ = false;

  std::thread loader_;
  std::vector<std::thread> senders_;
  bool started_ = false;
};

}  // namespace appliance::pipeline

#endif  // APPLIANCE_PIPELINE_DELIVERY_WORKER_H_
