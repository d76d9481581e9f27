#include "appliance/audit/chain.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/crypto/hash.h"
#include "appliance/store/keys.h"
#include "appliance/store/schema.h"

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

// SHA-256 of the record's encoding with `hash` cleared.
crypto::Sha256Digest HashOf(const pb::AuditRecord& record) {
  thread_local std::string bytes;  // Its storage is reused.
  if (record.hash().empty()) {
    record.SerializeToString(&bytes);  // A new record: no copy needed.
  } else {
    pb::AuditRecord copy = record;
    copy.clear_hash();
    copy.SerializeToString(&bytes);
  }
  return crypto::Sha256(bytes);
}

}  // namespace

std::string RecordHash(const pb::AuditRecord& record) {
  return std::string(crypto::AsBytes(HashOf(record)));
}

void Link(uint64_t prev_seq, const std::string& prev_hash,
          pb::AuditRecord* record) {
  record->set_seq(prev_seq + 1);
  record->set_prev_hash(prev_hash);
  record->clear_hash();
  const crypto::Sha256Digest digest = HashOf(*record);
  record->mutable_hash()->assign(crypto::AsBytes(digest));
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

absl::StatusOr<std::optional<pb::AuditAnchor>> ReadAnchor(const store::Txn& txn,
                                                          store::Dbi meta) {
  ASSIGN_OR_RETURN(std::optional<std::string_view> bytes,
                   txn.Find(meta, kAnchorKey));
  if (!bytes.has_value()) return std::nullopt;
  pb::AuditAnchor anchor;
  if (!anchor.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
    return absl::DataLossError("the audit retention anchor does not parse");
  }
  return anchor;
}

std::string StoredRecord(pb::AuditRecord record) {
  record.clear_prev_hash();
  std::string out;
  record.SerializeToString(&out);
  return out;
}

const char* AckText(pb::AckCode code) {
  switch (code) {
    case pb::ACK_CODE_ACCEPT:
      return "AA";
    case pb::ACK_CODE_ERROR:
      return "AE";
    case pb::ACK_CODE_REJECT:
      return "AR";
    default:
      return "??";
  }
}

void IntakeRecords(const pb::MessageMeta& meta,
                   std::array<pb::AuditRecord, 2>* out) {
  // Clear() keeps the strings' storage: setting them again allocates
  // nothing once the records have been used.
  pb::AuditRecord& received = (*out)[0];
  received.Clear();
  received.set_time_us(meta.received_at_us());
  received.set_type(pb::AUDIT_MESSAGE_RECEIVED);
  received.set_outcome(pb::AUDIT_OUTCOME_SUCCESS);
  std::string* actor = received.mutable_actor();
  actor->assign(meta.peer());
  if (!meta.tls_subject().empty()) absl::StrAppend(actor, " ", meta.tls_subject());
  received.set_message_seq(meta.seq());
  received.set_control_id(meta.control_id());
  received.set_message_sha256(meta.raw_sha256());
  absl::StrAppend(received.mutable_detail(),
                  meta.message_type().empty() ? "unknown" : meta.message_type(),
                  ", ", meta.raw_size(), " bytes");

  pb::AuditRecord& answered = (*out)[1];
  answered.Clear();
  const bool accepted = meta.ack_code() == pb::ACK_CODE_ACCEPT;
  answered.set_time_us(meta.intake_audit().answered_at_us());
  answered.set_type(accepted ? pb::AUDIT_MESSAGE_ACKNOWLEDGED
                             : pb::AUDIT_MESSAGE_REJECTED);
  answered.set_outcome(accepted ? pb::AUDIT_OUTCOME_SUCCESS
                       : meta.ack_code() == pb::ACK_CODE_ERROR
                           ? pb::AUDIT_OUTCOME_MINOR_FAILURE
                           : pb::AUDIT_OUTCOME_SERIOUS_FAILURE);
  answered.set_actor(received.actor());
  answered.set_message_seq(meta.seq());
  answered.set_control_id(meta.control_id());
  answered.set_message_sha256(meta.raw_sha256());
  std::string* detail = answered.mutable_detail();
  absl::StrAppend(detail, "answered ", AckText(meta.ack_code()));
  if (meta.findings_size() > 0) {
    absl::StrAppend(detail, ", first finding ", meta.findings(0).code(),
                    " at ", meta.findings(0).location());
  }

  const pb::IntakeAudit& ia = meta.intake_audit();
  if (ia.seq() != 0) {
    received.set_seq(ia.seq());
    received.set_hash(ia.received_hash());
    answered.set_seq(ia.seq() + 1);
    answered.set_hash(ia.answered_hash());
  }
}

std::array<pb::AuditRecord, 2> IntakeRecords(const pb::MessageMeta& meta) {
  std::array<pb::AuditRecord, 2> out;
  IntakeRecords(meta, &out);
  return out;
}

absl::StatusOr<Trail> OpenTrail(const store::Env& env) {
  Trail t;
  ASSIGN_OR_RETURN(t.audit, env.GetDbi("audit"));
  ASSIGN_OR_RETURN(t.messages, env.GetDbi("messages"));
  ASSIGN_OR_RETURN(t.meta, env.GetDbi("meta"));
  return t;
}

absl::Status CheckTrailReadable(const store::Txn& txn, const Trail& trail) {
  absl::StatusOr<uint32_t> version = store::ReadSchemaVersion(txn, trail.meta);
  if (absl::IsNotFound(version.status())) return absl::OkStatus();
  if (!version.ok()) return version.status();
  if (*version > kTrailSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the store has schema version ", *version, ", newer than this build "
        "reads (", kTrailSchemaVersion, "): use the tools of the hl7d that "
        "wrote it"));
  }
  return absl::OkStatus();
}

