// The audit trail's tamper evidence: record hashes, the hash chain and the
// HMAC-authenticated checkpoint of its head, and verification of all three.
//
// Each AuditRecord carries prev_hash (the previous record's hash) and hash
// (SHA-256 over its own encoding with `hash` cleared). The chain alone shows
// an altered, removed, inserted or reordered record to anyone who recomputes
// it; the checkpoint, authenticated with a key kept outside the data
// directory, also catches a rewritten-and-recomputed history and a truncated
// tail.
#ifndef APPLIANCE_AUDIT_CHAIN_H_
#define APPLIANCE_AUDIT_CHAIN_H_

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "api/store/v1/records.pb.h"
#include "appliance/store/lmdb_env.h"

namespace appliance::audit {

namespace pb = ::hl7appliance::store::v1;

// Meta keys of the checkpoint and of the retention anchor.
inline constexpr std::string_view kCheckpointKey = "audit_checkpoint";
inline constexpr std::string_view kAnchorKey = "audit_anchor";

// SHA-256 over the record's encoding with `hash` cleared (raw 32 bytes).
std::string RecordHash(const pb::AuditRecord& record);

// Sets seq, prev_hash and hash of `record` to extend a chain whose last
// record had `prev_seq` and `prev_hash` (0 and "" for an empty chain).
void Link(uint64_t prev_seq, const std::string& prev_hash,
          pb::AuditRecord* record);

// How a record is stored: without prev_hash. It is always the hash of the
// record before (which is stored), so writing it again would only add 34
// bytes to every record; `hash` still covers it, and readers put it back
// (PredecessorHash, or the previous record while iterating). Records written
// before schema version 4 carry it; Verify checks it then.
std::string StoredRecord(pb::AuditRecord record);

// "AA", "AE", "AR" ("??" otherwise), as records and counters spell it.
const char* AckText(pb::AckCode code);

// The intake's two records of a message — received, then acknowledged or
// rejected — built from its MessageMeta (and intake_audit.answered_at_us),
// which holds everything they say; see IntakeAudit in records.proto. When
// `meta` has intake_audit.seq, the records have seq and hash as stored
// (prev_hash empty: readers fill it in); otherwise the writer links them.
std::array<pb::AuditRecord, 2> IntakeRecords(const pb::MessageMeta& meta);
// The same into `out`, reusing its records' storage (the writer thread
// builds two for every message).
void IntakeRecords(const pb::MessageMeta& meta,
                   std::array<pb::AuditRecord, 2>* out);

// The newest store schema version whose trail this code reads (IntakeAudit
// came with 5). MessageStore's migrations end at it (checked when a store
// opens); Verify and Export refuse a newer store rather than misread it.
inline constexpr uint32_t kTrailSchemaVersion = 5;

// The sub-databases the trail is read from: `audit` (every record, except
// the intake's from schema version 5 on), `messages` (those, in
// MessageMeta.intake_audit) and `meta` (checkpoint, retention anchor).
struct Trail {
  store::Dbi audit;
  store::Dbi messages;
  store::Dbi meta;
};
absl::StatusOr<Trail> OpenTrail(const store::Env& env);
// FAILED_PRECONDITION when the store's schema is newer than
// kTrailSchemaVersion.
absl::Status CheckTrailReadable(const store::Txn& txn, const Trail& trail);

// One record of the trail as stored, in sequence order (TrailReader).
struct TrailEntry {
  // Its place in the trail: the `audit` key, or the seq its message's
  // intake_audit gives it. 0 when unknown (a record that does not parse).
  uint64_t seq = 0;
  pb::AuditRecord record;  // prev_hash as stored (normally empty).
  // Not empty: the stored record cannot be read (it does not parse, its key
  // is malformed); `record` is then empty.
  std::string problem;
  // Non-zero: rebuilt from the message record under this `messages` key;
  // `answer` tells the second of its two records.
  uint64_t message_key = 0;
  bool answer = false;
};

// Reads the trail in sequence order, merging the `audit` sub-database with
// the intake records in `messages`. Valid while its transaction is. Finds
// where to start in `messages` by binary search, relying on the messages
// without intake records (older than schema version 5, or pruned) coming
// before all that have them.
class TrailReader {
 public:
  // Positioned at the first record with seq >= from_seq.
  static absl::StatusOr<TrailReader> Open(const store::Txn& txn,
                                          const Trail& trail,
                                          uint64_t from_seq);
  // The next entry; NOT_FOUND after the last.
  absl::StatusOr<TrailEntry> Next();

