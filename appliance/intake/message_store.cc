#include "appliance/intake/message_store.h"

#include <glog/logging.h>

#include <algorithm>
#include <future>
#include <ctime>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "appliance/audit/chain.h"
#include "appliance/base/status_macros.h"
#include "appliance/crypto/hash.h"
#include "appliance/store/keys.h"
#include "appliance/store/schema.h"

namespace appliance::intake {
namespace {

constexpr const char* kDbNames[] = {"meta",     "keys",     "messages",
                                    "payloads", "dedupe",   "pipeline",
                                    "audit",    "counters", "bundles",
                                    "terminology", "patients"};

// Schema migrations (appliance/store/schema.h). Sub-databases are created by
// Env::Open; a migration that adds one only bumps the version, so that an
// older build (which would ignore the new data) refuses the store.
// Meta key: every message with a seq up to this (u64 big-endian) has its
// dedupe key in the `dedupe` sub-database (see message_store.h).
constexpr std::string_view kDedupeIndexedKey = "dedupe_indexed_seq";

std::vector<store::Migration> Migrations(const store::Env& env) {
  return {
      {1, "add the terminology sub-database (terminology/store.h)",
       [](store::WriteTxn&) { return absl::OkStatus(); }},
      {2, "add the patients sub-database (pipeline/patient_merge.h)",
       [](store::WriteTxn&) { return absl::OkStatus(); }},
      {3, "write the dedupe index behind the intake (dedupe_indexed_seq)",
       // Earlier versions indexed every message in its intake commit.
       [&env](store::WriteTxn& txn) -> absl::Status {
         ASSIGN_OR_RETURN(store::Dbi messages, env.GetDbi("messages"));
         ASSIGN_OR_RETURN(store::Dbi meta, env.GetDbi("meta"));
         ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(messages));
         uint64_t last_seq = 0;
         absl::StatusOr<store::KeyValue> last = c.Last();
         if (last.ok()) {
           ASSIGN_OR_RETURN(last_seq, store::DecodeU64BE(last->key));
         } else if (!absl::IsNotFound(last.status())) {
           return last.status();
         }
         return txn.Put(meta, kDedupeIndexedKey, store::EncodeU64BE(last_seq));
       }},
      {4, "keep the intake's audit records in their MessageMeta "
          "(IntakeAudit in records.proto)",
       // Records already in `audit` stay there; readers merge both.
       [](store::WriteTxn&) { return absl::OkStatus(); }},
  };
}

using audit::AckText;

std::string Serialize(const google::protobuf::Message& m) {
  std::string out;
  m.SerializeToString(&out);
  return out;
}

// Statistics keys left out of StoreSummary::counters.
bool IsStatisticsKey(std::string_view key) {
  return key.rfind("h/", 0) == 0 || key.rfind("last/", 0) == 0 ||
         key.rfind("up/", 0) == 0;
}

std::string SessionKey(int64_t start_us, const char* what) {
  return absl::StrFormat("up/%020d/%s", start_us, what);
}

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string HourlyKey(int64_t micros, std::string_view name) {
  return absl::StrCat("h/", HourBucket(micros), "/", std::string(name));
}

std::string LatencyBucketName(int64_t latency_us) {
  for (int64_t bound : kLatencyBoundsUs) {
    if (latency_us <= bound) return absl::StrCat("latency/le/", bound);
  }
  return "latency/le/inf";
}

std::string PayloadAad(uint64_t seq) { return absl::StrCat("payload/", seq); }
std::string BundleAad(uint64_t seq) { return absl::StrCat("bundle/", seq); }
std::string OutcomeAad(uint64_t seq) { return absl::StrCat("outcome/", seq); }

class MessageStore::TxnAuditAppender final : public AuditAppender {
 public:
  // `store`, `txn` and `heads` must outlive the appender.
  TxnAuditAppender(MessageStore* store, store::WriteTxn* txn, Heads* heads)
      : store_(store), txn_(txn), heads_(heads) {}

  absl::Status Append(pb::AuditRecord record) override {
    appended_ = true;
    return store_->AppendAudit(*txn_, *heads_, std::move(record));
  }
  bool appended() const { return appended_; }

