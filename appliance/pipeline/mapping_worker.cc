#include "appliance/pipeline/mapping_worker.h"

#include <glog/logging.h>

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/base/thread_priority.h"
#include "appliance/crypto/hash.h"
#include "appliance/pipeline/patient_merge.h"
#include "appliance/pipeline/store_util.h"
#include "appliance/store/keys.h"

namespace appliance::pipeline {
namespace {

namespace pb = ::hl7appliance::store::v1;

constexpr char kActor[] = "mapper";
constexpr size_t kScanPage = 256;
constexpr uint64_t kNoRescan = std::numeric_limits<uint64_t>::max();

// Waits for the callbacks of a group of submitted jobs.
class JobGroup {
 public:
  explicit JobGroup(size_t n) : statuses_(n), outstanding_(n) {}
  intake::WriteJobCallback Callback(size_t i) {
    return [this, i](absl::Status s) {
      std::lock_guard<std::mutex> lock(mu_);
      statuses_[i] = std::move(s);
      if (--outstanding_ == 0) cv_.notify_all();
    };
  }
  const std::vector<absl::Status>& Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return outstanding_ == 0; });
    return statuses_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<absl::Status> statuses_;  // Guarded by mu_.
  size_t outstanding_;                  // Guarded by mu_.
};

}  // namespace

MappingWorker::MappingWorker(
    intake::MessageStore* store, const Clock* clock,
    std::shared_ptr<const fhir::Terminology> terminology,
    MappingWorkerOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      terminology_(std::move(terminology)) {
  CHECK(terminology_ != nullptr);
}

MappingWorker::~MappingWorker() { Stop(); }

void MappingWorker::Start() {
  CHECK(!thread_.joinable()) << "MappingWorker started twice";
  LOG(INFO) << "mapping worker started";
  thread_ = std::thread([this] { Loop(); });
}

void MappingWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) {
    thread_.join();
    LOG(INFO) << "mapping worker stopped: " << stats_.mapped.load()
              << " mapped, " << stats_.held.load() << " held";
  }
}

void MappingWorker::Notify() {
  // Already requested and not yet consumed: the round it starts will see
  // what the caller committed.
  if (wake_.exchange(true)) return;
  // Loop() sets waiting_ under mu_ before it tests wake_ and sleeps; both
  // are sequentially consistent, so either it sees wake_ or we see waiting_
  // (and then the lock waits until it sleeps, so the signal is not lost).
  if (!waiting_.load()) return;
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

void MappingWorker::SetTerminology(
    std::shared_ptr<const fhir::Terminology> terminology) {
  CHECK(terminology != nullptr);
  std::lock_guard<std::mutex> lock(mu_);
  terminology_ = std::move(terminology);
}

bool MappingWorker::idle() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_ && !wake_.load();
}

bool MappingWorker::WaitIdle(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                      [&] { return idle_ && !wake_.load(); });
}

void MappingWorker::Loop() {
  LowerThisThreadPriority();  // ACKs first; this stage catches up.
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      waiting_.store(true);
      cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.poll_interval),
                   [&] { return stopping_ || wake_.load(); });
      waiting_.store(false);
      if (stopping_) break;
      wake_.store(false);
      idle_ = false;  // Until this round found nothing.
    }
    stats_.rounds++;
    absl::StatusOr<size_t> found = Round();
    std::lock_guard<std::mutex> lock(mu_);
    if (!found.ok()) {
      // Back off until the next poll; the entries stay PENDING.
      LOG(WARNING) << "mapping round failed: " << found.status();
      continue;
    }
    if (*found > 0) {
      wake_.store(true);  // There may be more.
    } else if (!wake_.load()) {
      idle_ = true;
      cv_.notify_all();
    }
  }
}