namespace {

// The meta under the cursor's entry, or why not.
bool ParseMeta(const store::KeyValue& kv, pb::MessageMeta* meta) {
  return meta->ParseFromArray(kv.value.data(),
                              static_cast<int>(kv.value.size()));
}

// Whether the intake records of the message reach `from_seq` (its answer
// is at or after it). Messages without them (written before schema version
// 5, or whose records retention removed) come before all that have them.
bool Reaches(const pb::MessageMeta& meta, uint64_t from_seq) {
  const uint64_t seq = meta.intake_audit().seq();
  return seq != 0 && seq + 1 >= from_seq;
}

// The smallest `messages` key from which a scan finds every message whose
// intake records reach `from_seq`: a binary search over the key range, as
// those messages are a suffix of the sub-database (intake records are
// numbered in message order).
absl::StatusOr<uint64_t> FirstMessageKeyFrom(store::Cursor& c,
                                             uint64_t from_seq) {
  absl::StatusOr<store::KeyValue> first = c.First();
  if (absl::IsNotFound(first.status())) return 0;
  if (!first.ok()) return first.status();
  ASSIGN_OR_RETURN(uint64_t lo, store::DecodeU64BE(first->key));
  ASSIGN_OR_RETURN(store::KeyValue last, c.Last());
  ASSIGN_OR_RETURN(uint64_t last_key, store::DecodeU64BE(last.key));
  uint64_t hi = last_key + 1;  // Smallest key known to reach, or past all.
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    ASSIGN_OR_RETURN(store::KeyValue kv, c.Seek(store::EncodeU64BE(mid)));
    pb::MessageMeta meta;
    // A record that does not parse is read (and reported) by the scan.
    if (!ParseMeta(kv, &meta) || Reaches(meta, from_seq)) {
      hi = mid;
    } else {
      ASSIGN_OR_RETURN(uint64_t key, store::DecodeU64BE(kv.key));
      lo = key + 1;
    }
  }
  return lo;
}

}  // namespace

absl::StatusOr<TrailReader> TrailReader::Open(const store::Txn& txn,
                                              const Trail& trail,
                                              uint64_t from_seq) {
  ASSIGN_OR_RETURN(store::Cursor audit, txn.OpenCursor(trail.audit));
  ASSIGN_OR_RETURN(store::Cursor messages, txn.OpenCursor(trail.messages));
  TrailReader reader(std::move(audit), std::move(messages), from_seq);
  // Even from the start: the messages whose records retention removed, and
  // those of a store older than schema version 5, are skipped unread (they
  // are millions in an old store, and retention reads from the start).
  ASSIGN_OR_RETURN(
      reader.messages_from_key_,
      FirstMessageKeyFrom(reader.messages_, std::max<uint64_t>(from_seq, 1)));
  return reader;
}

namespace {

// The cursor's next entry, its first at or after `from_key` on the first
// call; nullopt after the last.
absl::StatusOr<std::optional<store::KeyValue>> Advance(store::Cursor& c,
                                                       bool* started,
                                                       uint64_t from_key) {
  absl::StatusOr<store::KeyValue> kv =
      *started ? c.Next() : c.Seek(store::EncodeU64BE(from_key));
  *started = true;
  if (absl::IsNotFound(kv.status())) return std::nullopt;
  if (!kv.ok()) return kv.status();
  return *std::move(kv);
}

}  // namespace

