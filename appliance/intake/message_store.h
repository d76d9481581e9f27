// The appliance's durable message store: one LMDB environment with a single
// writer thread that commits intake requests in groups.
//
// Every Submit()ted request is written, in one transaction together with the
// others of its group: the message metadata (ids, type, codes, findings,
// dedupe key; no PHI), the raw bytes sealed with AES-256-GCM under the current
// data key, a pipeline entry for accepted messages, its two chained audit
// records (received, answered; kept in the metadata, see IntakeAudit in
// records.proto) and per-type counters. The callback runs only after that
// transaction committed (fsync), so an ACK sent from it is never ahead of the
// disk; if the commit fails, every request of the group gets the error.
//
// A repeated message (same MSH-3, MSH-4, MSH-10) is not stored again: it is
// counted on the first one's record, audited as a duplicate, creates no second
// pipeline entry, and its callback reports the first one's ACK code.
//
// The duplicate index is written behind the ACK path. Its keys are hashes, so
// every insert lands on a random B-tree leaf: written in the intake's
// commits, they were most of the pages an intake commit wrote (64 senders:
// ~8 500 messages/s with them, ~14 000/s without). The intake commit instead
// stores the key in the message's metadata (appended, like the rest) and the
// writer keeps it in memory (`unindexed_dedupe_`) until a write job — queued
// after the commit, run like the other jobs once the intake pauses or
// kJobMaxDelay passed — puts the keys into `dedupe` together with the meta
// key "dedupe_indexed_seq" (every message up to that seq is in `dedupe`).
// Duplicates are looked up in memory first, then in `dedupe`; on open the
// store reloads the keys of the messages after "dedupe_indexed_seq", so a
// crash between the two commits loses no duplicate detection.
//
// Sub-databases (keys big-endian sequence numbers unless noted):
//   meta      schema version and counters of sequences
//   keys      data key id -> data key wrapped by the key-encryption key
//   messages  seq -> MessageMeta (with the intake's audit records of the
//             message from schema version 5 on: audit/chain.h TrailReader)
//   payloads  seq -> DataKeyRing::Seal(raw, "payload/<seq>")
//   dedupe    SHA-256(MSH-3 | MSH-4 | MSH-10) -> seq, written behind the
//             intake (see above; meta key "dedupe_indexed_seq"; schema
//             version 4)
//   pipeline  seq -> PipelineEntry
//   audit     audit seq -> AuditRecord (hash-chained; meta holds the
//             HMAC-authenticated checkpoint of the head, see audit/chain.h);
//             every record but the intake's since schema version 5
//   counters  text key ("received/ORU^R01", "ack/AA", ...) -> u64; also the
//             persistent statistics of the ops dashboard (see "Statistics
//             keys" below)
//   bundles   seq -> DataKeyRing::Seal(Bundle JSON, "bundle/<seq>"), written
//             by the mapping stage (see pipeline/mapping_worker.h)
//   terminology  version -> TerminologyVersion (terminology/store.h; meta key
//             "terminology_current"); added by schema version 2
//   patients  Pseudonym(Patient id) -> DataKeyRing::Seal(last Patient JSON
//             sent by PUT, "patient/<hex key>"): the base an ADT update is
//             merged onto (pipeline/patient_merge.h); schema version 3
//
// Besides intake requests, the writer thread runs generic write jobs
// (SubmitJob): later pipeline stages change records through them, so the
// store keeps exactly one LMDB writer.
//
// Statistics keys (in `counters`, u64 big-endian values; UTC hours
// "YYYYMMDDHH"), written in the same transactions as the messages so a
// restart keeps them:
//   h/<hour>/received/<type>     new messages received (duplicates excluded)
//   h/<hour>/outcome/<AA|AE|AR>  the ACK code of those new messages
//   h/<hour>/ack/<AA|AE|AR>      ACKs sent, duplicates included
//   h/<hour>/duplicates          repeats answered
//   h/<hour>/latency/count, h/<hour>/latency/sum_us and
//   h/<hour>/latency/le/<bound_us|inf>  receive-to-commit latency of each
//                                message (non-cumulative histogram buckets,
//                                kLatencyBoundsUs); a commit's latencies are
//                                written by the next transaction (any kind)
//   h/<hour>/<other>             added by later stages via AddCounters()
//                                (e.g. "h/<hour>/failed" by delivery)
//   last/<type>                  time (us) the last message of a type arrived
//   up/<start_us>/beat           session started at start_us (20 digits): the
//                                last heartbeat (every heartbeat_interval)
//   up/<start_us>/stop           the session's clean stop time; absent after
//                                a crash (down from the last heartbeat)
// Summarize() leaves these out of StoreSummary::counters.
#ifndef APPLIANCE_INTAKE_MESSAGE_STORE_H_
#define APPLIANCE_INTAKE_MESSAGE_STORE_H_

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "api/store/v1/records.pb.h"
#include "appliance/base/clock.h"
#include "appliance/base/hour_bucket.h"
#include "appliance/crypto/keys.h"
#include "appliance/store/lmdb_env.h"