absl::StatusOr<size_t> MappingWorker::Round() {
  uint64_t from;
  std::shared_ptr<const fhir::Terminology> terminology;
  {
    std::lock_guard<std::mutex> lock(mu_);
    from = std::min(scan_from_, rescan_from_);
    rescan_from_ = kNoRescan;
    terminology = terminology_;
  }
  // Collect the next PENDING entries, in order.
  std::vector<pb::PipelineEntry> pending;
  uint64_t next_from = from;
  bool more = true;
  while (more && pending.size() < options_.batch_size) {
    ASSIGN_OR_RETURN(std::vector<pb::PipelineEntry> page,
                     store_->ListPipeline(next_from - 1, kScanPage));
    more = page.size() == kScanPage;
    for (pb::PipelineEntry& e : page) {
      next_from = e.seq() + 1;
      if (e.state() == pb::MESSAGE_STATE_PENDING) {
        pending.push_back(std::move(e));
        if (pending.size() == options_.batch_size) {
          more = false;
          break;
        }
      }
    }
  }
  if (!pending.empty()) {
    if (mapper_ == nullptr || mapper_terminology_ != terminology) {
      mapper_ = std::make_unique<fhir::Mapper>(options_.mapper, terminology);
      mapper_terminology_ = terminology;
    }
    const fhir::Mapper& mapper = *mapper_;
    std::vector<std::shared_ptr<const Outcome>> outcomes;
    outcomes.reserve(pending.size());
    for (const pb::PipelineEntry& e : pending) {
      outcomes.push_back(std::make_shared<const Outcome>(
          MapOne(e, mapper, terminology->version())));
    }
    JobGroup group(outcomes.size());
    for (size_t i = 0; i < outcomes.size(); ++i) {
      store_->SubmitJob(MakeJob(outcomes[i]), group.Callback(i));
    }
    const std::vector<absl::Status>& statuses = group.Wait();
    absl::Status first_error;
    for (size_t i = 0; i < statuses.size(); ++i) {
      const uint64_t seq = outcomes[i]->seq;
      if (statuses[i].ok()) {
        (outcomes[i]->held ? stats_.held : stats_.mapped)++;
        VLOG(1) << "message " << seq
                << (outcomes[i]->held ? " held" : " mapped");
      } else if (absl::IsAborted(statuses[i])) {
        VLOG(1) << "message " << seq << " no longer pending";
      } else {
        stats_.commit_failures++;
        next_from = std::min(next_from, seq);  // Retry it.
        if (first_error.ok()) first_error = statuses[i];
      }
    }
    scan_from_ = next_from;
    if (options_.on_mapped) {
      uint64_t first_mapped = 0;
      for (size_t i = 0; i < statuses.size(); ++i) {
        if (statuses[i].ok() && !outcomes[i]->held) {
          first_mapped = outcomes[i]->seq;
          break;
        }
      }
      if (first_mapped != 0) options_.on_mapped(first_mapped);
    }
    if (!first_error.ok()) return first_error;
    return pending.size();
  }
  scan_from_ = next_from;
  return 0;
}

MappingWorker::Outcome MappingWorker::MapOne(const pb::PipelineEntry& entry,
                                             const fhir::Mapper& mapper,
                                             int64_t terminology_version) {
  Outcome out;
  out.seq = entry.seq();
  out.terminology_version = terminology_version;
  absl::StatusOr<std::string> raw = store_->ReadPayload(entry.seq());
  if (!raw.ok()) {
    out.held = true;
    out.reason =
        absl::StrCat("payload cannot be read (",
                     absl::StatusCodeToString(raw.status().code()), ")");
    return out;
  }
  absl::StatusOr<hl7::Message> message =
      hl7::Message::Parse(*raw, options_.parse);
  if (!message.ok()) {
    out.held = true;
    out.reason =
        absl::StrCat("payload does not parse (",
                     absl::StatusCodeToString(message.status().code()), ")");
    return out;
  }
  fhir::MapResult result;
  const absl::Status s = mapper.Map(*message, &result);
  if (!s.ok()) {
    out.held = true;
    out.reason = absl::StrCat("not mapped: ", std::string(s.message()));
    return out;
  }
  out.terminology_version = result.terminology_version;
  out.summary =
      absl::StrCat(result.entries.size(), " entries, ", result.findings.size(),
                   " findings, terminology v", result.terminology_version);
  if (result.hold) {
    out.held = true;
    out.reason = result.hold_reason.empty() ? std::string("held by the mapper")
                                            : result.hold_reason;
    return out;
  }
  out.bundle = std::move(result.bundle);
  out.patient_presence = std::move(result.patient_presence);
  for (const fhir::MappedEntry& e : result.entries) {
    if (e.resource_type == "Patient") {
      out.order_key = store_->Pseudonym(e.id);
      break;
    }
  }
  return out;
}