absl::Status TrailReader::FillAudit() {
  if (audit_next_.has_value() || audit_done_) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<store::KeyValue> kv,
                   Advance(audit_, &audit_started_, from_seq_));
  if (!kv.has_value()) {
    audit_done_ = true;
    return absl::OkStatus();
  }
  TrailEntry e;
  absl::StatusOr<uint64_t> key = store::DecodeU64BE(kv->key);
  if (!key.ok()) {
    e.problem = "malformed audit key";
  } else {
    e.seq = *key;
    if (!e.record.ParseFromArray(kv->value.data(),
                                 static_cast<int>(kv->value.size()))) {
      e.problem = "record does not parse (altered)";
    }
  }
  audit_next_ = std::move(e);
  return absl::OkStatus();
}

absl::Status TrailReader::FillMessages() {
  while (messages_next_.empty() && !messages_done_) {
    ASSIGN_OR_RETURN(
        std::optional<store::KeyValue> kv,
        Advance(messages_, &messages_started_, messages_from_key_));
    if (!kv.has_value()) {
      messages_done_ = true;
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(uint64_t key, store::DecodeU64BE(kv->key));
    pb::MessageMeta meta;
    if (!ParseMeta(*kv, &meta)) {
      // Its place in the trail is unknown: right after the last intake
      // record read.
      TrailEntry e;
      e.message_key = key;
      e.problem = absl::StrCat("message record ", key,
                               " does not parse (altered)");
      messages_next_.emplace_back(last_message_seq_ + 1, std::move(e));
      return absl::OkStatus();
    }
    if (meta.intake_audit().seq() == 0) continue;
    std::array<pb::AuditRecord, 2> records = IntakeRecords(meta);
    for (size_t i = 0; i < records.size(); ++i) {
      if (records[i].seq() < from_seq_) continue;
      TrailEntry e;
      e.seq = records[i].seq();
      e.message_key = key;
      e.answer = i == 1;
      if (key != meta.seq()) {
        e.problem = absl::StrCat("message record stored under ", key,
                                 " says it is ", meta.seq(),
                                 " (moved or reordered)");
      }
      e.record = std::move(records[i]);
      messages_next_.emplace_back(e.seq, std::move(e));
    }
    last_message_seq_ = meta.intake_audit().seq() + 1;
  }
  return absl::OkStatus();
}

absl::StatusOr<TrailEntry> TrailReader::Next() {
  RETURN_IF_ERROR(FillAudit());
  RETURN_IF_ERROR(FillMessages());
  const bool have_audit = audit_next_.has_value();
  const bool have_message = !messages_next_.empty();
  if (!have_audit && !have_message) {
    return absl::NotFoundError("end of the audit trail");
  }
  if (have_audit &&
      (!have_message || audit_next_->seq <= messages_next_.front().first)) {
    TrailEntry e = std::move(*audit_next_);
    audit_next_.reset();
    return e;
  }
  TrailEntry e = std::move(messages_next_.front().second);
  messages_next_.pop_front();
  return e;
}

absl::StatusOr<std::optional<pb::AuditRecord>> FindRecord(
    const store::Txn& txn, const Trail& trail, uint64_t seq) {
  ASSIGN_OR_RETURN(std::optional<std::string_view> stored,
                   txn.Find(trail.audit, store::EncodeU64BE(seq)));
  if (stored.has_value()) {
    pb::AuditRecord r;
    if (!r.ParseFromArray(stored->data(), static_cast<int>(stored->size()))) {
      return absl::DataLossError(
          absl::StrCat("audit record ", seq, " does not parse"));
    }
    return r;
  }
  ASSIGN_OR_RETURN(TrailReader reader, TrailReader::Open(txn, trail, seq));
  // Only intake records can be left at `seq`; the reader finds one there
  // first if it exists.
  absl::StatusOr<TrailEntry> e = reader.Next();
  if (absl::IsNotFound(e.status())) return std::nullopt;
  if (!e.ok()) return e.status();
  if (e->seq != seq) return std::nullopt;
  if (!e->problem.empty()) {
    return absl::DataLossError(
        absl::StrCat("audit record ", seq, ": ", e->problem));
  }
  return std::move(e->record);
}

absl::StatusOr<std::optional<TrailBounds>> Bounds(const store::Txn& txn,
                                                  const Trail& trail) {
  std::optional<TrailBounds> b;
  auto add = [&b](uint64_t seq, const std::string& hash) {
    if (!b.has_value()) {
      b = TrailBounds{seq, seq, hash};
      return;
    }
    b->first_seq = std::min(b->first_seq, seq);
    if (seq > b->last_seq) {
      b->last_seq = seq;
      b->last_hash = hash;
    }
  };
  ASSIGN_OR_RETURN(store::Cursor ac, txn.OpenCursor(trail.audit));
  absl::StatusOr<store::KeyValue> kv = ac.First();
  if (kv.ok()) {
    ASSIGN_OR_RETURN(uint64_t first, store::DecodeU64BE(kv->key));
    ASSIGN_OR_RETURN(kv, ac.Last());
    ASSIGN_OR_RETURN(uint64_t last, store::DecodeU64BE(kv->key));
    pb::AuditRecord r;
    if (!r.ParseFromArray(kv->value.data(), static_cast<int>(kv->value.size()))) {
      return absl::DataLossError(
          absl::StrCat("audit record ", last, " does not parse"));
    }
    add(first, r.hash());
    add(last, r.hash());
  } else if (!absl::IsNotFound(kv.status())) {
    return kv.status();
  }
  // Intake records: in the last message (messages without them come before
  // all that have them) and the first that has them.
  ASSIGN_OR_RETURN(store::Cursor mc, txn.OpenCursor(trail.messages));
  kv = mc.Last();
  if (absl::IsNotFound(kv.status())) return b;
  if (!kv.ok()) return kv.status();
  pb::MessageMeta meta;
  if (!ParseMeta(*kv, &meta)) {
    // It may hold the newest audit records: the head is unknown, and
    // numbering on would fork the chain.
    return absl::DataLossError(absl::StrCat(
        "the last message record (key ", store::DecodeU64BE(kv->key).value_or(0),
        ") does not parse, so the audit chain's head is unknown (run hl7ctl "
        "audit verify; restore the data directory from a backup)"));
  }
  if (meta.intake_audit().seq() == 0) return b;
  add(meta.intake_audit().seq() + 1, meta.intake_audit().answered_hash());
  // The first message with intake records (an unreadable one on the way is
  // Verify's to report).
  ASSIGN_OR_RETURN(uint64_t first_key, FirstMessageKeyFrom(mc, 1));
  for (kv = mc.Seek(store::EncodeU64BE(first_key)); kv.ok(); kv = mc.Next()) {
    if (ParseMeta(*kv, &meta) && meta.intake_audit().seq() != 0) {
      add(meta.intake_audit().seq(), meta.intake_audit().received_hash());
      break;
    }
  }
  if (!kv.ok() && !absl::IsNotFound(kv.status())) return kv.status();
  return b;
}

absl::StatusOr<std::string> PredecessorHash(const store::Txn& txn,
                                            const Trail& trail, uint64_t seq) {
  if (seq > 1) {
    ASSIGN_OR_RETURN(std::optional<pb::AuditRecord> prev,
                     FindRecord(txn, trail, seq - 1));
    if (prev.has_value()) return prev->hash();
  }
  ASSIGN_OR_RETURN(std::optional<pb::AuditAnchor> anchor,
                   ReadAnchor(txn, trail.meta));
  if (anchor.has_value() && anchor->first_seq() == seq) {
    return anchor->prev_hash();
  }
  return std::string();
}

absl::Status ForEachRecord(const store::Txn& txn, const Trail& trail,
                           uint64_t from_seq,
                           const std::function<bool(pb::AuditRecord)>& fn) {
  ASSIGN_OR_RETURN(TrailReader reader, TrailReader::Open(txn, trail, from_seq));
  std::string prev_hash;  // Of the record before the one read.
  bool first = true;
  absl::StatusOr<TrailEntry> e = reader.Next();
  for (; e.ok(); e = reader.Next()) {
    if (!e->problem.empty()) {
      return absl::DataLossError(absl::StrCat(
          "audit record ", e->seq, ": ", e->problem, " (run verify)"));
    }
    pb::AuditRecord& r = e->record;
    // Stored without prev_hash (StoredRecord): put it back.
    if (r.prev_hash().empty()) {
      if (first) {
        ASSIGN_OR_RETURN(prev_hash, PredecessorHash(txn, trail, r.seq()));
      }
      r.set_prev_hash(prev_hash);
    }
    first = false;
    prev_hash = r.hash();
    if (!fn(std::move(r))) return absl::OkStatus();
  }
  return absl::IsNotFound(e.status()) ? absl::OkStatus() : e.status();
}

absl::StatusOr<VerifyReport> Verify(store::Env& env,
                                    std::string_view hmac_key) {
  VerifyReport report;
  ASSIGN_OR_RETURN(Trail trail, OpenTrail(env));
  ASSIGN_OR_RETURN(store::ReadTxn txn, env.BeginRead());
  RETURN_IF_ERROR(CheckTrailReadable(txn, trail));
  auto fail = [&](uint64_t seq, std::string why) {
    report.ok = false;
    report.bad_seq = seq;
    report.problem = std::move(why);
    return report;
  };

  // The start of the chain: record 1 (linked to nothing), or the first record
  // kept by retention, which the anchor must name and link.
  absl::StatusOr<std::optional<pb::AuditAnchor>> stored_anchor =
      ReadAnchor(txn, trail.meta);
  if (absl::IsDataLoss(stored_anchor.status())) {
    return fail(1, "retention anchor does not parse (altered)");
  }
  if (!stored_anchor.ok()) return stored_anchor.status();
  const bool has_anchor = stored_anchor->has_value();
  const pb::AuditAnchor anchor =
      has_anchor ? **stored_anchor : pb::AuditAnchor();

  std::string prev_hash;
  uint64_t expected = 0;
  ASSIGN_OR_RETURN(TrailReader reader, TrailReader::Open(txn, trail, 0));
  absl::StatusOr<TrailEntry> e = reader.Next();
  for (; e.ok(); e = reader.Next()) {
    if (!e->problem.empty()) {
      // A record that should have come earlier is missing or was moved here.
      if (expected != 0 && e->seq != 0 && e->seq > expected) {
        return fail(expected, absl::StrCat("record ", expected,
                                           " is missing (removed or moved); "
                                           "next is ",
                                           e->seq, ": ", e->problem));
      }
      return fail(e->seq != 0 ? e->seq : expected == 0 ? 1 : expected,
                  e->problem);
    }
    const uint64_t key = e->seq;
    pb::AuditRecord& r = e->record;
    // Stored without prev_hash (StoredRecord), except records written
    // before schema version 4: their stored link is checked below.
    const bool linked_by_hash = r.prev_hash().empty();
    const bool first = expected == 0;
    if (first) {
      // The start of the chain, checked before its records: record 1
      // (linked to nothing), or the first record kept by retention, which
      // the authenticated anchor must name and which links to the anchor's
      // prev_hash.
      expected = key;
      report.first_seq = key;
      if (!has_anchor) {
        if (key != 1) {
          return fail(1, absl::StrCat("records 1..", key - 1,
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
        if (anchor.first_seq() != key) {
          return fail(std::min<uint64_t>(anchor.first_seq(), key),
                      absl::StrCat("retention anchor starts the trail at ",
                                   anchor.first_seq(),
                                   " but the first record is ", key,
                                   " (records removed)"));
        }
        if (!linked_by_hash && r.prev_hash() != anchor.prev_hash()) {
          return fail(key,
                      "first record does not link to the retention anchor "
                      "(altered or replaced)");
        }
        prev_hash = anchor.prev_hash();
      }
    }
    if (key < expected) {
      return fail(key, absl::StrCat("record ", key,
                                    " is stored twice or out of order "
                                    "(inserted or reordered)"));
    }
    if (key != expected) {
      return fail(expected,
                  absl::StrCat("record ", expected,
                               " is missing (removed or moved); next is ",
                               key));
    }
    if (r.seq() != key) {
      return fail(key,
                  absl::StrCat("record stored under ", key, " says it is ",
                               r.seq(), " (moved or reordered)"));
    }
    if (linked_by_hash) r.set_prev_hash(prev_hash);
    if (RecordHash(r) != r.hash()) {
      return fail(key,
                  e->message_key != 0
                      ? absl::StrCat(
                            "record does not match its hash (message record ",
                            e->message_key,
                            " altered, or the record before it altered and "
                            "rehashed, or inserted or reordered)")
                  : !linked_by_hash
                      ? "record content does not match its hash (altered)"
                  : first && has_anchor
                      ? "first record does not match its hash or does not "
                        "link to the retention anchor (altered or replaced)"
                      : "record does not match its hash (altered, or it does "
                        "not link to the previous one: that one altered and "
                        "rehashed, a record inserted or reordered)");
    }
    if (r.prev_hash() != prev_hash) {
      return fail(key,
                  "record does not link to the previous one (inserted, "
                  "reordered or the previous one was altered)");
    }
    prev_hash = r.hash();
    report.records++;
    report.last_seq = key;
    ++expected;
  }
  if (!absl::IsNotFound(e.status())) return e.status();
  report.head_hash = prev_hash;

  if (!hmac_key.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string_view> cp,
                     txn.Find(trail.meta, kCheckpointKey));
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
      absl::StatusOr<std::optional<pb::AuditRecord>> at =
          FindRecord(txn, trail, checkpoint.seq());
      if (!at.ok() || !at->has_value() || (*at)->hash() != checkpoint.hash()) {
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