 private:
  MessageStore* const store_;
  store::WriteTxn* const txn_;
  Heads* const heads_;
  bool appended_ = false;
};

std::string DedupeKey(std::string_view msh3, std::string_view msh4,
                      std::string_view msh10) {
  crypto::Sha256Hasher h;
  h.Update(msh3);
  h.Update(std::string_view("\0", 1));
  h.Update(msh4);
  h.Update(std::string_view("\0", 1));
  h.Update(msh10);
  const crypto::Sha256Digest d = h.Finish();
  return std::string(crypto::AsBytes(d));
}

std::string MessageStore::Pseudonym(std::string_view id) const {
  if (audit_key_.empty()) return "";
  const crypto::Sha256Digest key =
      crypto::HmacSha256(audit_key_, "hl7-appliance pseudonym key v1");
  const crypto::Sha256Digest mac = crypto::HmacSha256(crypto::AsBytes(key), id);
  return std::string(crypto::AsBytes(mac).substr(0, 16));
}

pb::AuditAnchor MessageStore::SignAuditAnchor(uint64_t first_seq,
                                              const std::string& prev_hash,
                                              int64_t pruned_at_us,
                                              uint64_t removed) const {
  return audit::MakeAnchor(first_seq, prev_hash, pruned_at_us, removed,
                           audit_key_);
}

std::string StateName(pb::MessageState state) {
  std::string name = pb::MessageState_Name(state);
  constexpr std::string_view kPrefix = "MESSAGE_STATE_";
  if (name.compare(0, kPrefix.size(), kPrefix) == 0) {
    name = name.substr(kPrefix.size());
  }
  return name;
}

MessageStore::MessageStore(MessageStoreOptions options, const Clock* clock)
    : options_(std::move(options)), clock_(clock) {}

absl::StatusOr<std::unique_ptr<MessageStore>> MessageStore::Open(
    const MessageStoreOptions& options, const Clock* clock) {
  std::unique_ptr<MessageStore> s(new MessageStore(options, clock));
  RETURN_IF_ERROR(s->Init());
  return s;
}

absl::StatusOr<store::Dbi> MessageStore::Db(const char* name) const {
  return env_->GetDbi(name);
}

absl::Status MessageStore::Init() {
  store::EnvOptions env_options;
  for (const char* name : kDbNames) env_options.db_names.push_back(name);
  env_options.initial_map_size = options_.initial_map_bytes;
  env_options.max_map_size = options_.max_map_bytes;
  env_options.read_only = options_.read_only;
  env_options.create_if_missing = !options_.read_only;
  ASSIGN_OR_RETURN(env_, store::Env::Open(options_.data_dir, env_options));
  if (options_.read_only) return absl::OkStatus();

  ASSIGN_OR_RETURN(store::SchemaState schema,
                   store::OpenSchema(*env_, Migrations(*env_)));
  if (schema.created) {
    LOG(INFO) << "created message store schema v" << schema.version;
  }
  if (schema.version != audit::kTrailSchemaVersion) {
    // A migration was added without teaching the audit readers about it.
    return absl::InternalError(absl::StrCat(
        "store schema v", schema.version, " but the audit trail readers know v",
        audit::kTrailSchemaVersion, " (update audit::kTrailSchemaVersion)"));
  }
  RETURN_IF_ERROR(LoadHeads());
  RETURN_IF_ERROR(LoadUnindexedDedupe());

  crypto::KeyFileOptions key_options;
  key_options.create_if_missing = options_.create_key_file;
  ASSIGN_OR_RETURN(crypto::KeyFile key_file,
                   crypto::KeyFile::Load(options_.key_file, key_options));
  if (key_file.created()) {
    LOG(INFO) << "created key file " << options_.key_file;
  }
  ASSIGN_OR_RETURN(keys_, crypto::DataKeyRing::Create(key_file.kek()));
  audit_key_ = std::string(key_file.audit_hmac_key());
  RETURN_IF_ERROR(LoadOrCreateDataKey());
  session_start_us_ = clock_->NowMicros();
  RETURN_IF_ERROR(WriteStandaloneAudit(pb::AUDIT_APPLIANCE_STARTED,
                                       "message store opened", "beat"));
  writer_last_wake_ns_ = SteadyNanos();
  writer_running_ = true;
  writer_ = std::thread([this] { WriterLoop(); });
  return absl::OkStatus();
}

absl::Status MessageStore::LoadHeads() {
  ASSIGN_OR_RETURN(store::Dbi messages, Db("messages"));
  ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ASSIGN_OR_RETURN(store::Cursor mc, txn.OpenCursor(messages));
  absl::StatusOr<store::KeyValue> last = mc.Last();
  if (last.ok()) {
    ASSIGN_OR_RETURN(uint64_t seq, store::DecodeU64BE(last->key));
    heads_.next_message_seq = seq + 1;
  } else if (!absl::IsNotFound(last.status())) {
    return last.status();
  }
  ASSIGN_OR_RETURN(audit::Trail trail, audit::OpenTrail(*env_));
  ASSIGN_OR_RETURN(std::optional<audit::TrailBounds> bounds,
                   audit::Bounds(txn, trail));
  if (bounds.has_value()) {
    heads_.next_audit_seq = bounds->last_seq + 1;
    heads_.audit_head = bounds->last_hash;
  }
  return absl::OkStatus();
}

absl::Status MessageStore::LoadUnindexedDedupe() {
  ASSIGN_OR_RETURN(store::Dbi meta, Db("meta"));
  ASSIGN_OR_RETURN(store::Dbi messages, Db("messages"));
  ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ASSIGN_OR_RETURN(std::optional<std::string_view> indexed,
                   txn.Find(meta, kDedupeIndexedKey));
  // Absent in a store created by this version before its first index job:
  // nothing indexed yet.
  uint64_t indexed_seq = 0;
  if (indexed.has_value()) {
    ASSIGN_OR_RETURN(indexed_seq, store::DecodeU64BE(*indexed));
  }
  ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(messages));
  absl::StatusOr<store::KeyValue> kv =
      c.Seek(store::EncodeU64BE(indexed_seq + 1));
  for (; kv.ok(); kv = c.Next()) {
    pb::MessageMeta m;
    if (!m.ParseFromArray(kv->value.data(), static_cast<int>(kv->value.size()))) {
      return absl::DataLossError("message record does not parse");
    }
    if (!m.dedupe_key().empty()) unindexed_dedupe_[m.dedupe_key()] = m.seq();
  }
  if (!absl::IsNotFound(kv.status())) return kv.status();
  if (!unindexed_dedupe_.empty()) {
    LOG(INFO) << unindexed_dedupe_.size()
              << " dedupe keys to index (messages after "
              << indexed_seq << ")";
  }
  return absl::OkStatus();
}

