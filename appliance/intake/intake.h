// The intake: turns each received frame into a stored message and its ACK.
//
// For every frame: parse + validate + decide (hl7::Engine, on the calling I/O
// thread, a few microseconds), hand the message to the MessageStore's group
// commit, and only when the commit holding it returned, answer with the ACK:
// the engine's code, or for a repeat the code the first copy got. If the store
// cannot commit (disk full, I/O error, map at its cap), the answer is an AE
// saying so — never a positive ACK for a message that is not on disk.
//
// No sockets here: the MLLP server adapter calls OnMessage()/OnOversized().
#ifndef APPLIANCE_INTAKE_INTAKE_H_
#define APPLIANCE_INTAKE_INTAKE_H_

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "appliance/audit/rate_limited.h"
#include "appliance/base/clock.h"
#include "appliance/hl7/engine.h"
#include "appliance/intake/message_store.h"

namespace appliance::intake {

struct PeerContext {
  std::string address;      // "ip:port".
  std::string tls_subject;  // Client certificate subject, if any.
};

// `ack` is the unframed ACK ("" = send nothing: MSH-15 asked for none);
// `close` asks the server to close the connection after writing it.
using AckCallback = std::function<void(std::string ack, bool close)>;

// Sees every answered frame, for metrics. Called on the store's writer
// thread right before the ACK is released: must be cheap and never block.
class IntakeObserver {
 public:
  virtual ~IntakeObserver() = default;
  // `type`: "ORU^R01" ("" when MSH could not be parsed); `code`: the ACK
  // code sent; `stored`: false when the store could not commit (then `code`
  // is the AE sent instead); `processing_ns`: parse + validate + ACK build
  // on the I/O thread; `ack_latency_ns`: frame handed to the intake -> ACK
  // released (includes waiting for and committing the group).
  virtual void OnAnswered(std::string_view type, hl7::AckCode code,
                          bool duplicate, bool stored, bool oversized,
                          int64_t processing_ns, int64_t ack_latency_ns) = 0;
};

struct IntakeOptions {
  hl7::ValidationPolicy policy;
  hl7::ParseOptions parse;
  std::string ack_application = "HL7APPLIANCE";
  std::string ack_facility;
  size_t max_frame_bytes = 1 << 20;  // For the oversized-frame message.
  // Not owned; null or outlives the Intake.
  IntakeObserver* observer = nullptr;
  // Called after each new accepted message (AA/CA, not a repeat) committed,
  // on the store's writer thread right before its ACK is released: must be
  // cheap and never block (e.g. MappingWorker::Notify).
  std::function<void()> on_accepted;
};

struct IntakeStats {
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> duplicates{0};
  std::atomic<uint64_t> store_failures{0};
  std::atomic<uint64_t> oversized{0};
};

class Intake {
 public:
  // `store` and `clock` must outlive the Intake.
  Intake(MessageStore* store, const Clock* clock, IntakeOptions options);

  // Thread-safe. `done` runs once, on the store's writer thread.
  void OnMessage(const PeerContext& peer, std::string payload,
                 AckCallback done);
  // A frame over the size limit: `prefix` is its beginning. Stored as
  // rejected, answered AR when MSH is readable, and the connection closed.
  void OnOversized(const PeerContext& peer, std::string prefix,
                   AckCallback done);

  // A TLS handshake on the MLLP port failed: audited (AUDIT_TLS_REFUSED,
  // actor = peer address, detail = reason) through the store's writer,
  // asynchronously and rate-limited (audit/rate_limited.h).
  void OnTlsRefused(const PeerContext& peer, const std::string& reason);

  const IntakeStats& stats() const { return stats_; }

 private:
  struct Work;
  void Submit(std::shared_ptr<Work> work, const PeerContext& peer,
              bool oversized);
  std::string NextAckControlId();
  void Observe(const Work& work, std::string_view type, hl7::AckCode code,
               bool duplicate, bool stored, bool oversized) const;

  MessageStore* const store_;  // Not owned.
  const Clock* const clock_;   // Not owned.
  const IntakeOptions options_;
  const hl7::Engine engine_;
  const std::string ack_id_prefix_;
  std::atomic<uint64_t> ack_counter_{0};
  audit::RateLimitedAuditor security_audit_;
  IntakeStats stats_;
};

// An HL7 DTM in UTC for `micros` since the epoch: "20260101120000+0000".
std::string Hl7Timestamp(int64_t micros);

}  // namespace appliance::intake

#endif  // APPLIANCE_INTAKE_INTAKE_H_