namespace appliance::intake {

namespace pb = ::hl7appliance::store::v1;

struct MessageStoreOptions {
  std::string data_dir;
  // Key file with the key-encryption key; created (0600) when absent and
  // `create_key_file` is set.
  std::string key_file;
  bool create_key_file = true;
  uint64_t initial_map_bytes = 64ull << 20;
  uint64_t max_map_bytes = 16ull << 30;
  size_t max_batch = 512;
  bool read_only = false;  // For inspection: no writer thread, no key needed.
  // The writer thread records an uptime heartbeat this often (one small
  // write job). Zero disables the periodic heartbeat (tests call
  // Heartbeat()).
  std::chrono::milliseconds heartbeat_interval{60000};
  // Benchmarks only (tools/bench/store_bench.cc measures what the audit trail
  // costs the ACK path): false leaves out the intake's received/answered
  // audit records and the checkpoint. hl7d never sets it.
  bool audit_intake = true;
};

// Upper bounds (microseconds) of the latency histogram buckets kept in the
// statistics keys; a last bucket "inf" takes the rest.
inline constexpr int64_t kLatencyBoundsUs[] = {
    500,    1000,   2000,    5000,    10000,   20000,  50000,
    100000, 200000, 500000, 1000000, 2000000, 5000000};

// "2026010112" for a time in the 12:00 UTC hour of 2026-01-01
// (appliance/base/hour_bucket.h; the ops statistics read the keys back).
using ::appliance::HourBucket;
// "h/<HourBucket(micros)>/<name>".
std::string HourlyKey(int64_t micros, std::string_view name);
// Key of the bucket of kLatencyBoundsUs that `latency_us` falls in, without
// the "h/<hour>/" prefix: "latency/le/500" ... "latency/le/inf".
std::string LatencyBucketName(int64_t latency_us);

// One received message, as the intake hands it to the store.
struct IntakeRequest {
  std::string raw;  // The frame's payload, owned.
  std::string peer;
  std::string tls_subject;
  // SHA-256(MSH-3 | MSH-4 | MSH-10); empty when the message could not be
  // parsed (such messages are never treated as duplicates).
  std::string dedupe_key;
  // Filled from the engine's outcome; no PHI.
  pb::MessageMeta meta;
};

struct IntakeResult {
  uint64_t seq = 0;  // The stored message (the first one for duplicates).
  bool duplicate = false;
  pb::AckCode ack_code = pb::ACK_CODE_UNSPECIFIED;  // Code to answer with.
};

using IntakeCallback = std::function<void(absl::StatusOr<IntakeResult>)>;

// Appends records to the audit chain inside a write job's transaction. The
// store sets seq, prev_hash and hash, and rewrites the checkpoint at the end
// of a transaction that appended. Valid only during the job call.
class AuditAppender {
 public:
  virtual ~AuditAppender() = default;
  virtual absl::Status Append(pb::AuditRecord record) = 0;
};

// A write job: changes made through `txn` and `audit` commit together. It may
// run more than once (a transaction retried after the map grew, or a group
// re-run one job at a time after one failed), so it must have no effects
// outside `txn` and `audit`. An error aborts only this job's changes.
using WriteJob = std::function<absl::Status(store::WriteTxn&, AuditAppender&)>;
// Runs on the writer thread after the job's commit (OK) or with its error.
using WriteJobCallback = std::function<void(absl::Status)>;

// Associated data of a sealed payload / Bundle of message `seq`.
std::string PayloadAad(uint64_t seq);
std::string BundleAad(uint64_t seq);
// ... and of the EHR's OperationOutcome kept with a dead letter
// (PipelineEntry.sealed_outcome).
std::string OutcomeAad(uint64_t seq);

// What MessageStore::RotateDataKey did.
struct DataKeyRotation {
  uint32_t key_id = 0;
  uint32_t previous_key_id = 0;
  uint32_t keys = 0;  // Data keys in the ring afterwards.
};

// Counts for `hl7d inspect` and the dashboard.
struct StoreSummary {
  uint64_t messages = 0;
  std::map<std::string, uint64_t> by_state;  // "PENDING" -> n
  std::map<std::string, uint64_t> by_type;   // "ORU^R01" -> n
  std::map<std::string, uint64_t> counters;  // The counters sub-database.
  uint64_t audit_records = 0;
  uint64_t pipeline_entries = 0;
};

class MessageStore {
 public:
  // Opens (creating if needed) the store and, unless read-only, loads the key
  // file and data keys and starts the writer thread. `clock` must outlive the
  // store.
  static absl::StatusOr<std::unique_ptr<MessageStore>> Open(
      const MessageStoreOptions& options, const Clock* clock);

