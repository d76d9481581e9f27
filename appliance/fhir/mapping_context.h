// Internal to the mappers: per-message state and the builders the message
// families share (codeable concepts, identifiers, Patient, Encounter, Bundle
// entries). Not a public API.
#ifndef APPLIANCE_FHIR_MAPPING_CONTEXT_H_
#define APPLIANCE_FHIR_MAPPING_CONTEXT_H_

#include <forward_list>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "appliance/fhir/concept_cache.h"
#include "appliance/fhir/json_writer.h"
#include "appliance/fhir/mapper.h"
#include "appliance/fhir/terminology.h"
#include "appliance/hl7/delimiters.h"
#include "appliance/hl7/escape.h"
#include "appliance/hl7/message.h"

namespace appliance::fhir::internal {

inline constexpr char kV2_0203[] =
    "http://terminology.hl7.org/CodeSystem/v2-0203";
// meta.tag marking resources with unmapped local codes (JsonWriter::RawJson).
inline constexpr char kUnmappedTagJson[] =
    R"("meta":{"tag":[{"system":"urn:hl7-appliance:tag","code":)"
    R"("unmapped-code","display":"Contains a local code without )"
    R"(terminology mapping"}]})";

// A resource id (UUID text) held without an allocation.
class ResourceId {
 public:
  static constexpr size_t kSize = 36;  // kUuidTextSize.
  std::string_view view() const { return std::string_view(text_, kSize); }
  operator std::string_view() const { return view(); }
  char* data() { return text_; }

 private:
  char text_[kSize] = {};
};

// A segment with its occurrence among segments of its name (for locations).
struct SegmentRef {
  hl7::Segment segment;
  int occurrence = 0;  // 0: absent.
  bool present() const { return occurrence > 0; }
};

// A coding whose text is held elsewhere: in the message, in the Context's
// decoded text (see Context::TextView) or in the Terminology. It is valid for
// the Context's lifetime (one Map() call).
struct CodingView {
  std::string_view system;  // URI.
  std::string_view code;
  std::string_view display;  // May be empty.
};

// A CodeableConcept, valid for the Context's lifetime (see CodingView). Most
// have one or two codings: those stay inside the object.
struct Concept {
  absl::InlinedVector<CodingView, 2> codings;
  std::string_view text;
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

hl7::Location Loc(const char* segment, int occurrence, int field,
                  int repetition = 0, int component = 0);

// Where a value is, for a finding about it. An hl7::Location holds a
// std::string, and nearly every value makes no finding: on the hot paths the
// mappers pass this instead, and the Location is made only for a finding.
struct FieldRef {
  const char* segment;  // A constant ("OBX").
  int occurrence;
  int field;
  int repetition = 0;
  hl7::Location location() const {
    return Loc(segment, occurrence, field, repetition);
  }
};

// Per-message state. Lives for one Map() call.
class Context {
 public:
  // `concepts` (may be null: nothing cached) must be made for
  // `terminology`; both outlive the Context.
  Context(const hl7::Message& message, const MapperOptions& options,
          const Terminology& terminology, ConceptCache* concepts,
          MapResult* result);

