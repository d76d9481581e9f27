#include "appliance/pipeline/delivery_setup.h"

#include "appliance/pipeline/fhir_rest_destination.h"
#include "appliance/pipeline/file_sink.h"

namespace appliance::pipeline {

absl::StatusOr<std::unique_ptr<Destination>> MakeDestination(
    const ::hl7appliance::config::v1::DeliveryConfig& c, const Clock* clock) {
  if (c.ehr_url().empty()) {
    FileSinkOptions o;
    o.dir = c.file_sink_dir();
    if (c.file_sink_rotate_bytes() > 0) o.rotate_bytes = c.file_sink_rotate_bytes();
    auto sink = FileSink::Open(o, clock);
    if (!sink.ok()) return sink.status();
    return std::unique_ptr<Destination>(std::move(*sink));
  }
  FhirRestOptions o;
  o.base_url = c.ehr_url();
  o.ca_file = c.ca_file();
  o.client_cert_file = c.client_cert_file();
  o.client_key_file = c.client_key_file();
  o.bearer_token_file = c.bearer_token_file();
  o.basic_auth_file = c.basic_auth_file();
  if (c.connect_timeout_ms() > 0) {
    o.connect_timeout = absl::Milliseconds(c.connect_timeout_ms());
  }
  if (c.request_timeout_ms() > 0) {
    o.request_timeout = absl::Milliseconds(c.request_timeout_ms());
  }
  auto rest = FhirRestDestination::Create(o);
  if (!rest.ok()) return rest.status();
  return std::unique_ptr<Destination>(std::move(*rest));
}

DeliveryWorkerOptions DeliveryOptionsFromConfig(
    const ::hl7appliance::config::v1::DeliveryConfig& c) {
  DeliveryWorkerOptions o;
  o.concurrency = c.concurrency();
  o.retry.initial_backoff = absl::Milliseconds(c.initial_backoff_ms());
  o.retry.multiplier = c.backoff_multiplier();
  o.retry.max_backoff = absl::Milliseconds(c.max_backoff_ms());
  o.retry.max_attempts = c.max_attempts();
  o.retry.max_age = absl::Seconds(c.max_age_s());
  o.breaker_failures = c.breaker_failures();
  o.breaker_cooldown = absl::Milliseconds(c.breaker_cooldown_ms());
  return o;
}

}  // namespace appliance::pipeline
