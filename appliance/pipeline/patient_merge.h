// Merging an ADT Patient onto the last Patient the appliance sent for the
// same patient, so that HL7's null semantics survive a FHIR PUT (which
// replaces the whole resource): a PID field sent empty leaves the element
// as it was, `""` removes it, a value replaces it (docs/MAPPING.md).
//
// Element groups (and the PID fields behind them): name (5), birthDate (7),
// gender (8), address (11), telecom (13 and 14 together: an A08 that sends
// either replaces both), deceased[x] (29 and 30). identifier (PID-3) always
// comes from the message: it keys the Patient. A value the mapper left out
// with a warning counts as empty (the stored one is kept).
#ifndef APPLIANCE_PIPELINE_PATIENT_MERGE_H_
#define APPLIANCE_PIPELINE_PATIENT_MERGE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "appliance/fhir/mapper.h"

namespace appliance::pipeline {

// The merged Patient JSON. INVALID_ARGUMENT when either input is not a JSON
// object.
absl::StatusOr<std::string> MergePatient(std::string_view stored,
                                         std::string_view update,
                                         const fhir::PatientFieldPresence& presence);

// The Patient resource of the Bundle's `PUT Patient/<id>` entry.
// NOT_FOUND when there is none.
absl::StatusOr<std::string> ExtractPutPatient(std::string_view bundle);

// `bundle` with that entry's resource replaced by `patient`.
absl::StatusOr<std::string> ReplacePutPatient(std::string_view bundle,
                                              std::string_view patient);

}  // namespace appliance::pipeline

#endif  // APPLIANCE_PIPELINE_PATIENT_MERGE_H_
