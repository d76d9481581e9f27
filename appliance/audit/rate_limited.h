// Audit records for events an outsider can trigger at will (refused TLS
// handshakes, refused credentials): written through the store's writer
// asynchronously, at most `per_second` records a second; the next record
// written says how many were left out, so a scanner can neither flood the
// trail nor hide in it.
#ifndef APPLIANCE_AUDIT_RATE_LIMITED_H_
#define APPLIANCE_AUDIT_RATE_LIMITED_H_

#include <cstdint>
#include <mutex>
#include <string>

#include "api/store/v1/records.pb.h"
#include "appliance/base/clock.h"
#include "appliance/intake/message_store.h"

namespace appliance::audit {

// Admits at most `per_second` events a calendar second and counts the rest,
// so that the next admitted record can say how many were left out.
// Thread-safe.
class AuditRateLimit {
 public:
  explicit AuditRateLimit(int per_second) : per_second_(per_second) {}

  // Whether the event at `now_us` is recorded one by one; if so,
  // `*left_out` is how many were not since the last one that was.
  bool Admit(int64_t now_us, uint64_t* left_out);
  uint64_t suppressed_total() const;

 private:
  const int per_second_;
  mutable std::mutex mu_;
  int64_t second_ = 0;             // Guarded by mu_.
  int this_second_ = 0;            // Guarded by mu_.
  uint64_t suppressed_ = 0;        // Since the last admitted; guarded by mu_.
  uint64_t suppressed_total_ = 0;  // Guarded by mu_.
};

// " (N more not recorded one by one)" for N > 0, else "".
std::string LeftOutNote(uint64_t left_out);

class RateLimitedAuditor {
 public:
  // `store` and `clock` must outlive the auditor.
  RateLimitedAuditor(intake::MessageStore* store, const Clock* clock,
                     int per_second = 20)
      : store_(store), clock_(clock), limit_(per_second) {}

  // Thread-safe, never blocks on the disk. `detail` must hold no PHI; it is
  // cut to 200 characters.
  void Record(::hl7appliance::store::v1::AuditEventType type,
              ::hl7appliance::store::v1::AuditOutcome outcome,
              const std::string& actor, std::string detail);

  uint64_t suppressed_total() const { return limit_.suppressed_total(); }

 private:
  intake::MessageStore* const store_;
  const Clock* const clock_;
  AuditRateLimit limit_;
};

}  // namespace appliance::audit

#endif  // APPLIANCE_AUDIT_RATE_LIMITED_H_
