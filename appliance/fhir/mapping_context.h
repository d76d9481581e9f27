// Internal to the mappers: per-message state and the builders the message
// families share (codeable concepts, identifiers, Patient, Encounter, Bundle
// entries). Not a public API.
#ifndef APPLIANCE_FHIR_MAPPING_CONTEXT_H_
#define APPLIANCE_FHIR_MAPPING_CONTEXT_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "appliance/fhir/json_writer.h"
#include "appliance/fhir/mapper.h"
#include "appliance/fhir/terminology.h"
#include "appliance/hl7/delimiters.h"
#include "appliance/hl7/escape.h"
#include "appliance/hl7/message.h"

namespace appliance::fhir::internal {

inline constexpr char kV2_0203[] =
    "http://terminology.hl7.org/CodeSystem/v2-0203";
inline constexpr char kUnmappedTagSystem[] = "urn:hl7-appliance:tag";
inline constexpr char kUnmappedTagCode[] = "unmapped-code";

// A segment with its occurrence among segments of its name (for locations).
struct SegmentRef {
  hl7::Segment segment;
  int occurrence = 0;  // 0: absent.
  bool present() const { return occurrence > 0; }
};

struct Concept {
  std::vector<Coding> codings;
  std::string text;
  bool unmapped = false;  // Has local codes and no standard coding.
  bool empty() const { return codings.empty() && text.empty(); }
};

// What a patient's entry is keyed on.
struct PatientKey {
  std::string id;
  std::string system;  // Identifier system URI.
  std::string value;
};

struct EncounterKey {
  std::string id;
  std::string system;
  std::string value;
};

// Per-message state. Lives for one Map() call.
class Context {
 public:
  Context(const hl7::Message& message, const MapperOptions& options,
          const Terminology& terminology, MapResult* result);

  const hl7::Message& message() const { return message_; }
  const MapperOptions& options() const { return options_; }
  const Terminology& terminology() const { return terminology_; }
  const hl7::Delimiters& delimiters() const { return d_; }
  // MSH-4.1 (else MSH-3.1): scopes local codes and keys without authority.
  const std::string& facility() const { return facility_; }
  JsonWriter& w() { return writer_; }
  MapResult* result() { return result_; }

  std::string_view Comp(std::string_view v, size_t n) const {
    return hl7::Piece(v, d_.component, n);
  }
  std::string_view Sub(std::string_view v, size_t n) const {
    return hl7::Piece(v, d_.subcomponent, n);
  }
  std::string_view Rep(std::string_view v, size_t n) const {
    return hl7::Piece(v, d_.repetition, n);
  }
  size_t RepCount(std::string_view v) const {
    return hl7::PieceCount(v, d_.repetition);
  }
  // Decoded UTF-8 text of a raw value; the null value "" gives "".
  std::string Text(std::string_view raw) const;

  void AddFinding(FindingSeverity severity, hl7::Location location,
                  std::string code, std::string text);
  // Marks the message held (first reason wins).
  void Hold(const std::string& reason);

  // The deterministic id of a resource of `type` with business key `key`.
  std::string Id(std::string_view type, std::string_view key) const;

  // Date conversions; on a bad value add a finding and return false.
  bool DateTime(std::string_view dtm, const hl7::Location& loc,
                std::string* out);
  bool Instant(std::string_view dtm, const hl7::Location& loc,
               std::string* out);
  bool Date(std::string_view dt, const hl7::Location& loc, std::string* out);

  // A CE/CWE/CNE (components split by `sep`, normally the component
  // separator) as a concept, with terminology mapping. An unmapped local
  // code adds a finding (and holds under the strict policy).
  Concept MakeConcept(std::string_view raw, const hl7::Location& loc, char sep);
  Concept MakeConcept(std::string_view raw, const hl7::Location& loc) {
    return MakeConcept(raw, loc, d_.component);
  }

