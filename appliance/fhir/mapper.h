// HL7 v2 -> FHIR R4 transaction Bundles.
//
// Mapper::Map turns one parsed message (ORU^R01, ORM^O01, ADT^A01/A08) into a
// transaction Bundle whose resource ids are deterministic (UUIDv5 of business
// keys, see docs/MAPPING.md), so a resend, a correction or a final result
// updates the same resources. Problems with single values (a number "1,5",
// an unknown status, an unmapped local code) never fail the call: they become
// findings, and the resource stays valid FHIR (dataAbsentReason, defaults).
// A finding of severity kError, or an unmapped code under the strict policy,
// sets MapResult::hold: the message should go to an operator rather than the
// EHR.
//
// A Mapper is thread-safe; it holds a terminology snapshot and, for it, a
// bounded cache of the coded elements it has written (internal::ConceptCache:
// analysers repeat the same codes in every message). The cache changes no
// output.
#ifndef APPLIANCE_FHIR_MAPPER_H_
#define APPLIANCE_FHIR_MAPPER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "appliance/fhir/terminology.h"
#include "appliance/hl7/message.h"

namespace appliance::fhir {

namespace internal {
class ConceptCache;
}  // namespace internal

// Which order number keys ServiceRequest and DiagnosticReport ids.
enum class OrderKeyPolicy {
  kFillerFirst,  // Filler order number, else placer (issue 5's rule).
  kPlacerFirst,  // Placer, else filler (links ORM orders to their results).
};

struct MapperOptions {
  // Zone for date/times sent without an offset. Set it from configuration
  // (LoadSiteTimeZone); UTC until then, never the host's zone.
  absl::TimeZone site_time_zone = absl::UTCTimeZone();
  UnmappedPolicy unmapped_policy = UnmappedPolicy::kKeepAndFlag;
  OrderKeyPolicy order_key = OrderKeyPolicy::kFillerFirst;
  // Used (with a warning) when OBR-25 / OBX-11 is missing or unknown.
  std::string default_report_status = "unknown";
  std::string default_observation_status = "unknown";
  // Indented JSON (golden files, humans) or one line (NDJSON, delivery).
  bool pretty = false;
};

enum class FindingSeverity { kError, kWarning, kInfo };

// "error", "warning" or "info".
const char* FindingSeverityName(FindingSeverity severity);

struct MappingFinding {
  FindingSeverity severity;
  hl7::Location location;
  std::string code;  // Stable machine code: "invalid-value", "unmapped-code"...
  // Plain words. Never holds patient data; may name a code and its system
  // (an operator needs them to add a mapping).
  std::string text;
};

// One Bundle entry, for callers and tests that need the ids.
struct MappedEntry {
  std::string resource_type;
  std::string id;
  std::string method;  // "PUT" or "POST" (conditional create).
};

// How a PID field behind a Patient element was sent (HL7 v2 null
// semantics: an empty field leaves the receiver's value unchanged, `""`
// deletes it).
enum class FieldPresence : uint8_t { kEmpty, kNull, kValued };

// ADT messages only (the Patient is written with PUT): the presence of the
// PID fields behind each Patient element group, so that the mapping stage can
// merge an update onto the last Patient it sent (pipeline/patient_merge.h).
struct PatientFieldPresence {
  bool set = false;        // False for ORU/ORM (conditional creates).
  std::string patient_id;  // The Patient resource id.
  FieldPresence name = FieldPresence::kEmpty;        // PID-5
  FieldPresence birth_date = FieldPresence::kEmpty;  // PID-7
  FieldPresence gender = FieldPresence::kEmpty;      // PID-8
  FieldPresence address = FieldPresence::kEmpty;     // PID-11
  FieldPresence telecom = FieldPresence::kEmpty;     // PID-13 and PID-14
  FieldPresence deceased = FieldPresence::kEmpty;    // PID-29 and PID-30
};

struct MapResult {
  std::string bundle;  // Bundle JSON.
  std::vector<MappingFinding> findings;
  std::vector<MappedEntry> entries;
  bool hold = false;        // Send to an operator, not to the EHR.
  std::string hold_reason;  // First reason, when `hold`.
  int64_t terminology_version = 0;
  PatientFieldPresence patient_presence;

  void Clear();
};

class Mapper {
 public:
  // `terminology` must not be null.
  Mapper(MapperOptions options, std::shared_ptr<const Terminology> terminology);

  // Maps `message` into `*result` (cleared first). Errors only when no Bundle
  // can be made: UNIMPLEMENTED for a message type without a mapping,
  // INVALID_ARGUMENT when there is no PID or no patient identifier.
  absl::Status Map(const hl7::Message& message, MapResult* result) const;

  const MapperOptions& options() const { return options_; }

 private:
  MapperOptions options_;
  std::shared_ptr<const Terminology> terminology_;
  // For terminology_; shared by copies of the Mapper (it is thread-safe).
  std::shared_ptr<internal::ConceptCache> concepts_;
};

}  // namespace appliance::fhir

#endif  // APPLIANCE_FHIR_MAPPER_H_
