// The FHIR REST destination: POSTs each Bundle as a FHIR R4 transaction to
// the EHR's base URL with libcurl.
//
// - HTTPS with the system's CAs or a CA file, optional client certificate
//   (mutual TLS), bearer or basic credentials read from secret files at
//   start (never from the command line, never logged).
// - Connect and total timeouts; connections are kept alive and reused (one
//   curl handle per concurrent delivery, taken from a pool).
// - The answer is checked entry by entry: delivered only when the EHR
//   answered 2xx with a transaction-response Bundle that has one 2xx entry per
//   request entry.
//
// Classification of failures:
//   retry:     no connection, TLS failure, timeout, reset; 408, 429, 5xx; also
//              401/403 and 3xx, which mean the appliance's credentials or URL
//              are wrong, not the message (an operator fixes the setting;
//              the breaker keeps the appliance from hammering the EHR); a 2xx
//              whose body is not a matching transaction-response (it is not
//              known what was stored; the writes are idempotent).
//   permanent: any other 4xx (the EHR refused this Bundle; its
//              OperationOutcome is kept), or a 2xx response with a non-2xx
//              entry.
#ifndef APPLIANCE_PIPELINE_FHIR_REST_DESTINATION_H_
#define APPLIANCE_PIPELINE_FHIR_REST_DESTINATION_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "appliance/pipeline/destination.h"

namespace appliance::pipeline {

struct FhirRestOptions {
  std::string base_url;  // "https://ehr/fhir/R4" (a trailing '/' is ignored).
  std::string ca_file;   // Empty: the system's CA store.
  std::string client_cert_file;
  std::string client_key_file;
  std::string bearer_token_file;
  std::string basic_auth_file;  // "user:password".
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration request_timeout = absl::Seconds(30);
  // Largest answer body kept (OperationOutcome); longer ones are cut.
  size_t max_body_bytes = 1 << 20;
};

class FhirRestDestination final : public Destination {
 public:
  // Reads the secret files. INVALID_ARGUMENT for a bad URL, an unreadable or
  // empty secret file (the message names the file, never its content).
  static absl::StatusOr<std::unique_ptr<FhirRestDestination>> Create(
      FhirRestOptions options);
  ~FhirRestDestination() override;

  AttemptResult Deliver(uint64_t seq, std::string_view bundle) override;
  std::string name() const override { return "fhir:" + base_url_; }

 private:
  explicit FhirRestDestination(FhirRestOptions options);
  void* TakeHandle();            // CURL*, from the pool or new.
  void ReturnHandle(void* curl);

  const FhirRestOptions options_;
  std::string base_url_;       // Without the trailing '/'.
  std::string authorization_;  // "Authorization: ..." header, or empty.
  std::string basic_auth_;     // "user:password", or empty.
  std::mutex mu_;
  std::vector<void*> idle_handles_;  // Guarded by mu_.
};

// Classifies an HTTP answer to a transaction POST whose Bundle had
// `request_entries` entries (exposed for tests).
AttemptResult ClassifyResponse(int http_status, std::string_view body,
                               size_t request_entries);

// Parses a Retry-After value: delta-seconds or an HTTP-date (relative to
// `now`). nullopt when malformed.
std::optional<absl::Duration> ParseRetryAfter(std::string_view value,
                                              absl::Time now);

}  // namespace appliance::pipeline

#endif  // APPLIANCE_PIPELINE_FHIR_REST_DESTINATION_H_