  const hl7::Message& message() const { return message_; }
  const MapperOptions& options() const { return options_; }
  const Terminology& terminology() const { return terminology_; }
  const hl7::Delimiters& delimiters() const { return d_; }
  // MSH-4.1 (else MSH-3.1): scopes local codes and keys without authority.
  const std::string& facility() const { return facility_; }
  // Compact (see writer_).
  JsonWriter& w() { return writer_; }
  MapResult* result() { return result_; }
  // The compact Bundle written so far, when `options().pretty`.
  const std::string& compact_bundle() const { return compact_bundle_; }

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
  // Comp(v, 1), inline: date/times are read as the first component of a
  // field that nearly never has a second, and a byte loop over a short value
  // costs less than hl7::Piece's call to memchr.
  std::string_view FirstComp(std::string_view v) const {
    if (d_.component == '\0') return v;  // As hl7::Piece.
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == d_.component) return v.substr(0, i);
    }
    return v;
  }
  // Decoded UTF-8 text of a raw value; the null value "" gives "".
  std::string Text(std::string_view raw) const;
  // The same without a copy: a view of the message when the value needs no
  // decoding (plain ASCII, no escapes: nearly always), else of decoded text
  // kept by the Context. Valid for the Context's lifetime.
  std::string_view TextView(std::string_view raw);
  // True when `raw` needs no decoding (no escape, ASCII only): the TextView
  // of any of its pieces is then the piece itself ("" for the null value).
  // One check for a field instead of one per component.
  bool IsPlain(std::string_view raw) const;

  // Terminology::SystemUri / IsStandardSystem / AuthorityUri, remembered for
  // the message (a lab result names the same few systems and authorities
  // many times). Views valid for the Context's lifetime.
  std::string_view SystemUri(std::string_view name) { return System(name).uri; }
  bool IsStandardSystem(std::string_view name) { return System(name).standard; }
  std::string_view AuthorityUri(std::string_view authority);

  // Appends to MapResult::entries. The entries of the previous message are
  // still there when mapping starts (see Mapper::Map): they are overwritten
  // in order, keeping their strings' buffers, and TrimEntries() drops the
  // rest when mapping ends.
  void AddEntry(std::string_view type, std::string_view id,
                std::string_view method);
  void TrimEntries() { result_->entries.resize(entry_count_); }

  void AddFinding(FindingSeverity severity, hl7::Location location,
                  std::string code, std::string text);
  // Marks the message held (first reason wins).
  void Hold(const std::string& reason);

  // The deterministic id of a resource of `type` with business key `key`.
  std::string Id(std::string_view type, std::string_view key) const;
  // The same with the key given as consecutive parts (no concatenation),
  // held without an allocation.
  ResourceId IdOfParts(std::string_view type,
                       std::initializer_list<std::string_view> key_parts) const;

  // Date conversions; on a bad value add a finding and return false.
  bool DateTime(std::string_view dtm, const hl7::Location& loc,
                std::string* out);
  // The same without a copy: `*out` views the Context's last conversion and
  // is valid until the next DateTime()/DateTimeView() call.
  bool DateTimeView(std::string_view dtm, const FieldRef& where,
                    std::string_view* out);
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
  // MakeConcept, written: `*out` gets the compact JSON of
  // ConceptOrUnknown(concept) and its flags (its strings keep their
  // storage), and the same finding is made. Elements that need no decoding
  // come from the Mapper's ConceptCache when it has them.
  void RenderConcept(std::string_view raw, const FieldRef& where, char sep,
                     RenderedConcept* out);
  void RenderConcept(std::string_view raw, const FieldRef& where,
                     RenderedConcept* out) {
    RenderConcept(raw, where, d_.component, out);
  }

 private:
  const hl7::Message& message_;
  const MapperOptions& options_;
  const Terminology& terminology_;
  ConceptCache* concepts_;  // May be null; see the constructor.
  MapResult* result_;
  hl7::Delimiters d_;
  hl7::Charset charset_;
  std::string facility_;
  size_t entry_count_ = 0;  // Entries written (see AddEntry).
  // The last successful DateTime() conversion (see there).
  std::string last_datetime_in_;
  std::string last_datetime_out_;
  // DateTime() into last_datetime_out_; false (and no finding) when `dtm`
  // is not a date/time.
  bool ConvertDateTime(std::string_view dtm);
  // MakeConcept without the finding: its text goes to `*finding` (left
  // alone when there is none).
  Concept BuildConcept(std::string_view raw, char sep, std::string* finding);
  // Makes the finding of a concept (MakeConcept's), if any.
  void ReportConcept(std::string_view finding, const hl7::Location& loc);
  // Decoded text handed out by TextView. These caches are lists: elements
  // never move (views of them stay valid), and an empty list allocates
  // nothing (most messages decode no text at all).
  std::forward_list<std::string> decoded_;
  struct SystemEntry {
    std::string_view name;  // Valid for the message (see TextView).
    std::string uri;
    bool standard;
  };
  // The entry of a coding-system name (made on first use).
  const SystemEntry& System(std::string_view name);
  std::forward_list<SystemEntry> systems_;  // System() cache.
  struct AuthorityEntry {
    std::string authority;
    std::string uri;
  };
  std::forward_list<AuthorityEntry> authorities_;  // AuthorityUri() cache.
  // The writer is always compact, so that the builders can write fixed
  // structure directly (JsonWriter::Raw); with `options.pretty` it writes
  // here and EndBundle() indents the Bundle into the result. It writes over
  // the previous message's Bundle (JsonWriter::Overwrite, Mapper::Map).
  std::string compact_bundle_;
  JsonWriter writer_;
};