void MessageStore::QueueDedupeIndexJobLocked() {
  if (unindexed_dedupe_.empty() || dedupe_job_queued_) return;
  dedupe_job_queued_ = true;
  auto upto = std::make_shared<uint64_t>(0);
  jobs_.push_back(PendingJob{
      [this, upto](store::WriteTxn& txn, AuditAppender&) {
        return WriteDedupeIndex(txn, upto.get());
      },
      [this, upto](absl::Status s) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          dedupe_job_queued_ = false;
        }
        if (s.ok()) {
          DedupeIndexed(*upto);
        } else {
          // The keys stay in memory (and in the messages' metadata); the
          // next intake commit queues the job again.
          LOG(WARNING) << "dedupe index not written: " << s;
        }
      },
      std::chrono::steady_clock::now()});
}

absl::Status MessageStore::WriteDedupeIndex(store::WriteTxn& txn,
                                            uint64_t* upto) {
  ASSIGN_OR_RETURN(store::Dbi dedupe, Db("dedupe"));
  ASSIGN_OR_RETURN(store::Dbi meta, Db("meta"));
  // Keys in order: the inserts walk the B-tree from left to right.
  std::vector<const std::pair<const std::string, uint64_t>*> entries;
  entries.reserve(unindexed_dedupe_.size());
  for (const auto& entry : unindexed_dedupe_) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  for (const auto* entry : entries) {
    RETURN_IF_ERROR(
        txn.Put(dedupe, entry->first, store::EncodeU64BE(entry->second)));
  }
  // Jobs run on the writer thread between intake commits, so every message
  // committed so far has its key in unindexed_dedupe_ or in `dedupe`.
  *upto = heads_.next_message_seq - 1;
  return txn.Put(meta, kDedupeIndexedKey, store::EncodeU64BE(*upto));
}

void MessageStore::DedupeIndexed(uint64_t upto) {
  for (auto it = unindexed_dedupe_.begin(); it != unindexed_dedupe_.end();) {
    if (it->second <= upto) {
      it = unindexed_dedupe_.erase(it);
    } else {
      ++it;
    }
  }
}

absl::Status MessageStore::LoadOrCreateDataKey() {
  ASSIGN_OR_RETURN(store::Dbi keys_db, Db("keys"));
  std::vector<crypto::WrappedKey> wrapped;
  {
    ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
    ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(keys_db));
    absl::StatusOr<store::KeyValue> kv = c.First();
    for (; kv.ok(); kv = c.Next()) {
      ASSIGN_OR_RETURN(uint64_t id, store::DecodeU64BE(kv->key));
      wrapped.push_back(crypto::WrappedKey{static_cast<uint32_t>(id),
                                           std::string(kv->value)});
    }
    if (!absl::IsNotFound(kv.status())) return kv.status();
  }
  if (!wrapped.empty()) {
    absl::Status s = keys_->Import(wrapped);
    if (!s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat("cannot unwrap the stored data keys with the "
                                 "key file ",
                                 options_.key_file, " (wrong key file?): ",
                                 std::string(s.message())));
    }
    return absl::OkStatus();
  }
  // First start: make a data key, persist it wrapped, then use it.
  ASSIGN_OR_RETURN(crypto::WrappedKey key, keys_->NewKey());
  RETURN_IF_ERROR(store::RunInWriteTxn(*env_, [&](store::WriteTxn& txn) {
    return txn.Put(keys_db, store::EncodeU64BE(key.id), key.wrapped);
  }));
  RETURN_IF_ERROR(keys_->Add(key));
  return WriteStandaloneAudit(pb::AUDIT_KEY_CREATED,
                              absl::StrCat("data key ", key.id, " created"));
}

absl::Status MessageStore::AppendAudit(store::WriteTxn& txn, Heads& heads,
                                       pb::AuditRecord record) {
  ASSIGN_OR_RETURN(store::Dbi audit, Db("audit"));
  audit::Link(heads.next_audit_seq - 1, heads.audit_head, &record);
  const uint64_t seq = record.seq();
  std::string hash = record.hash();
  RETURN_IF_ERROR(txn.Put(audit, store::EncodeU64BE(seq),
                          audit::StoredRecord(std::move(record)),
                          store::PutMode::kAppend));
  heads.next_audit_seq++;
  heads.audit_head = std::move(hash);
  return absl::OkStatus();
}

absl::Status MessageStore::WriteCheckpoint(store::WriteTxn& txn,
                                           Heads& heads) {
  ASSIGN_OR_RETURN(store::Dbi meta, Db("meta"));
  const int64_t now = clock_->NowMicros();
  const pb::AuditCheckpoint c = audit::MakeCheckpoint(
      heads.next_audit_seq - 1, heads.audit_head, now, audit_key_);
  RETURN_IF_ERROR(txn.Put(meta, audit::kCheckpointKey, Serialize(c)));
  heads.checkpointed_seq = heads.next_audit_seq - 1;
  heads.checkpoint_us = now;
  return absl::OkStatus();
}

absl::Status MessageStore::MaybeCheckpoint(store::WriteTxn& txn, Heads& heads,
                                           bool force) {
  if (heads.checkpointed_seq + 1 >= heads.next_audit_seq) return absl::OkStatus();
  const int64_t interval_us =
      std::chrono::duration_cast<std::chrono::microseconds>(kCheckpointInterval)
          .count();
  if (!force && clock_->NowMicros() - heads.checkpoint_us < interval_us) {
    return absl::OkStatus();
  }
  return WriteCheckpoint(txn, heads);
}

void MessageStore::CheckpointIfBehind() {
  if (heads_.checkpointed_seq + 1 >= heads_.next_audit_seq) return;
  Heads heads;
  const absl::Status status = store::RunInWriteTxn(*env_, [&](store::WriteTxn& txn) {
    heads = heads_;
    return WriteCheckpoint(txn, heads);
  });
  if (status.ok()) {
    heads_ = heads;
  } else {
    LOG(WARNING) << "audit checkpoint not written: " << status;
  }
}