  MessageStore(const MessageStore&) = delete;
  MessageStore& operator=(const MessageStore&) = delete;
  ~MessageStore();  // Stop().

  // Queues `request`; `done` runs on the writer thread after the commit that
  // holds it (or with the error that kept it from being stored). After Stop(),
  // `done` runs at once with UNAVAILABLE.
  void Submit(IntakeRequest request, IntakeCallback done);

  // Queues a write job for the writer thread. Jobs queued together commit in
  // one transaction (group commit) unless one fails; then each runs again in
  // its own transaction, so a failing job does not fail the others. Intake
  // requests and jobs never share a transaction. After Stop(), `done` runs at
  // once with UNAVAILABLE.
  void SubmitJob(WriteJob job, WriteJobCallback done);

  // SubmitJob() and wait for the commit (or the job's error). Must not be
  // called on the writer thread (from a job or a callback): it would wait
  // for itself.
  absl::Status RunJob(WriteJob job);

  // Commits everything queued, writes an "appliance stopped" audit record and
  // joins the writer. Idempotent.
  void Stop();

  // Adds `deltas` to the named counters inside a write job's transaction
  // (e.g. {HourlyKey(now, "failed"), 1} from the delivery stage).
  absl::Status AddCounters(store::WriteTxn& txn,
                           const std::map<std::string, uint64_t>& deltas) const;

  // Creates a new data key and, in one write job, persists it wrapped in the
  // `keys` sub-database (never overwriting an id) with an AUDIT_KEY_ROTATED
  // record by `actor`; only after that commit, on the writer thread, is it
  // added to the key ring, which makes it current: everything sealed
  // afterwards uses it, older keys stay for reading (and a restart loads them
  // all, the highest id current). Rotations are serialised. `reason` must
  // hold no PHI. Must not be called on the writer thread.
  absl::StatusOr<DataKeyRotation> RotateDataKey(const std::string& actor,
                                                const std::string& reason);

  // Records an uptime heartbeat now (a write job); `done` as for SubmitJob.
  void Heartbeat(WriteJobCallback done);

  // The counters whose key starts with `prefix` and is >= `from` (one read
  // transaction).
  absl::StatusOr<std::map<std::string, uint64_t>> ReadCounters(
      std::string_view prefix, std::string_view from = {}) const;

  // False after a failed commit until a later one succeeds.
  bool healthy() const { return healthy_.load(); }
  // True while the writer thread runs and has not been stuck: it woke up (to
  // commit or for its heartbeat) within `max_quiet` of real time.
  bool WriterAlive(std::chrono::milliseconds max_quiet) const;
  // Start of this session (the key of its "up/<start_us>/..." records).
  int64_t session_start_us() const { return session_start_us_; }
  uint64_t commits() const { return commits_.load(); }
  uint64_t commit_failures() const { return commit_failures_.load(); }