 private:
  TrailReader(store::Cursor audit, store::Cursor messages, uint64_t from_seq)
      : audit_(std::move(audit)),
        messages_(std::move(messages)),
        from_seq_(from_seq) {}
  absl::Status FillAudit();
  absl::Status FillMessages();

  store::Cursor audit_;
  store::Cursor messages_;
  uint64_t from_seq_;
  bool audit_started_ = false;
  bool messages_started_ = false;
  uint64_t messages_from_key_ = 0;  // Where the messages cursor starts.
  std::optional<TrailEntry> audit_next_;
  // A message's records, in order, each with its place in the merge (its
  // seq, or right after the last intake record for one that cannot be read).
  std::deque<std::pair<uint64_t, TrailEntry>> messages_next_;
  bool audit_done_ = false;
  bool messages_done_ = false;
  uint64_t last_message_seq_ = 0;  // Of the last intake record read.
};

// The stored record `seq` (prev_hash as stored), or nullopt.
absl::StatusOr<std::optional<pb::AuditRecord>> FindRecord(
    const store::Txn& txn, const Trail& trail, uint64_t seq);

// First and last seq of the trail and the last record's hash; nullopt when
// it is empty.
struct TrailBounds {
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  std::string last_hash;
  uint64_t count() const { return last_seq - first_seq + 1; }
};
absl::StatusOr<std::optional<TrailBounds>> Bounds(const store::Txn& txn,
                                                  const Trail& trail);

// The prev_hash of the record `seq`: the hash of the stored record seq - 1;
// else, when `seq` is where a retention anchor starts the trail, the anchor's
// prev_hash; else "" (record 1).
absl::StatusOr<std::string> PredecessorHash(const store::Txn& txn,
                                            const Trail& trail, uint64_t seq);

// Calls `fn` with each record from `from_seq` on, in order, prev_hash put
// back, until `fn` returns false. DATA_LOSS for a record that does not parse.
absl::Status ForEachRecord(const store::Txn& txn, const Trail& trail,
                           uint64_t from_seq,
                           const std::function<bool(pb::AuditRecord)>& fn);

// A checkpoint for the head (seq, hash) authenticated with `hmac_key`.
pb::AuditCheckpoint MakeCheckpoint(uint64_t seq, const std::string& hash,
                                   int64_t time_us, std::string_view hmac_key);
bool CheckpointAuthentic(const pb::AuditCheckpoint& checkpoint,
                         std::string_view hmac_key);

// The anchor retention writes when it removes records before `first_seq`
// (see AuditAnchor in records.proto), authenticated with `hmac_key`.
pb::AuditAnchor MakeAnchor(uint64_t first_seq, const std::string& prev_hash,
                           int64_t pruned_at_us, uint64_t removed,
                           std::string_view hmac_key);
bool AnchorAuthentic(const pb::AuditAnchor& anchor, std::string_view hmac_key);
// The stored anchor (meta "audit_anchor"), nullopt when nothing was pruned;
// DATA_LOSS when it does not parse.
absl::StatusOr<std::optional<pb::AuditAnchor>> ReadAnchor(const store::Txn& txn,
                                                          store::Dbi meta);

struct VerifyReport {
  bool ok = false;
  uint64_t records = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  std::string head_hash;  // Raw 32 bytes.
  // When !ok: the first sequence number where the trail breaks, and why.
  uint64_t bad_seq = 0;
  std::string problem;
  bool checkpoint_checked = false;
  // Retention removed the records before this one (0: none removed).
  uint64_t anchored_from = 0;
};

// Walks the trail of `env` (its `audit`, `messages` and `meta`
// sub-databases) and checks sequence continuity,
// every hash, every link, the start of the chain (record 1, or the first
// record after a pruned prefix as the retention anchor in `meta` names it)
// and the checkpoint in `meta` (authenticity of anchor and checkpoint when
// `hmac_key` is not empty). Returns a report (ok or the first break); an error only when
// the store cannot be read.
absl::StatusOr<VerifyReport> Verify(store::Env& env, std::string_view hmac_key);

// Prints a report as `hl7ctl audit verify` does.
std::string FormatReport(const VerifyReport& report);

}  // namespace appliance::audit

#endif  // APPLIANCE_AUDIT_CHAIN_H_