absl::Status MessageStore::WriteStandaloneAudit(pb::AuditEventType type,
                                                const std::string& detail,
                                                const char* session_record) {
  Heads heads;
  RETURN_IF_ERROR(store::RunInWriteTxn(*env_, [&](store::WriteTxn& txn) {
    heads = heads_;
    if (session_record != nullptr) {
      RETURN_IF_ERROR(WriteSessionRecord(txn, session_record));
    }
    pb::AuditRecord r;
    r.set_time_us(clock_->NowMicros());
    r.set_type(type);
    r.set_outcome(pb::AUDIT_OUTCOME_SUCCESS);
    r.set_actor("hl7d");
    r.set_detail(detail);
    RETURN_IF_ERROR(AppendAudit(txn, heads, std::move(r)));
    return MaybeCheckpoint(txn, heads, /*force=*/true);
  }));
  heads_ = heads;
  if (session_record != nullptr) latency_carry_.clear();
  return absl::OkStatus();
}

absl::Status MessageStore::AddCounters(
    store::WriteTxn& txn, const std::map<std::string, uint64_t>& deltas) const {
  ASSIGN_OR_RETURN(store::Dbi counters, Db("counters"));
  for (const auto& [name, delta] : deltas) {
    ASSIGN_OR_RETURN(std::optional<std::string_view> old,
                     txn.Find(counters, name));
    uint64_t value = delta;
    if (old.has_value()) {
      ASSIGN_OR_RETURN(uint64_t prev, store::DecodeU64BE(*old));
      value += prev;
    }
    RETURN_IF_ERROR(txn.Put(counters, name, store::EncodeU64BE(value)));
  }
  return absl::OkStatus();
}

absl::Status MessageStore::WriteSessionRecord(store::WriteTxn& txn,
                                              const char* what) {
  ASSIGN_OR_RETURN(store::Dbi counters, Db("counters"));
  RETURN_IF_ERROR(AddCounters(txn, latency_carry_));
  return txn.Put(
      counters, SessionKey(session_start_us_, what),
      store::EncodeU64BE(static_cast<uint64_t>(clock_->NowMicros())));
}

WriteJob MessageStore::HeartbeatJob() {
  return [this](store::WriteTxn& txn, AuditAppender&) -> absl::Status {
    ASSIGN_OR_RETURN(store::Dbi counters, Db("counters"));
    return txn.Put(
        counters, SessionKey(session_start_us_, "beat"),
        store::EncodeU64BE(static_cast<uint64_t>(clock_->NowMicros())));
  };
}

void MessageStore::Heartbeat(WriteJobCallback done) {
  SubmitJob(HeartbeatJob(), std::move(done));
}

bool MessageStore::WriterAlive(std::chrono::milliseconds max_quiet) const {
  if (!writer_running_.load()) return false;
  const int64_t quiet_ns = SteadyNanos() - writer_last_wake_ns_.load();
  return quiet_ns <=
         std::chrono::duration_cast<std::chrono::nanoseconds>(max_quiet)
             .count();
}

void MessageStore::CarryLatencies(const std::vector<Pending>& batch,
                                  int64_t committed_us) {
  for (const Pending& p : batch) {
    const int64_t received = p.request.meta.received_at_us();
    if (received <= 0) continue;
    const int64_t latency = std::max<int64_t>(0, committed_us - received);
    latency_carry_[HourlyKey(received, "latency/count")]++;
    latency_carry_[HourlyKey(received, "latency/sum_us")] +=
        static_cast<uint64_t>(latency);
    latency_carry_[HourlyKey(received, LatencyBucketName(latency))]++;
  }
}

absl::StatusOr<std::map<std::string, uint64_t>> MessageStore::ReadCounters(
    std::string_view prefix, std::string_view from) const {
  std::map<std::string, uint64_t> out;
  const std::string_view start = from > prefix ? from : prefix;
  ASSIGN_OR_RETURN(store::Dbi counters, Db("counters"));
  ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(counters));
  absl::StatusOr<store::KeyValue> kv =
      start.empty() ? c.First() : c.Seek(start);
  for (; kv.ok(); kv = c.Next()) {
    if (kv->key.compare(0, prefix.size(), prefix) != 0) break;
    ASSIGN_OR_RETURN(uint64_t v, store::DecodeU64BE(kv->value));
    out.emplace(std::string(kv->key), v);
  }
  if (!kv.ok() && !absl::IsNotFound(kv.status())) return kv.status();
  return out;
}

void MessageStore::Submit(IntakeRequest request, IntakeCallback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      queue_.push_back(Pending{std::move(request), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(absl::UnavailableError("message store is stopping"));
}

void MessageStore::SubmitJob(WriteJob job, WriteJobCallback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      jobs_.push_back(PendingJob{std::move(job), std::move(done),
                                 std::chrono::steady_clock::now()});
      cv_.notify_one();
      return;
    }
  }
  done(absl::UnavailableError("message store is stopping"));
}

absl::Status MessageStore::RunJob(WriteJob job) {
  // Shared, so the callback may finish with the promise after the waiter
  // has returned.
  auto done = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> result = done->get_future();
  SubmitJob(std::move(job), [done](absl::Status s) { done->set_value(std::move(s)); });
  return result.get();
}

