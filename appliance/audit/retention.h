// Retention: removes message payloads and audit records older than the
// configured ages, without breaking the audit trail's verifiability.
//
// - Payloads: the sealed raw message and FHIR Bundle of messages received
//   before the cut-off whose processing is over (DELIVERED, DISCARDED,
//   REJECTED, ERROR) are deleted; the metadata (no PHI) stays, marked
//   payload_pruned. Messages still waiting, retrying, held or dead-lettered
//   keep their payload until an operator resolves them.
// - Audit records older than the cut-off are deleted from the start of the
//   chain (never the newest record). An authenticated anchor (AuditAnchor in
//   meta, HMAC under the audit key) names the first kept record and the hash
//   it links to, so verification still proves that nothing else was removed,
//   altered or reordered (audit/chain.h Verify).
// - Each pruning step is one write transaction through the store's writer and
//   appends an AUDIT_RETENTION_PRUNED record, so pruning is itself audited.
#ifndef APPLIANCE_AUDIT_RETENTION_H_
#define APPLIANCE_AUDIT_RETENTION_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "appliance/base/clock.h"
#include "appliance/intake/message_store.h"

namespace appliance::audit {

struct RetentionOptions {
  // Zero: keep forever.
  absl::Duration payload_max_age = absl::ZeroDuration();
  absl::Duration audit_max_age = absl::ZeroDuration();
  // Deletions per write transaction (keeps each commit short, so the ACK
  // path never waits long behind a pruning step).
  size_t max_per_step = 2000;
};

struct RetentionResult {
  uint64_t payloads_pruned = 0;
  uint64_t audit_records_pruned = 0;
  uint64_t steps = 0;  // Transactions committed.
};

// Prunes until nothing older than the cut-offs (taken from `clock` once, at
// the start) is left. Blocks; call from a maintenance thread. `actor` goes
// into the audit records ("retention" for the scheduled run).
absl::StatusOr<RetentionResult> Prune(intake::MessageStore* store,
                                      const Clock* clock,
                                      const RetentionOptions& options,
                                      const std::string& actor);

// Runs Prune() on its own thread at start and then every `interval`.
class RetentionWorker {
 public:
  // `store` and `clock` must outlive the worker.
  RetentionWorker(intake::MessageStore* store, const Clock* clock,
                  RetentionOptions options, absl::Duration interval);
  RetentionWorker(const RetentionWorker&) = delete;
  RetentionWorker& operator=(const RetentionWorker&) = delete;
  ~RetentionWorker();  // Stop().

  // Does nothing when neither age is set.
  void Start();
  // Waits for a running Prune() step to finish. Call before stopping the
  // store. Idempotent.
  void Stop();

 private:
  void Loop();

  intake::MessageStore* const store_;
  const Clock* const clock_;
  const RetentionOptions options_;
  const absl::Duration interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // Guarded by mu_.
  std::thread thread_;
};

}  // namespace appliance::audit

#endif  // APPLIANCE_AUDIT_RETENTION_H_