 private:
  const hl7::Message& message_;
  const MapperOptions& options_;
  const Terminology& terminology_;
  MapResult* result_;
  hl7::Delimiters d_;
  hl7::Charset charset_;
  std::string facility_;
  // The last successful DateTime() conversion (see there).
  std::string last_datetime_in_;
  std::string last_datetime_out_;
  JsonWriter writer_;
};

hl7::Location Loc(const char* segment, int occurrence, int field,
                  int repetition = 0, int component = 0);

// Collects segments by name for the families' first pass.
SegmentRef FindFirst(const hl7::Message& m, std::string_view name);

// `c`, or a concept with only the text "unknown" when `c` is empty (for
// required code elements).
const Concept& ConceptOrUnknown(const Concept& c);
void WriteConcept(JsonWriter& w, const Concept& c);
void WriteCoding(JsonWriter& w, const Coding& c);
// "urn:uuid:<id>": every reference points at an entry of the same Bundle.
void WriteReference(JsonWriter& w, std::string_view key, const std::string& id);
// meta.tag marking resources with unmapped local codes.
void WriteUnmappedTag(JsonWriter& w);
// A reference with only a display, from an XCN (id^family^given...).
void WritePractitionerDisplay(Context& c, std::string_view key,
                              std::string_view xcn);
// identifier entry (system, value, v2-0203 type code).
void WriteIdentifier(JsonWriter& w, const std::string& system,
                     const std::string& value, std::string_view type_code);
// Percent-encodes a search parameter value (keeps '|' ':' '/').
std::string QueryEscape(std::string_view s);

// Bundle scaffolding.
void BeginBundle(Context& c);
void EndBundle(Context& c);
// Writes {"fullUrl": ..., "resource": { "resourceType": type[, "id": id]
void BeginEntry(Context& c, const char* type, const std::string& id,
                bool write_id);
// Closes the resource and writes the request: PUT type/id.
void EndEntryPut(Context& c, const char* type, const std::string& id);
// Closes the resource and writes the request: POST type, ifNoneExist.
void EndEntryConditionalCreate(Context& c, const char* type,
                               const std::string& id,
                               const std::string& if_none_exist);

// Patient from PID. INVALID_ARGUMENT when PID-3 holds no identifier.
absl::StatusOr<PatientKey> MakePatientKey(Context& c, const SegmentRef& pid);
// Writes the Patient entry: a full PUT (ADT) or a conditional create
// (ORU/ORM: never overwrites what an ADT wrote).
void WritePatientEntry(Context& c, const SegmentRef& pid, const PatientKey& key,
                       bool conditional_create);

// Encounter from PV1-19; false when PV1 names no visit.
bool MakeEncounterKey(Context& c, const SegmentRef& pv1, EncounterKey* key);
// `status` is the FHIR Encounter.status to write.
void WriteEncounterEntry(Context& c, const SegmentRef& pv1,
                         const EncounterKey& key, const PatientKey& patient,
                         const char* status, bool conditional_create);

// Order number keys.
struct OrderKey {
  std::string key;  // Business key for ServiceRequest/DiagnosticReport ids.
  std::string placer_id, placer_ns, filler_id, filler_ns;
};
// From OBR (and its ORC, if any).
OrderKey MakeOrderKey(Context& c, const SegmentRef& orc, const SegmentRef& obr);

// ServiceRequest; `status` as FHIR, `notes` NTE segments after the OBR.
void WriteServiceRequestEntry(Context& c, const SegmentRef& orc,
                              const SegmentRef& obr, const OrderKey& order,
                              const std::string& id, const PatientKey& patient,
                              const EncounterKey* encounter, const char* status,
                              const std::vector<SegmentRef>& notes,
                              const std::vector<std::string>& specimen_ids);

// Specimen from SPM, keyed on SPM-2 (else the order key).
std::string SpecimenId(Context& c, const SegmentRef* spm,
                       const OrderKey& order);
void WriteSpecimenEntry(Context& c, const SegmentRef* spm,
                        const SegmentRef& obr, const std::string& id,
                        const PatientKey& patient,
                        const std::string& service_request_id);

// NTE segments -> "note": [{"text": ...}] (nothing when empty).
void WriteNotes(Context& c, const std::vector<SegmentRef>& notes);

// The message families.
absl::Status MapOru(Context& c);
absl::Status MapOrm(Context& c);
absl::Status MapAdt(Context& c, std::string_view event);

}  // namespace appliance::fhir::internal

#endif  // APPLIANCE_FHIR_MAPPING_CONTEXT_H_