absl::Status MessageStore::RunJobs(std::vector<PendingJob>& jobs, size_t begin,
                                   size_t end,
                                   std::vector<absl::Status>& statuses) {
  Heads heads;
  absl::Status status = store::RunInWriteTxn(*env_, [&](store::WriteTxn& txn) {
    heads = heads_;  // A retried body starts from the committed heads.
    TxnAuditAppender audit(this, &txn, &heads);
    for (size_t i = begin; i < end; ++i) {
      absl::Status s = jobs[i].job(txn, audit);
      if (!s.ok()) return s;
    }
    RETURN_IF_ERROR(AddCounters(txn, latency_carry_));
    if (!audit.appended()) return absl::OkStatus();
    return MaybeCheckpoint(txn, heads, /*force=*/false);
  });
  if (status.ok()) {
    heads_ = heads;
    latency_carry_.clear();
  }
  for (size_t i = begin; i < end; ++i) statuses[i] = status;
  return status;
}

void MessageStore::CommitJobs(std::vector<PendingJob>& jobs) {
  std::vector<absl::Status> statuses(jobs.size());
  absl::Status group = RunJobs(jobs, 0, jobs.size(), statuses);
  if (!group.ok() && jobs.size() > 1) {
    for (size_t i = 0; i < jobs.size(); ++i) {
      RunJobs(jobs, i, i + 1, statuses).IgnoreError();
    }
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!statuses[i].ok()) {
      VLOG(1) << "write job failed: " << statuses[i];
    }
    jobs[i].done(statuses[i]);
  }
}

absl::Status MessageStore::ApplyBatch(store::WriteTxn& txn,
                                      std::vector<Pending>& batch, Heads& heads,
                                      std::vector<IntakeResult>& results) {
  ASSIGN_OR_RETURN(store::Dbi messages, Db("messages"));
  ASSIGN_OR_RETURN(store::Dbi payloads, Db("payloads"));
  ASSIGN_OR_RETURN(store::Dbi dedupe, Db("dedupe"));
  ASSIGN_OR_RETURN(store::Dbi pipeline, Db("pipeline"));
  ASSIGN_OR_RETURN(store::Dbi counters, Db("counters"));
  std::map<std::string, uint64_t> counter_delta = latency_carry_;
  std::map<std::string, uint64_t> last_seen;  // "last/<type>" -> time (us).
  const int64_t now = clock_->NowMicros();
  batch_dedupe_.clear();  // A retried body starts again.

  for (Pending& p : batch) {
    const IntakeRequest& req = p.request;
    IntakeResult result;
    const std::string& type = req.meta.message_type().empty()
                                  ? std::string("unknown")
                                  : req.meta.message_type();
    if (!req.dedupe_key.empty()) {
      // The first message may be in this batch, committed but not yet
      // indexed, or indexed.
      std::optional<uint64_t> first;
      if (auto it = batch_dedupe_.find(req.dedupe_key);
          it != batch_dedupe_.end()) {
        first = it->second;
      } else if (auto it = unindexed_dedupe_.find(req.dedupe_key);
                 it != unindexed_dedupe_.end()) {
        first = it->second;
      } else {
        ASSIGN_OR_RETURN(std::optional<std::string_view> indexed,
                         txn.Find(dedupe, req.dedupe_key));
        if (indexed.has_value()) {
          ASSIGN_OR_RETURN(first, store::DecodeU64BE(*indexed));
        }
      }
      if (first.has_value()) {
        const uint64_t seq = *first;
        ASSIGN_OR_RETURN(std::string_view stored,
                         txn.Get(messages, store::EncodeU64BE(seq)));
        pb::MessageMeta meta;
        if (!meta.ParseFromArray(stored.data(),
                                 static_cast<int>(stored.size()))) {
          return absl::DataLossError(
              absl::StrCat("message record ", seq, " does not parse"));
        }
        meta.set_duplicates(meta.duplicates() + 1);
        RETURN_IF_ERROR(
            txn.Put(messages, store::EncodeU64BE(seq), Serialize(meta)));
        pb::AuditRecord r;
        r.set_time_us(now);
        r.set_type(pb::AUDIT_MESSAGE_DUPLICATE);
        r.set_outcome(pb::AUDIT_OUTCOME_MINOR_FAILURE);
        r.set_actor(req.peer);
        r.set_message_seq(seq);
        r.set_control_id(req.meta.control_id());
        r.set_message_sha256(req.meta.raw_sha256());
        r.set_detail(absl::StrCat("repeat of message ", seq, ", answered ",
                                  AckText(meta.ack_code())));
        RETURN_IF_ERROR(AppendAudit(txn, heads, std::move(r)));
        counter_delta["duplicates"]++;
        counter_delta[absl::StrCat("ack/", AckText(meta.ack_code()))]++;
        counter_delta[HourlyKey(req.meta.received_at_us(), "duplicates")]++;
        counter_delta[HourlyKey(req.meta.received_at_us(),
                                absl::StrCat("ack/", AckText(meta.ack_code())))]++;
        result.seq = seq;
        result.duplicate = true;
        result.ack_code = meta.ack_code();
        results.push_back(result);
        continue;
      }
    }

    const uint64_t seq = heads.next_message_seq++;
    const std::string key = store::EncodeU64BE(seq);
    pb::MessageMeta meta = req.meta;
    meta.set_seq(seq);
    meta.set_peer(req.peer);
    meta.set_tls_subject(req.tls_subject);
    meta.set_raw_size(req.raw.size());
    meta.set_data_key_id(keys_->current_key_id());
    const bool accepted = meta.ack_code() == pb::ACK_CODE_ACCEPT;
    meta.set_state(accepted ? pb::MESSAGE_STATE_PENDING
                   : meta.ack_code() == pb::ACK_CODE_ERROR
                       ? pb::MESSAGE_STATE_ERROR
                       : pb::MESSAGE_STATE_REJECTED);
    ASSIGN_OR_RETURN(std::string sealed, keys_->Seal(req.raw, PayloadAad(seq)));
    // New sequence numbers are above every stored key: MDB_APPEND fills
    // pages completely instead of splitting them half-full, so the commit
    // writes fewer pages (see WriteTxn::Put).
    RETURN_IF_ERROR(txn.Put(payloads, key, sealed, store::PutMode::kAppend));
    if (!req.dedupe_key.empty()) {
      // Indexed in `dedupe` by a later job (see message_store.h).
      meta.set_dedupe_key(req.dedupe_key);
      batch_dedupe_.emplace(req.dedupe_key, seq);
    }
    if (accepted) {
      pb::PipelineEntry entry;
      entry.set_seq(seq);
      entry.set_state(pb::MESSAGE_STATE_PENDING);
      entry.set_enqueued_at_us(now);
      entry.set_next_attempt_at_us(now);
      RETURN_IF_ERROR(
          txn.Put(pipeline, key, Serialize(entry), store::PutMode::kAppend));
    }
    if (options_.audit_intake) {
      // The two records go into the MessageMeta (IntakeAudit in
      // records.proto), not into `audit`: this commit then writes no page of
      // the audit tree.
      meta.mutable_intake_audit()->set_answered_at_us(now);
      std::array<pb::AuditRecord, 2>& records = intake_records_;
      audit::IntakeRecords(meta, &records);
      audit::Link(heads.next_audit_seq - 1, heads.audit_head, &records[0]);
      audit::Link(records[0].seq(), records[0].hash(), &records[1]);
      pb::IntakeAudit* ia = meta.mutable_intake_audit();
      ia->set_seq(records[0].seq());
      ia->set_received_hash(records[0].hash());
      ia->set_answered_hash(records[1].hash());
      heads.next_audit_seq += 2;
      heads.audit_head = records[1].hash();
    }
    RETURN_IF_ERROR(
        txn.Put(messages, key, Serialize(meta), store::PutMode::kAppend));
    counter_delta[absl::StrCat("received/", type)]++;
    counter_delta[absl::StrCat("ack/", AckText(meta.ack_code()))]++;
    counter_delta[absl::StrCat("ack/", type, "/", AckText(meta.ack_code()))]++;
    const int64_t at = meta.received_at_us();
    counter_delta[HourlyKey(at, absl::StrCat("received/", type))]++;
    counter_delta[HourlyKey(at,
                            absl::StrCat("outcome/", AckText(meta.ack_code())))]++;
    counter_delta[HourlyKey(at, absl::StrCat("ack/", AckText(meta.ack_code())))]++;
    uint64_t& last = last_seen[absl::StrCat("last/", type)];
    last = std::max(last, static_cast<uint64_t>(std::max<int64_t>(at, 0)));
    result.seq = seq;
    result.ack_code = meta.ack_code();
    results.push_back(result);
  }

  RETURN_IF_ERROR(AddCounters(txn, counter_delta));
  for (const auto& [name, at] : last_seen) {
    ASSIGN_OR_RETURN(std::optional<std::string_view> old,
                     txn.Find(counters, name));
    if (old.has_value()) {
      ASSIGN_OR_RETURN(uint64_t prev, store::DecodeU64BE(*old));
      if (prev >= at) continue;
    }
    RETURN_IF_ERROR(txn.Put(counters, name, store::EncodeU64BE(at)));
  }
  if (!options_.audit_intake) return absl::OkStatus();
  return MaybeCheckpoint(txn, heads, /*force=*/false);
}