  // Reads (any thread; short read transactions).
  absl::StatusOr<StoreSummary> Summarize() const;
  absl::StatusOr<std::vector<pb::MessageMeta>> ListMessages(uint64_t after_seq,
                                                            size_t limit) const;
  absl::StatusOr<pb::MessageMeta> GetMessage(uint64_t seq) const;
  // Decrypted raw bytes: PHI. Callers audit the read where an operator asks.
  absl::StatusOr<std::string> ReadPayload(uint64_t seq) const;
  absl::StatusOr<std::vector<pb::AuditRecord>> ReadAudit(uint64_t after_seq,
                                                         size_t limit) const;
  // Pipeline entries with seq > `after_seq`, in order, at most `limit`.
  absl::StatusOr<std::vector<pb::PipelineEntry>> ListPipeline(
      uint64_t after_seq, size_t limit) const;
  absl::StatusOr<pb::PipelineEntry> GetPipelineEntry(uint64_t seq) const;
  // Decrypted Bundle JSON of a mapped message: PHI. NOT_FOUND when none.
  absl::StatusOr<std::string> ReadBundle(uint64_t seq) const;

  // A keyed one-way pseudonym of `id` (16 bytes): HMAC-SHA256 under a key
  // derived from the key file's audit key. For index values (e.g. the
  // per-patient delivery order) that must not reveal whom they are about.
  // Empty when read-only (no key file loaded).
  std::string Pseudonym(std::string_view id) const;

  // The retention anchor for a pruned audit prefix, authenticated with the
  // audit key (audit/chain.h MakeAnchor). For the retention job.
  pb::AuditAnchor SignAuditAnchor(uint64_t first_seq,
                                  const std::string& prev_hash,
                                  int64_t pruned_at_us, uint64_t removed) const;

  // The data keys, for jobs that seal records; null when read-only.
  const crypto::DataKeyRing* keys() const { return keys_.get(); }
  // A sub-database by name (one of the list above).
  absl::StatusOr<store::Dbi> Db(const char* name) const;

  store::Env& env() { return *env_; }

 private:
  struct Pending {
    IntakeRequest request;
    IntakeCallback done;
  };
  struct PendingJob {
    WriteJob job;
    WriteJobCallback done;
    std::chrono::steady_clock::time_point queued;
  };
  // The ACK path comes first: while intake requests keep arriving, write jobs
  // (mapping results) wait up to this long and then commit as one group, so
  // they cost one fsync per interval instead of one per writer round.
  static constexpr std::chrono::milliseconds kJobMaxDelay{100};
  // ... and while the intake committed within this long (a sequential
  // sender's next message is likely on its way).
  static constexpr std::chrono::milliseconds kJobIdleGap{5};
  class TxnAuditAppender;
  // Sequence counters and the audit chain head, as of the last commit.
  struct Heads {
    uint64_t next_message_seq = 1;
    uint64_t next_audit_seq = 1;
    std::string audit_head;  // Hash of the last audit record.
    // The audit record the stored checkpoint covers, and when it was written.
    uint64_t checkpointed_seq = 0;
    int64_t checkpoint_us = 0;
  };
  // The authenticated checkpoint of the audit head is rewritten at most this
  // often by the ACK path (it costs a page write per commit otherwise); an
  // idle writer brings it up to date after the same interval, and start and
  // stop always write it. Verification thus detects a truncated tail up to
  // the last second before it.
  static constexpr std::chrono::milliseconds kCheckpointInterval{1000};

