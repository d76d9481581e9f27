// The mapping stage: turns accepted messages into stored FHIR Bundles.
//
// A MappingWorker thread takes the pipeline entries in state PENDING in
// sequence order, decrypts each payload, maps it with fhir::Mapper and hands
// the result to the store's writer thread as one write job, which in ONE
// transaction either
//   - stores the Bundle JSON sealed under the current data key (`bundles`,
//     AAD "bundle/<seq>"), sets the pipeline entry and the MessageMeta to
//     MAPPED and appends an AUDIT_MESSAGE_MAPPED record, or
//   - sets both to HELD with the reason in PipelineEntry.last_error (no PHI:
//     codes, systems, locations) and appends an AUDIT_MESSAGE_HELD record,
// so a crash leaves a message either PENDING or fully mapped/held. On start
// the worker resumes every PENDING entry; a job that failed to commit (disk
// full...) leaves its entry PENDING and is retried after a back-off.
//
// ADT messages (Patient written with PUT) are merged, in the same job, onto
// the last Patient the stage stored for that patient (sub-database
// `patients`, sealed), so that a PID field sent empty keeps its value and
// `""` removes it (pipeline/patient_merge.h); the merged Patient becomes the
// new stored one.
//
// Held when: the payload does not parse, the mapper cannot make a Bundle
// (unsupported type, no patient identifier), or the mapper asks for a hold
// (an error finding, an unmapped code under the strict policy).
#ifndef APPLIANCE_PIPELINE_MAPPING_WORKER_H_
#define APPLIANCE_PIPELINE_MAPPING_WORKER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "appliance/base/clock.h"
#include "appliance/fhir/mapper.h"
#include "appliance/fhir/terminology.h"
#include "appliance/hl7/message.h"
#include "appliance/intake/message_store.h"

namespace appliance::pipeline {

struct MappingWorkerOptions {
  // Mapper settings (site time zone, unmapped-code policy, order keys). The
  // Bundles are stored compact unless `pretty` is set.
  fhir::MapperOptions mapper;
  // Parsing of stored payloads (as the intake parsed them).
  hl7::ParseOptions parse;
  // Entries mapped per round (their jobs commit as one group).
  size_t batch_size = 64;
  // How often the store is scanned for new PENDING entries without a
  // Notify(), and the back-off after a failed commit.
  absl::Duration poll_interval = absl::Milliseconds(200);
  // Called on the worker thread after a round committed Bundles, with the
  // lowest seq it mapped (wakes the delivery stage).
  std::function<void(uint64_t first_seq)> on_mapped;
};

struct MappingWorkerStats {
  std::atomic<uint64_t> mapped{0};
  std::atomic<uint64_t> held{0};
  std::atomic<uint64_t> commit_failures{0};
  std::atomic<uint64_t> rounds{0};
};

class MappingWorker {
 public:
  // `store` and `clock` must outlive the worker; `terminology` must not be
  // null.
  MappingWorker(intake::MessageStore* store, const Clock* clock,
                std::shared_ptr<const fhir::Terminology> terminology,
                MappingWorkerOptions options);
  MappingWorker(const MappingWorker&) = delete;
  MappingWorker& operator=(const MappingWorker&) = delete;
  ~MappingWorker();  // Stop().

  // Starts the thread, which first resumes every PENDING entry.
  void Start();
  // Finishes the current round (its jobs commit or fail) and joins the
  // thread. Call before stopping the store. Idempotent.
  void Stop();

  // Wakes the thread (e.g. after the intake accepted a message). Cheap
  // enough to call per message from the store's writer thread: an atomic
  // flag, and the mutex only when the thread is waiting.
  void Notify();

  // Replaces the terminology snapshot used for the next messages.
  void SetTerminology(std::shared_ptr<const fhir::Terminology> terminology);

  // Sets a HELD message back to PENDING (audited) so that it is mapped again
  // with the current terminology, and wakes the thread. Blocks until that
  // change committed. NOT_FOUND without a pipeline entry, FAILED_PRECONDITION
  // when the message is not HELD.
  absl::Status RemapHeld(uint64_t seq, const std::string& actor = "operator");

  // True when the last round found nothing PENDING and nothing was requested
  // since (for tests and the drain on shutdown).
  bool idle() const;
  // Waits until idle() or `timeout`; returns idle().
  bool WaitIdle(absl::Duration timeout);

  const MappingWorkerStats& stats() const { return stats_; }

 private:
  // The outcome of mapping one message, handed to its write job.
  struct Outcome {
    uint64_t seq = 0;
    bool held = false;
    std::string reason;   // When held: no PHI.
    std::string bundle;   // When mapped: PHI.
    std::string summary;  // Audit detail: type, entries, terminology version.
    std::string order_key;  // Pseudonym of the Patient id (delivery order).
    // ADT: how the PID fields were sent, for the merge onto the last Patient
    // sent (pipeline/patient_merge.h).
    fhir::PatientFieldPresence patient_presence;
    int64_t terminology_version = 0;
  };

  void Loop();
  // Maps up to batch_size PENDING entries from scan_from_; returns how many
  // were found, or an error when the store could not be read.
  absl::StatusOr<size_t> Round();
  Outcome MapOne(const intake::pb::PipelineEntry& entry,
                 const fhir::Mapper& mapper, int64_t terminology_version);
  intake::WriteJob MakeJob(std::shared_ptr<const Outcome> outcome);
  // Inside a mapping job: merges the ADT Patient of `outcome` onto the stored
  // one and stores the result; returns the Bundle with the merged Patient, or
  // "" when the mapped Bundle stands as it is.
  absl::StatusOr<std::string> MergeWithStoredPatient(store::WriteTxn& txn,
                                                     const Outcome& outcome);

  intake::MessageStore* const store_;  // Not owned.
  const Clock* const clock_;           // Not owned.
  const MappingWorkerOptions options_;
  MappingWorkerStats stats_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const fhir::Terminology> terminology_;  // Guarded by mu_.
  // The mapper of the last round, kept while the terminology stays the same:
  // its cache of rendered coded fields (fhir/concept_cache.h) then serves
  // every round, not just one batch. Worker thread only.
  std::unique_ptr<fhir::Mapper> mapper_;
  std::shared_ptr<const fhir::Terminology> mapper_terminology_;
  // Lowest seq possibly PENDING, as of the last round. Worker thread only.
  uint64_t scan_from_ = 1;
  // Lowest seq RemapHeld() set back to PENDING since the last round started.
  uint64_t rescan_from_ =
      std::numeric_limits<uint64_t>::max();  // Guarded by mu_.
  // A round is requested. Set without mu_ by Notify(); consumed under mu_.
  std::atomic<bool> wake_{true};
  // The thread is (about to be) waiting on cv_: Notify() must signal it.
  std::atomic<bool> waiting_{false};
  bool idle_ = false;                        // Guarded by mu_.
  bool stopping_ = false;                    // Guarded by mu_.
  std::thread thread_;
};

}  // namespace appliance::pipeline

#endif  // APPLIANCE_PIPELINE_MAPPING_WORKER_H_