void MessageStore::WriterLoop() {
  std::vector<Pending> batch;
  std::vector<PendingJob> jobs;
  std::vector<IntakeResult> results;
  const bool beats = options_.heartbeat_interval.count() > 0;
  auto next_beat = std::chrono::steady_clock::now() +
                   options_.heartbeat_interval;
  while (true) {
    batch.clear();
    jobs.clear();
    bool checkpoint_now = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      using SteadyClock = std::chrono::steady_clock;
      // Write jobs (mapping, delivery results) wait while the intake is
      // active — until it has been quiet for kJobIdleGap, or the oldest job
      // waited kJobMaxDelay — so that a sender's next message does not queue
      // behind a job's commit (ACKs first).
      auto jobs_due = [&](SteadyClock::time_point now) {
        return !jobs_.empty() &&
               (stopping_ || now - last_intake_ >= kJobIdleGap ||
                now - jobs_.front().queued >= kJobMaxDelay);
      };
      auto ready = [&](SteadyClock::time_point now) {
        return stopping_ || !queue_.empty() || jobs_due(now);
      };
      // An idle writer brings a lagging audit checkpoint up to date.
      const bool behind = heads_.checkpointed_seq + 1 < heads_.next_audit_seq;
      const auto checkpoint_at = behind ? SteadyClock::now() + kCheckpointInterval
                                        : SteadyClock::time_point::max();
      bool timed_out = false;
      while (true) {
        const auto now = SteadyClock::now();
        if (ready(now)) break;
        auto wake_at = std::min(checkpoint_at,
                                beats ? next_beat : SteadyClock::time_point::max());
        if (!jobs_.empty()) {
          wake_at = std::min({wake_at, last_intake_ + kJobIdleGap,
                              jobs_.front().queued + kJobMaxDelay});
        }
        if (now >= wake_at) {
          timed_out = true;
          break;
        }
        if (wake_at == SteadyClock::time_point::max()) {
          cv_.wait(lock);
        } else {
          cv_.wait_until(lock, wake_at);
        }
      }
      const auto now = SteadyClock::now();
      checkpoint_now = behind && timed_out && now >= checkpoint_at;
      writer_last_wake_ns_ = SteadyNanos();
      if (beats && now >= next_beat) {
        next_beat = now + options_.heartbeat_interval;
        if (!stopping_) {
          jobs_.push_back(PendingJob{HeartbeatJob(), [](absl::Status s) {
                                       if (!s.ok()) {
                                         LOG(WARNING)
                                             << "uptime heartbeat not "
                                                "recorded: "
                                             << s;
                                       }
                                     },
                                     now});
        }
      }
      if (!ready(now)) {  // Woken for the heartbeat or the checkpoint only.
        lock.unlock();
        if (checkpoint_now) CheckpointIfBehind();
        continue;
      }
      if (queue_.empty() && jobs_.empty()) break;  // Stopping and drained.
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      // Jobs go at stop, after kJobMaxDelay (all queued together), or when
      // no message waits and the intake has been quiet for kJobIdleGap.
      const bool take_jobs =
          !jobs_.empty() &&
          (stopping_ || now - jobs_.front().queued >= kJobMaxDelay ||
           (batch.empty() && now - last_intake_ >= kJobIdleGap));
      while (take_jobs && !jobs_.empty() && jobs.size() < options_.max_batch) {
        jobs.push_back(std::move(jobs_.front()));
        jobs_.pop_front();
      }
    }
    if (!batch.empty()) {
      CommitIntakeBatch(batch, results);
      std::lock_guard<std::mutex> lock(mu_);
      last_intake_ = std::chrono::steady_clock::now();
      QueueDedupeIndexJobLocked();
    }
    if (!jobs.empty()) CommitJobs(jobs);
  }
  writer_running_ = false;
}