  MessageStore(MessageStoreOptions options, const Clock* clock);
  absl::Status Init();
  absl::Status LoadHeads();
  // Reads "dedupe_indexed_seq" and the dedupe keys of the messages after it
  // into unindexed_dedupe_.
  absl::Status LoadUnindexedDedupe();
  // Writer thread, mu_ held: queues the write job that moves
  // unindexed_dedupe_ into `dedupe`, unless it is empty or already queued.
  void QueueDedupeIndexJobLocked();
  // Puts unindexed_dedupe_ into `dedupe` and sets "dedupe_indexed_seq" to
  // the last message seq, which it returns in `upto`.
  absl::Status WriteDedupeIndex(store::WriteTxn& txn, uint64_t* upto);
  // After a commit of WriteDedupeIndex(): forgets the keys it wrote.
  void DedupeIndexed(uint64_t upto);
  absl::Status LoadOrCreateDataKey();
  void WriterLoop();
  absl::Status ApplyBatch(store::WriteTxn& txn, std::vector<Pending>& batch,
                          Heads& heads, std::vector<IntakeResult>& results);
  absl::Status AppendAudit(store::WriteTxn& txn, Heads& heads,
                           pb::AuditRecord record);
  // Rewrites the authenticated checkpoint of the audit head in `heads`.
  absl::Status WriteCheckpoint(store::WriteTxn& txn, Heads& heads);
  // WriteCheckpoint() when the head moved and either `force` or the last
  // checkpoint is kCheckpointInterval old.
  absl::Status MaybeCheckpoint(store::WriteTxn& txn, Heads& heads, bool force);
  // Writer thread, idle: a transaction that only brings the checkpoint up to
  // date (when the head moved since it was written).
  void CheckpointIfBehind();
  // With `session_record` ("beat" at start, "stop" at stop), the uptime
  // record of this session (and pending latency statistics) go in the same
  // transaction.
  absl::Status WriteStandaloneAudit(pb::AuditEventType type,
                                    const std::string& detail,
                                    const char* session_record = nullptr);
  void CommitIntakeBatch(std::vector<Pending>& batch,
                         std::vector<IntakeResult>& results);
  // Runs `jobs` in one transaction; on failure, each in its own.
  void CommitJobs(std::vector<PendingJob>& jobs);
  absl::Status RunJobs(std::vector<PendingJob>& jobs, size_t begin, size_t end,
                       std::vector<absl::Status>& statuses);
  WriteJob HeartbeatJob();
  // Adds the latencies of a committed batch to latency_carry_.
  void CarryLatencies(const std::vector<Pending>& batch, int64_t committed_us);
  absl::Status WriteSessionRecord(store::WriteTxn& txn, const char* what);

  const MessageStoreOptions options_;
  const Clock* const clock_;  // Not owned.
  std::unique_ptr<store::Env> env_;
  std::unique_ptr<crypto::DataKeyRing> keys_;
  std::string audit_key_;  // HMAC key for audit checkpoints (from key file).
  // The writer thread's scratch for a message's two intake audit records.
  std::array<pb::AuditRecord, 2> intake_records_;
  Heads heads_;            // Writer thread only (and Init/Stop).

  std::mutex rotation_mu_;  // Serialises RotateDataKey().
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;    // Guarded by mu_.
  std::deque<PendingJob> jobs_;  // Guarded by mu_.
  // End of the last intake commit. Guarded by mu_.
  std::chrono::steady_clock::time_point last_intake_;
  bool stopping_ = false;        // Guarded by mu_.
  std::thread writer_;
  std::atomic<bool> healthy_{true};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> commit_failures_{0};
  bool stopped_ = false;
  int64_t session_start_us_ = 0;
  // Latency statistics of committed messages not yet written: the next
  // transaction of the writer adds them (writer thread only).
  std::map<std::string, uint64_t> latency_carry_;
  // Dedupe key -> seq of the messages committed after meta
  // "dedupe_indexed_seq",
  // not yet in the `dedupe` sub-database (writer thread only; see the top of
  // this file). batch_dedupe_: those of the intake batch being written,
  // merged in after its commit.
  std::unordered_map<std::string, uint64_t> unindexed_dedupe_;
  std::unordered_map<std::string, uint64_t> batch_dedupe_;
  bool dedupe_job_queued_ = false;  // Guarded by mu_.
  std::atomic<bool> writer_running_{false};
  // steady_clock nanoseconds of the writer's last wake-up.
  std::atomic<int64_t> writer_last_wake_ns_{0};
};

// The dedupe key of a message: SHA-256 of MSH-3, MSH-4 and MSH-10 (raw),
// separated by NUL bytes.
std::string DedupeKey(std::string_view msh3, std::string_view msh4,
                      std::string_view msh10);

// "PENDING" for MESSAGE_STATE_PENDING, etc.
std::string StateName(pb::MessageState state);

}  // namespace appliance::intake

#endif  // APPLIANCE_INTAKE_MESSAGE_STORE_H_
