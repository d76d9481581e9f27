#include "appliance/audit/chain.h"

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/crypto/hash.h"
#include "appliance/store/keys.h"

namespace appliance::audit {
namespace {

std::string CheckpointMac(uint64_t seq, const std::string& hash,
                          int64_t time_us, std::string_view key) {
  std::string data = "hl7-appliance audit checkpoint v1";
  data += store::EncodeU64BE(seq);
  data += hash;
  data += store::EncodeU64BE(static_cast<uint64_t>(time_us));
  return std::string(crypto::AsBytes(crypto::HmacSha256(key, data)));
}

std::string AnchorMac(uint64_t first_seq, const std::string& prev_hash,
                      int64_t pruned_at_us, std::string_view key) {
  std::string data = "hl7-appliance audit anchor v1";
  data += store::EncodeU64BE(first_seq);
  data += prev_hash;
  data += store::EncodeU64BE(static_cast<uint64_t>(pruned_at_us));
  return std::string(crypto::AsBytes(crypto::HmacSha256(key, data)));
}

std::string Short(const std::string& hash) {
  return crypto::ToHex(hash).substr(0, 16);
}

}  // namespace

std::string RecordHash(const pb::AuditRecord& record) {
  std::string bytes;
  if (record.hash().empty()) {
    record.SerializeToString(&bytes);  // A new record: no copy needed.
  } else {
    pb::AuditRecord copy = record;
    copy.clear_hash();
    copy.SerializeToString(&bytes);
  }
  return std::string(crypto::AsBytes(crypto::Sha256(bytes)));
}

void Link(uint64_t prev_seq, const std::string& prev_hash,
          pb::AuditRecord* record) {
  record->set_seq(prev_seq + 1);
  record->set_prev_hash(prev_hash);
  record->set_hash(RecordHash(*record));
}

pb::AuditCheckpoint MakeCheckpoint(uint64_t seq, const std::string& hash,
                                   int64_t time_us, std::string_view hmac_key) {
  pb::AuditCheckpoint c;
  c.set_seq(seq);
  c.set_hash(hash);
  c.set_time_us(time_us);
  c.set_hmac(CheckpointMac(seq, hash, time_us, hmac_key));
  return c;
}

bool CheckpointAuthentic(const pb::AuditCheckpoint& c,
                         std::string_view hmac_key) {
  return crypto::ConstantTimeEquals(
      c.hmac(), CheckpointMac(c.seq(), c.hash(), c.time_us(), hmac_key));
}

pb::AuditAnchor MakeAnchor(uint64_t first_seq, const std::string& prev_hash,
                           int64_t pruned_at_us, uint64_t removed,
                           std::string_view hmac_key) {
  pb::AuditAnchor a;
  a.set_first_seq(first_seq);
  a.set_prev_hash(prev_hash);
  a.set_pruned_at_us(pruned_at_us);
  a.set_removed(removed);
  a.set_hmac(AnchorMac(first_seq, prev_hash, pruned_at_us, hmac_key));
  return a;
}

bool AnchorAuthentic(const pb::AuditAnchor& a, std::string_view hmac_key) {
  return crypto::ConstantTimeEquals(
      a.hmac(), AnchorMac(a.first_seq(), a.prev_hash(), a.pruned_at_us(), hmac_key));
}

std::string StoredRecord(pb::AuditRecord record) {
  record.clear_prev_hash();
  std::string out;
  record.SerializeToString(&out);
  return out;
}

absl::StatusOr<std::string> PredecessorHash(store::ReadTxn& txn,
                                            store::Dbi audit, store::Dbi meta,
                                            uint64_t seq) {
  if (seq > 1) {
    ASSIGN_OR_RETURN(std::optional<std::string_view> prev,
                     txn.Find(audit, store::EncodeU64BE(seq - 1)));
    if (prev.has_value()) {
      pb::AuditRecord r;
      if (!r.ParseFromArray(prev->data(), static_cast<int>(prev->size()))) {
        return absl::DataLossError(
            absl::StrCat("audit record ", seq - 1, " does not parse"));
      }
      return r.hash();
    }
  }
  ASSIGN_OR_RETURN(std::optional<std::string_view> anchor_bytes,
                   txn.Find(meta, kAnchorKey));
  pb::AuditAnchor anchor;
  if (anchor_bytes.has_value() &&
      anchor.ParseFromArray(anchor_bytes->data(),
                            static_cast<int>(anchor_bytes->size())) &&
      anchor.first_seq() == seq) {
    return anchor.prev_hash();
  }
  return std::string();
}

absl::Status ForEachRecord(store::ReadTxn& txn, store::Dbi audit,
                           store::Dbi meta, uint64_t from_seq,
                           const std::function<bool(pb::AuditRecord)>& fn) {
  ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(audit));
  std::string prev_hash;  // Of the record before the one read.
  bool first = true;
  absl::StatusOr<store::KeyValue> kv = c.Seek(store::EncodeU64BE(from_seq));
  for (; kv.ok(); kv = c.Next()) {
    pb::AuditRecord r;
    if (!r.ParseFromArray(kv->value.data(),
                          static_cast<int>(kv->value.size()))) {
      return absl::DataLossError("an audit record does not parse (run verify)");
    }
    // Stored without prev_hash (StoredRecord): put it back.
    if (r.prev_hash().empty()) {
      if (first) {
        ASSIGN_OR_RETURN(prev_hash, PredecessorHash(txn, audit, meta, r.seq()));
      }
      r.set_prev_hash(prev_hash);
    }
    first = false;
    prev_hash = r.hash();
    if (!fn(std::move(r))) return absl::OkStatus();
  }
  return absl::IsNotFound(kv.status()) ? absl::OkStatus() : kv.status();
}