void MessageStore::CommitIntakeBatch(std::vector<Pending>& batch,
                                     std::vector<IntakeResult>& results) {
  Heads heads;
  const absl::Status status =
      store::RunInWriteTxn(*env_, [&](store::WriteTxn& txn) {
        heads = heads_;  // A retried body starts from the committed heads.
        results.clear();
        return ApplyBatch(txn, batch, heads, results);
      });
  if (status.ok()) {
    heads_ = heads;
    latency_carry_.clear();
    unindexed_dedupe_.merge(batch_dedupe_);
    batch_dedupe_.clear();
    CarryLatencies(batch, clock_->NowMicros());
    commits_++;
    if (!healthy_.exchange(true)) LOG(INFO) << "message store commits again";
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(results[i]);
  } else {
    commit_failures_++;
    if (healthy_.exchange(false)) {
      LOG(ERROR) << "message store commit failed (" << batch.size()
                 << " messages not stored): " << status;
    }
    for (Pending& p : batch) p.done(status);
  }
}

absl::StatusOr<DataKeyRotation> MessageStore::RotateDataKey(
    const std::string& actor, const std::string& reason) {
  std::lock_guard<std::mutex> rotation(rotation_mu_);
  if (keys_ == nullptr) {
    return absl::FailedPreconditionError("the store was opened without keys");
  }
  DataKeyRotation result;
  result.previous_key_id = keys_->current_key_id();
  ASSIGN_OR_RETURN(const crypto::WrappedKey key, keys_->NewKey());
  ASSIGN_OR_RETURN(const store::Dbi keys_db, Db("keys"));
  const int64_t now_us = clock_->NowMicros();
  std::string detail = absl::StrCat("data key ", key.id, " current (was ",
                                    result.previous_key_id, ")");
  if (!reason.empty()) absl::StrAppend(&detail, ": ", reason);
  if (detail.size() > 200) detail.resize(200);

  auto done = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> finished = done->get_future();
  SubmitJob(
      [&, key](store::WriteTxn& txn, AuditAppender& audit) {
        RETURN_IF_ERROR(txn.Put(keys_db, store::EncodeU64BE(key.id),
                                key.wrapped, store::PutMode::kNoOverwrite));
        pb::AuditRecord r;
        r.set_time_us(now_us);
        r.set_type(pb::AUDIT_KEY_ROTATED);
        r.set_actor(actor);
        r.set_detail(detail);
        return audit.Append(std::move(r));
      },
      // On the writer thread, after the commit: the intake seals on that
      // thread too, so every batch from here on uses the new key (and records
      // its id).
      [this, done, key](absl::Status s) {
        if (s.ok()) s = keys_->Add(key);
        done->set_value(std::move(s));
      });
  RETURN_IF_ERROR(finished.get());
  result.key_id = keys_->current_key_id();
  result.keys = static_cast<uint32_t>(keys_->size());
  return result;
}

void MessageStore::Stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (writer_.joinable()) {
    writer_.join();
    absl::Status s = WriteStandaloneAudit(pb::AUDIT_APPLIANCE_STOPPED,
                                          "message store closed", "stop");
    if (!s.ok()) LOG(WARNING) << "could not audit the stop: " << s;
  }
}

MessageStore::~MessageStore() { Stop(); }

