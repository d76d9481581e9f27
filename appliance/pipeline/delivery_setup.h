// Builds the delivery stage's destination and options from the daemon's
// configuration (DeliveryConfig in api/config/v1/config.proto).
#ifndef APPLIANCE_PIPELINE_DELIVERY_SETUP_H_
#define APPLIANCE_PIPELINE_DELIVERY_SETUP_H_

#include <memory>

#include "absl/status/statusor.h"
#include "api/config/v1/config.pb.h"
#include "appliance/base/clock.h"
#include "appliance/pipeline/delivery_worker.h"
#include "appliance/pipeline/destination.h"

namespace appliance::pipeline {

// The FHIR REST destination when `ehr_url` is set, else the file sink in
// `file_sink_dir`. Errors name the setting (unreadable secret file, ...).
absl::StatusOr<std::unique_ptr<Destination>> MakeDestination(
    const ::hl7appliance::config::v1::DeliveryConfig& config, const Clock* clock);

DeliveryWorkerOptions DeliveryOptionsFromConfig(
    const ::hl7appliance::config::v1::DeliveryConfig& config);

}  // namespace appliance::pipeline

#endif  // APPLIANCE_PIPELINE_DELIVERY_SETUP_H_