absl::StatusOr<VerifyReport> Verify(store::Env& env,
                                    std::string_view hmac_key) {
  VerifyReport report;
  ASSIGN_OR_RETURN(store::Dbi audit, env.GetDbi("audit"));
  ASSIGN_OR_RETURN(store::Dbi meta, env.GetDbi("meta"));
  ASSIGN_OR_RETURN(store::ReadTxn txn, env.BeginRead());
  ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(audit));
  auto fail = [&](uint64_t seq, std::string why) {
    report.ok = false;
    report.bad_seq = seq;
    report.problem = std::move(why);
    return report;
  };

  // The start of the chain: record 1 (linked to nothing), or the first record
  // kept by retention, which the anchor must name and link.
  ASSIGN_OR_RETURN(std::optional<std::string_view> anchor_bytes,
                   txn.Find(meta, kAnchorKey));
  pb::AuditAnchor anchor;
  const bool has_anchor =
      anchor_bytes.has_value() &&
      anchor.ParseFromArray(anchor_bytes->data(),
                            static_cast<int>(anchor_bytes->size()));
  if (anchor_bytes.has_value() && !has_anchor) {
    return fail(1, "retention anchor does not parse (altered)");
  }

  std::string prev_hash;
  uint64_t expected = 0;
  absl::StatusOr<store::KeyValue> kv = c.First();
  for (; kv.ok(); kv = c.Next()) {
    absl::StatusOr<uint64_t> key = store::DecodeU64BE(kv->key);
    if (!key.ok()) return fail(expected + 1, "malformed audit key");
    pb::AuditRecord r;
    if (!r.ParseFromArray(kv->value.data(),
                          static_cast<int>(kv->value.size()))) {
      return fail(*key, "record does not parse (altered)");
    }
    // Stored without prev_hash (StoredRecord), except records written
    // before schema version 4: their stored link is checked below.
    const bool linked_by_hash = r.prev_hash().empty();
    const bool first = expected == 0;
    if (first) {
      // The start of the chain, checked before its records: record 1
      // (linked to nothing), or the first record kept by retention, which
      // the authenticated anchor must name and which links to the anchor's
      // prev_hash.
      expected = *key;
      report.first_seq = *key;
      if (!has_anchor) {
        if (*key != 1) {
          return fail(1, absl::StrCat("records 1..", *key - 1,
                                      " are missing (removed) and no "
                                      "retention anchor accounts for them"));
        }
        if (!linked_by_hash) {
          return fail(1, "record 1 links to a predecessor (altered)");
        }
      } else {
        report.anchored_from = anchor.first_seq();
        if (!hmac_key.empty() && !AnchorAuthentic(anchor, hmac_key)) {
          return fail(anchor.first_seq(),
                      "retention anchor is not authentic (forged, altered or "
                      "another key file)");
        }
        if (anchor.first_seq() != *key) {
          return fail(std::min<uint64_t>(anchor.first_seq(), *key),
                      absl::StrCat("retention anchor starts the trail at ",
                                   anchor.first_seq(),
                                   " but the first record is ", *key,
                                   " (records removed)"));
        }
        if (!linked_by_hash && r.prev_hash() != anchor.prev_hash()) {
          return fail(*key,
                      "first record does not link to the retention anchor "
                      "(altered or replaced)");
        }
        prev_hash = anchor.prev_hash();
      }
    }
    if (*key != expected) {
      return fail(expected,
                  absl::StrCat("record ", expected,
                               " is missing (removed); next is ", *key));
    }
    if (r.seq() != *key) {
      return fail(*key,
                  absl::StrCat("record stored under ", *key, " says it is ",
                               r.seq(), " (moved or reordered)"));
    }
    if (linked_by_hash) r.set_prev_hash(prev_hash);
    if (RecordHash(r) != r.hash()) {
      return fail(*key,
                  !linked_by_hash
                      ? "record content does not match its hash (altered)"
                  : first && has_anchor
                      ? "first record does not match its hash or does not "
                        "link to the retention anchor (altered or replaced)"
                      : "record does not match its hash (altered, or it does "
                        "not link to the previous one: that one altered and "
                        "rehashed, a record inserted or reordered)");
    }
    if (r.prev_hash() != prev_hash) {
      return fail(*key,
                  "record does not link to the previous one (inserted, "
                  "reordered or the previous one was altered)");
    }
    prev_hash = r.hash();
    report.records++;
    report.last_seq = *key;
    ++expected;
  }
  if (!absl::IsNotFound(kv.status())) return kv.status();
  report.head_hash = prev_hash;

  if (!hmac_key.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string_view> cp,
                     txn.Find(meta, kCheckpointKey));
    if (!cp.has_value()) {
      if (report.records > 0) {
        return fail(report.first_seq,
                    "no authenticated checkpoint although records exist");
      }
    } else {
      pb::AuditCheckpoint checkpoint;
      if (!checkpoint.ParseFromArray(cp->data(),
                                     static_cast<int>(cp->size())) ||
          !CheckpointAuthentic(checkpoint, hmac_key)) {
        return fail(checkpoint.seq(),
                    "checkpoint is not authentic (forged, altered or another "
                    "key file)");
      }
      report.checkpoint_checked = true;
      if (checkpoint.seq() > report.last_seq) {
        return fail(report.last_seq + 1,
                    absl::StrCat("trail truncated: checkpoint covers ",
                                 checkpoint.seq(), " but the last record is ",
                                 report.last_seq));
      }
      // The record the checkpoint names must still have the hash it had.
      ASSIGN_OR_RETURN(std::optional<std::string_view> at,
                       txn.Find(audit, store::EncodeU64BE(checkpoint.seq())));
      pb::AuditRecord r;
      if (!at.has_value() ||
          !r.ParseFromArray(at->data(), static_cast<int>(at->size())) ||
          r.hash() != checkpoint.hash()) {
        return fail(checkpoint.seq(),
                    "history rewritten: the checkpointed record's hash "
                    "differs from the authenticated one");
      }
    }
  }
  report.ok = true;
  return report;
}

std::string FormatReport(const VerifyReport& r) {
  if (r.ok) {
    return absl::StrCat("OK: ", r.records, " audit records (", r.first_seq,
                        "..", r.last_seq, "), head ", Short(r.head_hash),
                        r.anchored_from != 0
                            ? absl::StrCat(", records before ", r.anchored_from,
                                           " pruned (anchor)")
                            : "",
                        r.checkpoint_checked ? ", checkpoint authentic"
                                             : ", checkpoint not checked");
  }
  return absl::StrCat("TAMPERED at audit record ", r.bad_seq, ": ", r.problem);
}

}  // namespace appliance::audit
