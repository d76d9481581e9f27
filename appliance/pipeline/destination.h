// Where mapped Bundles go: the interface of the delivery stage's destinations
// (FHIR REST, file sink) and the result of one attempt.
#ifndef APPLIANCE_PIPELINE_DESTINATION_H_
#define APPLIANCE_PIPELINE_DESTINATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace appliance::pipeline {

// What the delivery stage does next with a message after an attempt.
enum class Disposition {
  kDelivered,  // The destination stored the Bundle.
  kRetry,      // Transient (network, timeout, 408, 429, 5xx...): try again.
  kPermanent,  // The destination refused this Bundle (4xx): dead letter.
};

const char* DispositionName(Disposition d);  // "delivered", "retry", ...

struct AttemptResult {
  Disposition disposition = Disposition::kRetry;
  // HTTP status of the answer; 0 when there was none (connection refused,
  // timeout, file sink).
  int http_status = 0;
  // Short description for the pipeline entry, logs and the audit trail. Never
  // PHI: status codes, error classes, entry positions.
  std::string error;
  // The destination's OperationOutcome (or other body) of a failed attempt.
  // May quote the Bundle, so it is PHI: stored only sealed.
  std::string outcome;
  // The destination asked to wait this long (Retry-After).
  std::optional<absl::Duration> retry_after;
  absl::Duration latency;
};

class Destination {
 public:
  virtual ~Destination() = default;
  // Delivers Bundle JSON of message `seq`. Thread-safe: the delivery stage
  // calls it from several threads at once (different messages). Must not
  // throw and must return within the destination's own timeouts.
  virtual AttemptResult Deliver(uint64_t seq, std::string_view bundle) = 0;
  // "fhir:https://ehr/fhir/R4" or "file:/var/out" (no credentials).
  virtual std::string name() const = 0;
};

}  // namespace appliance::pipeline

#endif  // APPLIANCE_PIPELINE_DESTINATION_H_