intake::WriteJob MappingWorker::MakeJob(
    std::shared_ptr<const Outcome> outcome) {
  return [this, outcome](store::WriteTxn& txn,
                         intake::AuditAppender& audit) -> absl::Status {
    const uint64_t seq = outcome->seq;
    const std::string key = store::EncodeU64BE(seq);
    ASSIGN_OR_RETURN(store::Dbi pipeline, store_->Db("pipeline"));
    ASSIGN_OR_RETURN(store::Dbi messages, store_->Db("messages"));
    ASSIGN_OR_RETURN(store::Dbi bundles, store_->Db("bundles"));
    pb::PipelineEntry entry;
    RETURN_IF_ERROR(GetProto(txn, pipeline, seq, &entry));
    if (entry.state() != pb::MESSAGE_STATE_PENDING) {
      return absl::AbortedError(
          absl::StrCat("message ", seq, " is no longer pending"));
    }
    pb::MessageMeta meta;
    RETURN_IF_ERROR(GetProto(txn, messages, seq, &meta));
    const pb::MessageState state =
        outcome->held ? pb::MESSAGE_STATE_HELD : pb::MESSAGE_STATE_MAPPED;
    const int64_t now = clock_->NowMicros();
    entry.set_state(state);
    entry.set_attempts(entry.attempts() + 1);
    entry.set_next_attempt_at_us(now);
    entry.set_terminology_version(outcome->terminology_version);
    meta.set_state(state);
    if (outcome->held) {
      entry.set_last_error(outcome->reason);
      ASSIGN_OR_RETURN(std::optional<std::string_view> old,
                       txn.Find(bundles, key));
      if (old.has_value()) RETURN_IF_ERROR(txn.Delete(bundles, key));
    } else {
      entry.clear_last_error();
      entry.set_order_key(outcome->order_key);
      std::string merged_bundle;
      if (outcome->patient_presence.set) {
        ASSIGN_OR_RETURN(merged_bundle, MergeWithStoredPatient(txn, *outcome));
      }
      const std::string& bundle =
          merged_bundle.empty() ? outcome->bundle : merged_bundle;
      ASSIGN_OR_RETURN(std::string sealed,
                       store_->keys()->Seal(bundle, intake::BundleAad(seq)));
      RETURN_IF_ERROR(txn.Put(bundles, key, sealed));
    }
    RETURN_IF_ERROR(txn.Put(pipeline, key, Serialize(entry)));
    RETURN_IF_ERROR(txn.Put(messages, key, Serialize(meta)));
    pb::AuditRecord r;
    r.set_time_us(now);
    r.set_type(outcome->held ? pb::AUDIT_MESSAGE_HELD
                             : pb::AUDIT_MESSAGE_MAPPED);
    r.set_outcome(outcome->held ? pb::AUDIT_OUTCOME_MINOR_FAILURE
                                : pb::AUDIT_OUTCOME_SUCCESS);
    r.set_actor(kActor);
    r.set_message_seq(seq);
    r.set_control_id(meta.control_id());
    r.set_message_sha256(meta.raw_sha256());
    const std::string type =
        meta.message_type().empty() ? "unknown" : meta.message_type();
    r.set_detail(TruncateDetail(
        outcome->held ? absl::StrCat(type, " held: ", outcome->reason)
                      : absl::StrCat(type, " mapped: ", outcome->summary)));
    return audit.Append(std::move(r));
  };
}