// Splits `raw` on `sep` into out[0, n): piece k+1 in out[k], pieces past
// the last one empty (as hl7::Piece, in one pass instead of one scan per
// piece). `sep` '\0' gives a single piece.
void SplitPieces(std::string_view raw, char sep, std::string_view* out,
                 size_t n);

// The members written by `write`, as compact JSON for JsonWriter::RawJson
// (for fragments written many times per message: references to the
// patient, the order...).
template <typename Fn>
std::string CompactMembers(Fn write) {
  std::string json;
  json.reserve(256);  // Fragments are short: one allocation.
  {
    JsonWriter w(&json);
    w.BeginObject();
    write(w);
    w.EndObject();
  }
  // The members are the object's text between its braces.
  json.pop_back();
  json.erase(0, 1);
  return json;
}

// Collects segments by name for the families' first pass.
SegmentRef FindFirst(const hl7::Message& m, std::string_view name);

// `c`, or a concept with only the text "unknown" when `c` is empty (for
// required code elements).
const Concept& ConceptOrUnknown(const Concept& c);
void WriteCoding(JsonWriter& w, const Coding& c);
void WriteCoding(JsonWriter& w, const CodingView& c);
// The same inside a JsonWriter raw run (JsonWriter::RawBegin), for
// templates that write a whole resource that way.
void AppendConcept(JsonWriter& w, const Concept& c);
void AppendCoding(JsonWriter& w, const CodingView& c);
// "urn:uuid:<id>": every reference points at an entry of the same Bundle.
void WriteReference(JsonWriter& w, std::string_view key, std::string_view id);
// meta.tag marking resources with unmapped local codes.
void WriteUnmappedTag(JsonWriter& w);
// A reference with only a display, from an XCN (id^family^given...).
void WritePractitionerDisplay(Context& c, std::string_view key,
                              std::string_view xcn);
// identifier entry (system, value, v2-0203 type code).
void WriteIdentifier(JsonWriter& w, std::string_view system,
                     std::string_view value, std::string_view type_code);
// Percent-encodes a search parameter value (keeps '|' ':' '/').
std::string QueryEscape(std::string_view s);

// Bundle scaffolding.
void BeginBundle(Context& c);
void EndBundle(Context& c);
// Writes {"fullUrl": ..., "resource": { "resourceType": type[, "id": id]
void BeginEntry(Context& c, std::string_view type, std::string_view id,
                bool write_id);
// Closes the resource and writes the request: PUT type/id.
void EndEntryPut(Context& c, std::string_view type, std::string_view id);
// The same two inside a raw run, for a builder that writes a whole entry in
// one run (JsonWriter::RawBegin(), then RawEnd() with no depth change).
void AppendEntryHead(JsonWriter& w, std::string_view type, std::string_view id,
                     bool write_id);
void AppendEntryPutEnd(Context& c, std::string_view type, std::string_view id);
// Closes the resource and writes the request: POST type, ifNoneExist.
void EndEntryConditionalCreate(Context& c, std::string_view type,
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

// NTE-3 as note text: decoded repetitions joined by newlines.
std::string NoteText(Context& c, const SegmentRef& nte);
// NTE segments -> "note": [{"text": ...}] (nothing when empty).
void WriteNotes(Context& c, const std::vector<SegmentRef>& notes);

// The message families.
absl::Status MapOru(Context& c);
absl::Status MapOrm(Context& c);
absl::Status MapAdt(Context& c, std::string_view event);

}  // namespace appliance::fhir::internal

#endif  // APPLIANCE_FHIR_MAPPING_CONTEXT_H_
