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

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

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
// bytes to every record on the ACK path; `hash` still covers it, and readers
// put it back (PredecessorHash, or the previous record while iterating).
// Records written before schema version 4 carry it; Verify checks it then.
std::string StoredRecord(pb::AuditRecord record);

// The prev_hash of the record `seq`: the hash of the stored record seq - 1;
// else, when `seq` is where a retention anchor starts the trail, the anchor's
// prev_hash; else "" (record 1).
absl::StatusOr<std::string> PredecessorHash(store::ReadTxn& txn,
                                            store::Dbi audit, store::Dbi meta,
                                            uint64_t seq);

// Calls `fn` with each record from `from_seq` on, in order, prev_hash put
// back, until `fn` returns false. DATA_LOSS for a record that does not parse.
absl::Status ForEachRecord(store::ReadTxn& txn, store::Dbi audit,
                           store::Dbi meta, uint64_t from_seq,
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

// Walks the `audit` sub-database of `env` and checks sequence continuity,
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