absl::StatusOr<std::string> MappingWorker::MergeWithStoredPatient(
    store::WriteTxn& txn, const Outcome& outcome) {
  ASSIGN_OR_RETURN(store::Dbi patients, store_->Db("patients"));
  // The Patient's pseudonym, made on the worker thread (MapOne): the Patient
  // entry's id is patient_presence.patient_id.
  const std::string& key = outcome.order_key;
  if (key.empty()) return absl::InternalError("ADT Bundle without a Patient entry");
  const std::string aad = absl::StrCat("patient/", crypto::ToHex(key));
  ASSIGN_OR_RETURN(std::string patient, ExtractPutPatient(outcome.bundle));
  std::string merged_bundle;
  ASSIGN_OR_RETURN(std::optional<std::string_view> stored, txn.Find(patients, key));
  if (stored.has_value()) {
    ASSIGN_OR_RETURN(std::string previous, store_->keys()->Open(*stored, aad));
    ASSIGN_OR_RETURN(std::string merged,
                     MergePatient(previous, patient, outcome.patient_presence));
    if (merged != patient) {
      ASSIGN_OR_RETURN(merged_bundle, ReplacePutPatient(outcome.bundle, merged));
      patient = std::move(merged);
    }
  }
  ASSIGN_OR_RETURN(std::string sealed, store_->keys()->Seal(patient, aad));
  RETURN_IF_ERROR(txn.Put(patients, key, sealed));
  return merged_bundle;  // Empty: the Bundle is used as mapped.
}

absl::Status MappingWorker::RemapHeld(uint64_t seq, const std::string& actor) {
  absl::Status s = store_->RunJob(
      [this, seq, actor](store::WriteTxn& txn,
                         intake::AuditAppender& audit) -> absl::Status {
        const std::string key = store::EncodeU64BE(seq);
        ASSIGN_OR_RETURN(store::Dbi pipeline, store_->Db("pipeline"));
        ASSIGN_OR_RETURN(store::Dbi messages, store_->Db("messages"));
        pb::PipelineEntry entry;
        RETURN_IF_ERROR(GetProto(txn, pipeline, seq, &entry));
        if (entry.state() != pb::MESSAGE_STATE_HELD) {
          return absl::FailedPreconditionError(
              absl::StrCat("message ", seq, " is ",
                           intake::StateName(entry.state()), ", not HELD"));
        }
        pb::MessageMeta meta;
        RETURN_IF_ERROR(GetProto(txn, messages, seq, &meta));
        const int64_t now = clock_->NowMicros();
        entry.set_state(pb::MESSAGE_STATE_PENDING);
        entry.set_next_attempt_at_us(now);
        meta.set_state(pb::MESSAGE_STATE_PENDING);
        RETURN_IF_ERROR(txn.Put(pipeline, key, Serialize(entry)));
        RETURN_IF_ERROR(txn.Put(messages, key, Serialize(meta)));
        pb::AuditRecord r;
        r.set_time_us(now);
        r.set_type(pb::AUDIT_MESSAGE_REQUEUED);
        r.set_outcome(pb::AUDIT_OUTCOME_SUCCESS);
        r.set_actor(actor);
        r.set_message_seq(seq);
        r.set_control_id(meta.control_id());
        r.set_message_sha256(meta.raw_sha256());
        r.set_detail("held message set back to PENDING to be mapped again");
        return audit.Append(std::move(r));
      });
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  rescan_from_ = std::min(rescan_from_, seq);
  wake_.store(true);
  idle_ = false;
  cv_.notify_all();
  return absl::OkStatus();
}

}  // namespace appliance::pipeline