absl::StatusOr<StoreSummary> MessageStore::Summarize() const {
  StoreSummary summary;
  ASSIGN_OR_RETURN(store::Dbi messages, Db("messages"));
  ASSIGN_OR_RETURN(store::Dbi counters, Db("counters"));
  ASSIGN_OR_RETURN(store::Dbi pipeline, Db("pipeline"));
  ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(messages));
  absl::StatusOr<store::KeyValue> kv = c.First();
  for (; kv.ok(); kv = c.Next()) {
    pb::MessageMeta meta;
    if (!meta.ParseFromArray(kv->value.data(),
                             static_cast<int>(kv->value.size()))) {
      return absl::DataLossError("message record does not parse");
    }
    summary.messages++;
    summary.by_state[StateName(meta.state())]++;
    summary.by_type[meta.message_type().empty() ? "unknown"
                                                : meta.message_type()]++;
  }
  if (!absl::IsNotFound(kv.status())) return kv.status();
  ASSIGN_OR_RETURN(store::Cursor cc, txn.OpenCursor(counters));
  kv = cc.First();
  for (; kv.ok(); kv = cc.Next()) {
    if (IsStatisticsKey(kv->key)) continue;
    ASSIGN_OR_RETURN(uint64_t v, store::DecodeU64BE(kv->value));
    summary.counters[std::string(kv->key)] = v;
  }
  if (!absl::IsNotFound(kv.status())) return kv.status();
  ASSIGN_OR_RETURN(audit::Trail trail, audit::OpenTrail(*env_));
  ASSIGN_OR_RETURN(std::optional<audit::TrailBounds> bounds,
                   audit::Bounds(txn, trail));
  summary.audit_records = bounds.has_value() ? bounds->count() : 0;
  ASSIGN_OR_RETURN(summary.pipeline_entries, txn.Count(pipeline));
  return summary;
}

absl::StatusOr<std::vector<pb::MessageMeta>> MessageStore::ListMessages(
    uint64_t after_seq, size_t limit) const {
  std::vector<pb::MessageMeta> out;
  ASSIGN_OR_RETURN(store::Dbi messages, Db("messages"));
  ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(messages));
  absl::StatusOr<store::KeyValue> kv =
      c.Seek(store::EncodeU64BE(after_seq + 1));
  for (; kv.ok() && out.size() < limit; kv = c.Next()) {
    pb::MessageMeta meta;
    if (!meta.ParseFromArray(kv->value.data(),
                             static_cast<int>(kv->value.size()))) {
      return absl::DataLossError("message record does not parse");
    }
    out.push_back(std::move(meta));
  }
  if (!kv.ok() && !absl::IsNotFound(kv.status())) return kv.status();
  return out;
}

absl::StatusOr<pb::MessageMeta> MessageStore::GetMessage(uint64_t seq) const {
  ASSIGN_OR_RETURN(store::Dbi messages, Db("messages"));
  ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ASSIGN_OR_RETURN(std::string_view v,
                   txn.Get(messages, store::EncodeU64BE(seq)));
  pb::MessageMeta meta;
  if (!meta.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
    return absl::DataLossError(
        absl::StrCat("message record ", seq, " does not parse"));
  }
  return meta;
}

absl::StatusOr<std::string> MessageStore::ReadPayload(uint64_t seq) const {
  if (keys_ == nullptr) {
    return absl::FailedPreconditionError(
        "payloads cannot be decrypted: store opened without its key file");
  }
  ASSIGN_OR_RETURN(store::Dbi payloads, Db("payloads"));
  std::string sealed;
  {
    ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
    ASSIGN_OR_RETURN(std::string_view v,
                     txn.Get(payloads, store::EncodeU64BE(seq)));
    sealed.assign(v.data(), v.size());
  }
  return keys_->Open(sealed, PayloadAad(seq));
}

absl::StatusOr<std::vector<pb::AuditRecord>> MessageStore::ReadAudit(
    uint64_t after_seq, size_t limit) const {
  std::vector<pb::AuditRecord> out;
  if (limit == 0) return out;
  ASSIGN_OR_RETURN(audit::Trail trail, audit::OpenTrail(*env_));
  ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  RETURN_IF_ERROR(audit::ForEachRecord(txn, trail, after_seq + 1,
                                       [&](pb::AuditRecord r) {
                                         out.push_back(std::move(r));
                                         return out.size() < limit;
                                       }));
  return out;
}

absl::StatusOr<std::vector<pb::PipelineEntry>> MessageStore::ListPipeline(
    uint64_t after_seq, size_t limit) const {
  std::vector<pb::PipelineEntry> out;
  ASSIGN_OR_RETURN(store::Dbi pipeline, Db("pipeline"));
  ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(pipeline));
  absl::StatusOr<store::KeyValue> kv =
      c.Seek(store::EncodeU64BE(after_seq + 1));
  for (; kv.ok() && out.size() < limit; kv = c.Next()) {
    pb::PipelineEntry e;
    if (!e.ParseFromArray(kv->value.data(),
                          static_cast<int>(kv->value.size()))) {
      return absl::DataLossError("pipeline entry does not parse");
    }
    out.push_back(std::move(e));
  }
  if (!kv.ok() && !absl::IsNotFound(kv.status())) return kv.status();
  return out;
}

absl::StatusOr<pb::PipelineEntry> MessageStore::GetPipelineEntry(
    uint64_t seq) const {
  ASSIGN_OR_RETURN(store::Dbi pipeline, Db("pipeline"));
  ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
  ASSIGN_OR_RETURN(std::string_view v,
                   txn.Get(pipeline, store::EncodeU64BE(seq)));
  pb::PipelineEntry e;
  if (!e.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
    return absl::DataLossError(
        absl::StrCat("pipeline entry ", seq, " does not parse"));
  }
  return e;
}

absl::StatusOr<std::string> MessageStore::ReadBundle(uint64_t seq) const {
  if (keys_ == nullptr) {
    return absl::FailedPreconditionError(
        "bundles cannot be decrypted: store opened without its key file");
  }
  ASSIGN_OR_RETURN(store::Dbi bundles, Db("bundles"));
  std::string sealed;
  {
    ASSIGN_OR_RETURN(store::ReadTxn txn, env_->BeginRead());
    ASSIGN_OR_RETURN(std::string_view v,
                     txn.Get(bundles, store::EncodeU64BE(seq)));
    sealed.assign(v.data(), v.size());
  }
  return keys_->Open(sealed, BundleAad(seq));
}

}  // namespace appliance::intake
