// HL7 v2 TS/DTM/DT/TM values to FHIR date, dateTime, instant and time.
//
// Precision is kept: "2026" -> "2026", "202602" -> "2026-02",
// "20260214" -> "2026-02-14". A value with a time gets seconds padded
// ("202602141230" -> "2026-02-14T12:30:00+01:00"; FHIR requires seconds when a
// time is given) and, as FHIR requires, an offset: the value's own offset when
// it has one, otherwise the offset the configured site time zone had at that
// local time. The host's zone is never consulted. A local time that does not
// exist (skipped by a DST change) takes the offset in force before the change;
// an ambiguous one (repeated) takes the earlier instant.
#ifndef APPLIANCE_FHIR_DATETIME_H_
#define APPLIANCE_FHIR_DATETIME_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace appliance::fhir {

// Loads an IANA zone ("Europe/Zurich", "UTC") from the system zoneinfo.
// INVALID_ARGUMENT for an unknown name. The empty name is an error too: the
// site zone must be configured, never defaulted to the host's.
absl::StatusOr<absl::TimeZone> LoadSiteTimeZone(const std::string& name);

// DTM (or TS component 1) -> FHIR dateTime, precision kept as above.
absl::StatusOr<std::string> ToFhirDateTime(std::string_view dtm,
                                           const absl::TimeZone& site);

// DTM -> FHIR instant (always to the second with an offset). Values given to
// the day or finer are padded with zeros; coarser ones (year, month) are an
// error: an instant cannot be invented.
absl::StatusOr<std::string> ToFhirInstant(std::string_view dtm,
                                          const absl::TimeZone& site);

// DT or DTM -> FHIR date (any time part and offset are dropped).
absl::StatusOr<std::string> ToFhirDate(std::string_view dt);

// TM -> FHIR time (hh:mm:ss[.fff]); any offset is dropped (FHIR time has
// none).
absl::StatusOr<std::string> ToFhirTime(std::string_view tm);

}  // namespace appliance::fhir

#endif  // APPLIANCE_FHIR_DATETIME_H_
