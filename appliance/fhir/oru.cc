// ORU^R01 -> Patient, Encounter, ServiceRequest, Specimen, DiagnosticReport
// and Observations. See docs/MAPPING.md.
#include <charconv>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/fhir/datetime.h"
#include "appliance/fhir/json_writer.h"
#include "appliance/fhir/mapping_context.h"
#include "appliance/hl7/datatypes.h"

namespace appliance::fhir::internal {
namespace {

// Debian's Abseil has its own absl::string_view (for absl::StrCat).
absl::string_view Av(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

constexpr char kInterpretationSystem[] =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
constexpr char kDataAbsentSystem[] =
    "http://terminology.hl7.org/CodeSystem/data-absent-reason";

// Observation.category, the same in every Observation: written as one
// fragment (JsonWriter::RawJson) instead of 13 tokens.
constexpr char kLaboratoryCategory[] =
    R"("category":[{"coding":[{"system":")"
    "http://terminology.hl7.org/CodeSystem/observation-category"
    R"(","code":"laboratory","display":"Laboratory"}]}])";

struct Obx {
  SegmentRef obx;
  std::vector<SegmentRef> notes;
  ResourceId id;
  // Decoded OBX-3.3, OBX-3.1 and OBX-4: with the order, the id's key.
  std::string_view system, code, sub_id;
};

struct Order {
  SegmentRef orc;
  SegmentRef obr;
  std::vector<SegmentRef> notes;  // NTE after OBR, before any OBX.
  std::vector<Obx> observations;
  std::vector<SegmentRef> specimens;
  size_t patient = 0;  // Index into the patient list.
  OrderKey key;
  std::string service_request_id;
  std::string report_id;
  std::vector<std::string> specimen_ids;
  std::string effective;      // OBR-7 as FHIR dateTime (empty when absent).
  std::string effective_end;  // OBR-8.
  std::string issued;         // OBR-22 as FHIR instant.
  // Members every result of the order repeats, as compact JSON (RawJson):
  // "basedOn" (the ServiceRequest) and "specimen" (the first Specimen).
  std::string based_on_json;
  std::string specimen_json;
};

struct PatientGroup {
  SegmentRef pid;
  SegmentRef pv1;
  PatientKey key;
  EncounterKey encounter;
  bool has_encounter = false;
  // "subject" (and "encounter") of the group's resources, as compact JSON.
  std::string context_json;
};

// OBX-11 -> Observation.status. nullptr when unknown.
const char* ObservationStatus(std::string_view s) {
  if (s == "F" || s == "U" || s == "N") return "final";
  if (s == "P" || s == "R" || s == "S") return "preliminary";
  if (s == "C") return "corrected";
  if (s == "A") return "amended";
  if (s == "D" || s == "W") return "entered-in-error";
  if (s == "X") return "cancelled";
  if (s == "I" || s == "O") return "registered";
  return nullptr;
}

// OBR-25 -> DiagnosticReport.status. nullptr when unknown.
const char* ReportStatus(std::string_view s) {
  if (s == "O" || s == "I" || s == "S") return "registered";
  if (s == "P") return "preliminary";
  if (s == "C") return "corrected";
  if (s == "R" || s == "A") return "partial";
  if (s == "F") return "final";
  if (s == "X") return "cancelled";
  return nullptr;
}

struct Interpretation {
  std::string_view code;  // A view: the lookup compares without strlen.
  const char* display;
};
constexpr Interpretation kInterpretations[] = {
    {"N", "Normal"},
    {"H", "High"},
    {"L", "Low"},
    {"HH", "Critical high"},
    {"LL", "Critical low"},
    {"A", "Abnormal"},
    {"AA", "Critical abnormal"},
    {"<", "Off scale low"},
    {">", "Off scale high"},
    {"HU", "Significantly high"},
    {"LU", "Significantly low"},
    {"I", "Intermediate"},
    {"R", "Resistant"},
    {"S", "Susceptible"},
    {"MS", "moderately susceptible"},
    {"VS", "very susceptible"},
    {"POS", "Positive"},
    {"NEG", "Negative"},
    {"IND", "Indeterminate"},
    {"DET", "Detected"},
    {"ND", "Not detected"},
    {"E", "Equivocal"},
    {"U", "Significant change up"},
    {"D", "Significant change down"},
    {"B", "Better"},
    {"W", "Worse"},
};

// The interpretation entry of an OBX-8 flag with a v3 equivalent, as compact
// JSON ({"coding":[{"system":...,"code":...,"display":...}]}); nullptr for
// other flags.
const std::string* InterpretationJson(std::string_view code) {
  static const std::vector<std::string>* const kJson = [] {
    auto* json = new std::vector<std::string>;
    for (const Interpretation& i : kInterpretations) {
      json->push_back(std::string());
      JsonWriter w(&json->back());
      w.BeginObject();
      w.ArrayMember("coding");
      w.BeginObject();
      w.Member("system", kInterpretationSystem);
      w.Member("code", i.code);
      w.Member("display", i.display);
      w.EndObject();
      w.EndArray();
      w.EndObject();
    }
    return json;
  }();
  for (size_t k = 0; k < std::size(kInterpretations); ++k) {
    if (code == kInterpretations[k].code) return &(*kJson)[k];
  }
  return nullptr;
}

// A quantity's unit: original text plus UCUM coding when known.
struct Unit {
  std::string_view text;
  std::string_view code;  // UCUM; empty when unmapped.
  // The unit's members of a Quantity ("unit", "system", "code") as compact
  // JSON (a result writes them up to three times: value, low, high); empty
  // when there is no unit.
  std::string json;
};

// The Observation is written as one JsonWriter raw run (a template): the
// Append* functions below write inside it, members with a leading comma
// (every member follows at least "resourceType", or "code" in a component).

// A Quantity; `value` is a normalised number (NormalizeDecimal).
void AppendQuantity(JsonWriter& w, std::string_view value, const Unit& unit,
                    std::string_view comparator) {
  w.Raw(R"({"value":)", value);
  if (!comparator.empty()) {
    w.RawString(R"(,"comparator":)", comparator);
  }
  if (unit.json.empty()) {
    w.Raw("}");
  } else {
    w.Raw(",", unit.json, "}");
  }
}

// ,"dataAbsentReason":{...} with a data-absent-reason code and display.
void AppendDataAbsent(JsonWriter& w, const char* code, const char* display) {
  w.Raw(R"(,"dataAbsentReason":{"coding":[{"system":")", kDataAbsentSystem,
        R"(","code":")", code, R"(","display":")", display, R"("}]})");
}

// One observation value, prepared before anything is written.
struct Value {
  enum Kind {
    kNone,
    kQuantity,
    kRange,
    kRatio,
    kString,
    kConcept,
    kDateTime,
    kTime,
    kInvalid
  };
  Kind kind = kNone;
  std::string a, b;             // Numbers (normalised), string, date/time.
  std::string_view comparator;  // kQuantity; a view of the message.
  Concept coded;                // kConcept.
};

// State the Observations of one message share, so that each result does not
// rebuild it.
struct ObservationScratch {
  // The unit of the last result, and its OBX-6, while it can be reused: a
  // unit with a UCUM code (an unmapped one makes a finding per result).
  Unit unit;
  std::string_view unit_raw;
  bool unit_reusable = false;
  // The referenceRange member of the last result and its OBX-7, while the
  // unit stays the same (a panel repeats both).
  std::string range_json;
  std::string_view range_raw;
  bool range_reusable = false;
  std::vector<Value> values;  // Cleared per result; keeps its storage.
  RenderedConcept code;       // OBX-3; keeps its storage.
};

class ObservationMapper {
 public:
  ObservationMapper(Context& c, const PatientGroup& patient, const Order& order,
                    const Obx& x, ObservationScratch& scratch)
      : c_(c),
        w_(c.w()),
        patient_(patient),
        order_(order),
        x_(x),
        s_(x.obx.segment),
        occ_(x.obx.occurrence),
        scratch_(scratch),
        unit_(scratch.unit) {}

  void Write();

 private:
  hl7::Location L(int field, int rep = 0) const {
    return Loc("OBX", occ_, field, rep);
  }
  // Sets unit_ (and unit_unmapped_) from OBX-6.
  void MakeUnit();
  // Fills `*v` (default-constructed) from one OBX-5 repetition.
  void Prepare(std::string_view type, std::string_view raw, int rep, Value* v);
  bool ParseNumber(std::string_view raw, std::string* out) const {
    return NormalizeDecimal(raw, out);
  }
  // Inside the Observation's raw run (see AppendQuantity).
  void AppendValue(const Value& v);
  // Appends the referenceRange member, reusing the last result's.
  void AppendReferenceRange();
  void AppendReferenceRangeTo(JsonWriter& w) const;
  void AppendInterpretation();
  void AppendNotes();

  Context& c_;
  JsonWriter& w_;
  const PatientGroup& patient_;
  const Order& order_;
  const Obx& x_;
  const hl7::Segment& s_;
  const int occ_;
  ObservationScratch& scratch_;
  Unit& unit_;  // scratch_.unit.
  bool unit_unmapped_ = false;
};

void ObservationMapper::MakeUnit() {
  const std::string_view ce = s_.field(6);
  if (scratch_.unit_reusable && ce == scratch_.unit_raw) return;
  scratch_.unit_raw = ce;
  scratch_.unit_reusable = false;
  scratch_.range_reusable = false;  // The range repeats the unit.
  unit_.text = std::string_view();
  unit_.code = std::string_view();
  unit_.json.clear();
  if (ce.empty() || hl7::IsNull(ce)) return;
  std::string_view parts[3];
  SplitPieces(ce, c_.delimiters().component, parts, 3);
  const std::string_view id = c_.TextView(parts[0]);
  const std::string_view text = c_.TextView(parts[1]);
  const std::string_view system = parts[2];
  unit_.text = id.empty() ? text : id;
  if (system == "UCUM" && !id.empty()) {
    unit_.code = id;
  } else if (const Coding* ucum =
                 c_.terminology().LookupUnit(id.empty() ? text : id)) {
    unit_.code = ucum->code;
  } else {
    unit_unmapped_ = true;
    const std::string msg = absl::StrCat(
        "unit \"", Av(unit_.text), "\" has no UCUM mapping; kept as text");
    c_.AddFinding(FindingSeverity::kWarning, L(6), "unmapped-unit", msg);
    if (c_.options().unmapped_policy == UnmappedPolicy::kHold) c_.Hold(msg);
  }
  unit_.json = CompactMembers([&](JsonWriter& w) {
    w.OptionalMember("unit", unit_.text);
    if (!unit_.code.empty()) {
      w.Member("system", kUcumUri);
      w.Member("code", unit_.code);
    }
  });
  scratch_.unit_reusable = !unit_unmapped_;
}

void ObservationMapper::Prepare(std::string_view type, std::string_view raw,
                                int rep, Value* v) {
  if (raw.empty() || hl7::IsNull(raw)) return;
  auto invalid = [&](const char* text) {
    c_.AddFinding(FindingSeverity::kError, L(5, rep), "invalid-value", text);
    v->kind = Value::kInvalid;
  };
  if (type == "NM") {
    if (!ParseNumber(raw, &v->a)) {
      return invalid("value is not a number (NM) this mapper can read");
    }
    v->kind = Value::kQuantity;
    return;
  }
  if (type == "SN") {
    // "^2^+" (a grade such as 2+): HL7 allows a suffix separator without a
    // second number; the engine's SN parser does not.
    if (c_.Comp(raw, 3) == "+" && c_.Comp(raw, 4).empty() &&
        c_.Comp(raw, 1).empty() &&
        hl7::PieceCount(raw, c_.delimiters().component) <= 4 &&
        ParseNumber(c_.Comp(raw, 2), &v->a)) {
      v->kind = Value::kString;
      v->a = absl::StrCat(std::string(c_.Comp(raw, 2)), "+");
      return;
    }
    auto sn = hl7::ParseStructuredNumeric(raw, c_.delimiters());
    if (!sn.ok()) return invalid("value is not a structured numeric (SN)");
    const std::string_view cmp = sn->comparator;
    if (sn->separator.empty() && sn->num2.empty()) {
      if (cmp == "<>") {
        return invalid("SN comparator <> has no FHIR equivalent");
      }
      if (!ParseNumber(sn->num1, &v->a)) {
        return invalid("SN value has no readable number");
      }
      v->kind = Value::kQuantity;
      if (cmp != "=") v->comparator = cmp;
      return;
    }
    if (!cmp.empty() && cmp != "=") {
      return invalid("SN with both comparator and separator");
    }
    if (!ParseNumber(sn->num1, &v->a) || !ParseNumber(sn->num2, &v->b)) {
      return invalid("SN range or ratio has an unreadable number");
    }
    if (sn->separator == "-") {
      v->kind = Value::kRange;
    } else if (sn->separator == ":" || sn->separator == "/") {
      v->kind = Value::kRatio;
    } else {
      return invalid("SN separator is not -, : or /");
    }
    return;
  }
  if (type == "NR") {
    const std::string_view lo = c_.Comp(raw, 1);
    const std::string_view hi = c_.Comp(raw, 2);
    if ((!lo.empty() && !ParseNumber(lo, &v->a)) ||
        (!hi.empty() && !ParseNumber(hi, &v->b)) ||
        (lo.empty() && hi.empty())) {
      return invalid("NR value has an unreadable number");
    }
    v->kind = Value::kRange;
    return;
  }
  if (type == "CE" || type == "CWE" || type == "CNE" || type == "CF") {
    v->coded = c_.MakeConcept(raw, L(5, rep));
    v->kind = v->coded.empty() ? Value::kNone : Value::kConcept;
    return;
  }
  if (type == "DT" || type == "DTM" || type == "TS") {
    if (!c_.DateTime(c_.Comp(raw, 1), L(5, rep), &v->a)) {
      c_.AddFinding(FindingSeverity::kError, L(5, rep), "invalid-value",
                    "value is not a valid date/time");
      v->kind = Value::kInvalid;
      return;
    }
    v->kind = Value::kDateTime;
    return;
  }
  if (type == "TM") {
    auto t = ToFhirTime(raw);
    if (!t.ok()) return invalid("value is not a valid time (TM)");
    v->a = *t;
    v->kind = Value::kTime;
    return;
  }
  if (type != "ST" && type != "TX" && type != "FT") {
    c_.AddFinding(
        FindingSeverity::kWarning, L(2), "unsupported-value-type",
        absl::StrCat("value type \"", c_.Text(type), "\" is mapped as text"));
  }
  v->a = c_.Text(raw);
  v->kind = v->a.empty() ? Value::kNone : Value::kString;
}

void ObservationMapper::AppendValue(const Value& v) {
  switch (v.kind) {
    case Value::kNone:
      return;
    case Value::kInvalid:
      AppendDataAbsent(w_, "error", "Error");
      return;
    case Value::kQuantity:
      w_.Raw(R"(,"valueQuantity":)");
      AppendQuantity(w_, v.a, unit_, v.comparator);
      return;
    case Value::kRange:
      w_.Raw(R"(,"valueRange":{)");
      if (!v.a.empty()) {
        w_.Raw(R"("low":)");
        AppendQuantity(w_, v.a, unit_, "");
      }
      if (!v.b.empty()) {
        w_.Raw(v.a.empty() ? R"("high":)" : R"(,"high":)");
        AppendQuantity(w_, v.b, unit_, "");
      }
      w_.Raw("}");
      return;
    case Value::kRatio:
      w_.Raw(R"(,"valueRatio":{"numerator":)");
      AppendQuantity(w_, v.a, Unit{}, "");
      w_.Raw(R"(,"denominator":)");
      AppendQuantity(w_, v.b, Unit{}, "");
      w_.Raw("}");
      return;
    case Value::kString:
      w_.RawString(R"(,"valueString":)", v.a);
      return;
    case Value::kConcept:
      w_.Raw(R"(,"valueCodeableConcept":)");
      AppendConcept(w_, v.coded);
      return;
    case Value::kDateTime:
      w_.RawString(R"(,"valueDateTime":)", v.a);
      return;
    case Value::kTime:
      w_.RawString(R"(,"valueTime":)", v.a);
      return;
  }
}

// OBX-7: "4.0-10.0", "-1.5--0.5", "<0.5", "<=5", ">5"; text otherwise.
void ObservationMapper::AppendReferenceRange() {
  const std::string_view raw = s_.field(7);
  if (!scratch_.range_reusable || raw != scratch_.range_raw) {
    // Made once as text for Raw() (by a writer of its own, so that the
    // same code could write it straight into the Bundle).
    scratch_.range_json.clear();
    JsonWriter w(&scratch_.range_json);
    w.RawBegin();
    AppendReferenceRangeTo(w);
    w.RawEnd();
    scratch_.range_raw = raw;
    scratch_.range_reusable = true;
  }
  w_.Raw(scratch_.range_json);
}

void ObservationMapper::AppendReferenceRangeTo(JsonWriter& w) const {
  const std::string_view text = c_.TextView(s_.field(7));
  if (text.empty()) return;
  std::string low;
  std::string high;
  bool keep_text = false;
  std::string_view t = text;
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  auto strip = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  if (!t.empty() && (t[0] == '<' || t[0] == '>')) {
    const bool less = t[0] == '<';
    t.remove_prefix(1);
    if (!t.empty() && t[0] == '=') t.remove_prefix(1);
    if (NormalizeDecimal(strip(t), less ? &high : &low)) keep_text = true;
  } else {
    // Split on the '-' that follows the first number (which may be negative).
    size_t start = (!t.empty() && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
    const size_t dash = t.find('-', start);
    if (dash != std::string_view::npos &&
        (!NormalizeDecimal(strip(t.substr(0, dash)), &low) ||
         !NormalizeDecimal(strip(t.substr(dash + 1)), &high))) {
      low.clear();
      high.clear();
    }
  }
  w.Raw(R"(,"referenceRange":[{)");
  if (!low.empty()) {
    w.Raw(R"("low":)");
    AppendQuantity(w, low, unit_, "");
  }
  if (!high.empty()) {
    w.Raw(low.empty() ? R"("high":)" : R"(,"high":)");
    AppendQuantity(w, high, unit_, "");
  }
  if ((low.empty() && high.empty()) || keep_text) {
    w.RawString(low.empty() && high.empty() ? R"("text":)" : R"(,"text":)",
                text);
  }
  w.Raw("}]");
}

void ObservationMapper::AppendInterpretation() {
  const std::string_view flags = s_.field(8);
  if (flags.empty() || hl7::IsNull(flags)) return;
  // Nearly always one plain flag ("H", "N"...) with a v3 equivalent: no
  // repetitions or components to split.
  if (flags.size() <= 3) {
    const hl7::Delimiters& d = c_.delimiters();
    bool simple = true;
    for (char ch : flags) {
      simple = simple && ch != d.repetition && ch != d.component &&
               ch != d.escape && static_cast<unsigned char>(ch) < 0x80;
    }
    if (simple) {
      if (const std::string* json = InterpretationJson(flags)) {
        w_.Raw(R"(,"interpretation":[)", *json, "]");
        return;
      }
    }
  }
  bool open = false;
  const size_t reps = c_.RepCount(flags);
  for (size_t r = 1; r <= reps; ++r) {
    const std::string_view code = c_.TextView(c_.Comp(c_.Rep(flags, r), 1));
    if (code.empty()) continue;
    w_.Raw(open ? "," : R"(,"interpretation":[)");
    open = true;
    if (const std::string* json = InterpretationJson(code)) {
      w_.Raw(*json);
      continue;
    }
    w_.Raw(R"({"coding":[{"system":")"
           "http://terminology.hl7.org/CodeSystem/v2-0078"
           R"(","code":)");
    w_.RawString(code);
    w_.Raw("}]}");
    c_.AddFinding(FindingSeverity::kWarning, L(8, static_cast<int>(r)),
                  "unmapped-interpretation",
                  absl::StrCat("abnormal flag \"", Av(code),
                               "\" has no v3 ObservationInterpretation "
                               "equivalent; kept as v2-0078"));
  }
  if (open) w_.Raw("]");
}

void ObservationMapper::AppendNotes() {
  bool open = false;
  for (const SegmentRef& nte : x_.notes) {
    const std::string text = NoteText(c_, nte);
    if (text.empty()) continue;
    w_.RawString(open ? R"(,{"text":)" : R"(,"note":[{"text":)", text);
    open = true;
    w_.Raw("}");
  }
  if (open) w_.Raw("]");
}

void ObservationMapper::Write() {
  const std::string_view type = s_.field(2);
  const std::string_view value_field = s_.field(5);
  RenderedConcept& code = scratch_.code;
  c_.RenderConcept(s_.field(3), FieldRef{"OBX", occ_, 3}, &code);
  // Status.
  const std::string_view status_code = s_.field(11);
  const char* status = ObservationStatus(status_code);
  // Our constants need no escaping; the configured default does.
  const bool status_plain = status != nullptr;
  if (status == nullptr) {
    c_.AddFinding(
        FindingSeverity::kWarning, L(11), "unmapped-status",
        status_code.empty()
            ? "observation result status (OBX-11) is missing; "
              "default used"
            : absl::StrCat("observation result status \"", c_.Text(status_code),
                           "\" is not a known code; default used"));
    status = c_.options().default_observation_status.c_str();
  }
  MakeUnit();
  // Values: X (cancelled) and N (not asked) carry none.
  std::vector<Value>& values = scratch_.values;
  values.clear();
  const bool no_value = status_code == "X" || status_code == "N";
  if (!no_value && !value_field.empty() && !hl7::IsNull(value_field)) {
    const size_t reps = c_.RepCount(value_field);
    const bool text_type = type == "ST" || type == "TX" || type == "FT";
    if (text_type && reps > 1) {
      // Repeated text lines form one string.
      Value& v = values.emplace_back();
      for (size_t r = 1; r <= reps; ++r) {
        if (r > 1) v.a += "\n";
        v.a += c_.TextView(c_.Rep(value_field, r));
      }
      v.kind = Value::kString;
    } else {
      if (type.empty()) {
        c_.AddFinding(FindingSeverity::kWarning, L(2), "missing-value-type",
                      "value type (OBX-2) is missing; value mapped as text");
      }
      for (size_t r = 1; r <= reps; ++r) {
        Prepare(type.empty() ? "ST" : type,
                reps == 1 ? value_field : c_.Rep(value_field, r),
                static_cast<int>(r), &values.emplace_back());
      }
    }
  }
  bool unmapped = code.unmapped || unit_unmapped_;
  for (const Value& v : values) unmapped = unmapped || v.coded.unmapped;

  if (code.empty) {
    c_.AddFinding(FindingSeverity::kError, L(3), "missing-code",
                  "observation identifier (OBX-3) is missing");
  }
  std::string_view effective = order_.effective;
  const std::string_view obx14 = c_.FirstComp(s_.field(14));
  if (!obx14.empty() && !hl7::IsNull(obx14)) {
    // A view of the Context's last conversion, valid until the next one:
    // it is written below, before anything else converts a date/time.
    c_.DateTimeView(obx14, FieldRef{"OBX", occ_, 14}, &effective);
  }
  // The whole entry is one raw run (see AppendQuantity).
  w_.RawBegin();
  AppendEntryHead(w_, "Observation", x_.id, true);
  if (unmapped) w_.Raw(",", kUnmappedTagJson);
  w_.Raw(",", order_.based_on_json);
  if (status_plain) {
    w_.Raw(R"(,"status":")", status, "\"");
  } else {
    w_.RawString(R"(,"status":)", status);
  }
  // Dates and times are our own output: no escaping needed.
  const bool has_effective = !effective.empty();
  const bool has_issued = !order_.issued.empty();
  w_.Raw(",", kLaboratoryCategory, R"(,"code":)", code.json, ",",
         patient_.context_json,
         has_effective ? R"(,"effectiveDateTime":")" : "", effective,
         has_effective ? "\"" : "", has_issued ? R"(,"issued":")" : "",
         order_.issued, has_issued ? "\"" : "");
  // value[x] / dataAbsentReason / components.
  if (status_code == "X") {
    AppendDataAbsent(w_, "not-performed", "Not Performed");
  } else if (status_code == "N") {
    AppendDataAbsent(w_, "not-asked", "Not Asked");
  } else if (values.size() == 1) {
    AppendValue(values[0]);
    if (values[0].kind == Value::kNone) {
      AppendDataAbsent(w_, "unknown", "Unknown");
    }
  } else if (values.empty() && status_code != "D" && status_code != "W") {
    AppendDataAbsent(w_, "unknown", "Unknown");
  }
  AppendInterpretation();
  AppendNotes();
  if (!order_.specimen_json.empty()) w_.Raw(",", order_.specimen_json);
  AppendReferenceRange();
  if (values.size() > 1) {
    w_.Raw(R"(,"component":[)");
    for (size_t k = 0; k < values.size(); ++k) {
      w_.Raw(k == 0 ? R"({"code":)" : R"(,{"code":)", code.json);
      AppendValue(values[k]);
      if (values[k].kind == Value::kNone) {
        AppendDataAbsent(w_, "unknown", "Unknown");
      }
      w_.Raw("}");
    }
    w_.Raw("]");
  }
  AppendEntryPutEnd(c_, "Observation", x_.id);
  w_.RawEnd();
}

}  // namespace

namespace {

void WriteReport(Context& c, const PatientGroup& patient, const Order& o) {
  JsonWriter& w = c.w();
  const hl7::Segment& obr = o.obr.segment;
  RenderedConcept code;
  c.RenderConcept(obr.field(4), FieldRef{"OBR", o.obr.occurrence, 4}, &code);
  const std::string_view status_code = obr.field(25);
  const char* status = ReportStatus(status_code);
  if (status == nullptr) {
    c.AddFinding(FindingSeverity::kWarning, Loc("OBR", o.obr.occurrence, 25),
                 "unmapped-status",
                 status_code.empty()
                     ? "result status (OBR-25) is missing; default used"
                     : absl::StrCat("result status \"", c.Text(status_code),
                                    "\" is not a known code; default used"));
    status = c.options().default_report_status.c_str();
  }
  BeginEntry(c, "DiagnosticReport", o.report_id, true);
  if (code.unmapped) WriteUnmappedTag(w);
  w.RawJson(o.based_on_json);
  w.Member("status", status);
  // category: OBR-24 diagnostic service section (HL7 table 0074), else LAB.
  {
    std::string_view section = c.TextView(obr.field(24));
    if (section.empty()) section = "LAB";
    w.ArrayMember("category");
    w.BeginObject();
    w.ArrayMember("coding");
    w.BeginObject();
    w.Member("system", "http://terminology.hl7.org/CodeSystem/v2-0074");
    w.Member("code", section);
    w.EndObject();
    w.EndArray();
    w.EndObject();
    w.EndArray();
  }
  w.Key("code");
  w.RawJson(code.json);
  w.RawJson(patient.context_json);
  if (!o.effective_end.empty()) {
    w.ObjectMember("effectivePeriod");
    w.OptionalMember("start", o.effective);
    w.Member("end", o.effective_end);
    w.EndObject();
  } else {
    w.OptionalMember("effectiveDateTime", o.effective);
  }
  w.OptionalMember("issued", o.issued);
  if (!o.specimen_ids.empty()) {
    w.ArrayMember("specimen");
    for (const std::string& id : o.specimen_ids) {
      w.BeginObject();
      w.MemberOfParts("reference", {"urn:uuid:", id});
      w.EndObject();
    }
    w.EndArray();
  }
  if (!o.observations.empty()) {
    w.RawBegin();
    w.Raw(R"("result":[)");
    for (size_t k = 0; k < o.observations.size(); ++k) {
      w.Raw(k == 0 ? "" : ",", R"({"reference":"urn:uuid:)",
            o.observations[k].id, "\"}");
    }
    w.Raw("]");
    w.RawEnd();
  }
  EndEntryPut(c, "DiagnosticReport", o.report_id);
}

// a == b without a call to memcmp for texts up to 16 bytes (codes, coding
// systems): an order compares each result's code with every earlier one's.
// Two overlapping loads from each side cover sizes 4 to 16.
bool SameText(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8 && n <= 16) {
    uint64_t x[2], y[2];
    memcpy(&x[0], p, 8);
    memcpy(&x[1], p + n - 8, 8);
    memcpy(&y[0], q, 8);
    memcpy(&y[1], q + n - 8, 8);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
  }
  if (n >= 4 && n < 8) {
    uint32_t x[2], y[2];
    memcpy(&x[0], p, 4);
    memcpy(&x[1], p + n - 4, 4);
    memcpy(&y[0], q, 4);
    memcpy(&y[1], q + n - 4, 4);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
  }
  if (n < 4) {
    for (size_t i = 0; i < n; ++i) {
      if (p[i] != q[i]) return false;
    }
    return true;
  }
  return memcmp(p, q, n) == 0;
}

// name == tag for a three-letter segment tag, without a call to memcmp (the
// segment loop tests every segment against several tags).
bool IsSegment(std::string_view name, const char (&tag)[4]) {
  return name.size() == 3 && name[0] == tag[0] && name[1] == tag[1] &&
         name[2] == tag[2];
}

// Occurrence numbers of segments by name (for locations such as OBX[3]).
// A message has a handful of segment names: a short list beats a hash map.
// Names are compared by their hl7::SegmentCode (precomputed by the parser),
// which tells three-character names apart; only other names (which share
// codes by length) are compared as text.
class SegmentCounter {
 public:
  SegmentCounter() { counts_.reserve(8); }  // Room for a message's names.

  // Counts one more segment named `name` (whose code is `code`) and returns
  // its occurrence.
  int Next(uint32_t code, std::string_view name) {
    constexpr uint32_t kNotThreeCharacters = 0x80000000u;
    for (Count& c : counts_) {
      if (c.code == code &&
          ((code & kNotThreeCharacters) == 0 || c.name == name)) {
        return ++c.count;
      }
    }
    counts_.push_back(Count{code, name, 1});
    return 1;
  }

 private:
  struct Count {
    uint32_t code;
    std::string_view name;
    int count;
  };
  std::vector<Count> counts_;
};

// ServiceRequest.status from the report status: the order is done once the
// report is final (or corrected/amended), revoked when cancelled.
const char* OrderStatusFromReport(std::string_view obr25) {
  if (obr25 == "F" || obr25 == "C") return "completed";
  if (obr25 == "X") return "revoked";
  return "active";
}

}  // namespace

absl::Status MapOru(Context& c) {
  const hl7::Message& m = c.message();
  std::vector<PatientGroup> patients;
  std::vector<Order> orders;
  SegmentCounter counts;
  SegmentRef pending_orc;
  Obx* last_obx = nullptr;
  Order* current = nullptr;
  for (size_t i = 1; i < m.segment_count(); ++i) {
    const hl7::Segment s = m.segment(i);
    const std::string_view name = s.name();
    const int occ = counts.Next(m.segment_code(i), name);
    const SegmentRef ref{s, occ};
    if (IsSegment(name, "PID")) {
      PatientGroup& p = patients.emplace_back();
      p.pid = ref;
      current = nullptr;
      last_obx = nullptr;
    } else if (IsSegment(name, "PV1") && !patients.empty() &&
               !patients.back().pv1.present()) {
      patients.back().pv1 = ref;
    } else if (IsSegment(name, "ORC")) {
      pending_orc = ref;
    } else if (IsSegment(name, "OBR")) {
      if (patients.empty()) {
        return absl::InvalidArgumentError("OBR before any PID segment");
      }
      Order o;
      o.orc = pending_orc;
      o.obr = ref;
      o.patient = patients.size() - 1;
      orders.push_back(std::move(o));
      pending_orc = SegmentRef();
      current = &orders.back();
      last_obx = nullptr;
    } else if (IsSegment(name, "OBX")) {
      if (current == nullptr) {
        c.AddFinding(FindingSeverity::kError, Loc("OBX", occ, 0),
                     "orphan-observation",
                     "OBX without a preceding OBR; not mapped");
        last_obx = nullptr;
        continue;
      }
      if (current->observations.empty()) {
        // The order's results follow: room for all of them at once (an Obx
        // is costly to move, and a panel has tens).
        constexpr uint32_t kObx = hl7::SegmentCode("OBX");
        constexpr uint32_t kObr = hl7::SegmentCode("OBR");
        constexpr uint32_t kPid = hl7::SegmentCode("PID");
        size_t count = 0;
        for (size_t j = i; j < m.segment_count(); ++j) {
          const uint32_t code = m.segment_code(j);
          if (code == kObr || code == kPid) break;
          count += code == kObx;
        }
        current->observations.reserve(count);
      }
      current->observations.emplace_back().obx = ref;
      last_obx = &current->observations.back();
    } else if (IsSegment(name, "NTE")) {
      if (last_obx != nullptr) {
        last_obx->notes.push_back(ref);
      } else if (current != nullptr) {
        current->notes.push_back(ref);
      }
    } else if (IsSegment(name, "SPM")) {
      if (current != nullptr) current->specimens.push_back(ref);
      last_obx = nullptr;  // OBX after SPM: still the order's observations.
    }
  }
  if (patients.empty()) return absl::InvalidArgumentError("message has no PID");
  if (orders.empty()) {
    c.AddFinding(FindingSeverity::kError, Loc("OBR", 1, 0), "missing-order",
                 "ORU without an OBR: no results to map");
  }

  // Keys and ids first: reports list their observations, observations name
  // their specimen.
  for (PatientGroup& p : patients) {
    ASSIGN_OR_RETURN(p.key, MakePatientKey(c, p.pid));
    p.has_encounter = MakeEncounterKey(c, p.pv1, &p.encounter);
    // As WriteReference would write them (ids are hex: nothing to escape),
    // in one allocation.
    p.context_json = absl::StrCat(
        R"("subject":{"reference":"urn:uuid:)", p.key.id, R"("})",
        p.has_encounter ? R"(,"encounter":{"reference":"urn:uuid:)" : "",
        p.has_encounter ? p.encounter.id : "", p.has_encounter ? R"("})" : "");
  }
  for (Order& o : orders) {
    o.key = MakeOrderKey(c, o.orc, o.obr);
    o.service_request_id = c.Id("ServiceRequest", o.key.key);
    o.report_id = c.Id("DiagnosticReport", o.key.key);
    o.based_on_json = absl::StrCat(R"("basedOn":[{"reference":"urn:uuid:)",
                                   o.service_request_id, R"("}])");
    if (o.specimens.empty()) {
      o.specimen_ids.push_back(SpecimenId(c, nullptr, o.key));
    } else {
      for (const SegmentRef& spm : o.specimens) {
        o.specimen_ids.push_back(SpecimenId(c, &spm, o.key));
      }
    }
    o.specimen_json = absl::StrCat(R"("specimen":{"reference":"urn:uuid:)",
                                   o.specimen_ids[0], R"("})");
    const hl7::Segment& obr = o.obr.segment;
    const std::string_view obr7 = c.FirstComp(obr.field(7));
    if (!obr7.empty() && !hl7::IsNull(obr7)) {
      c.DateTime(obr7, Loc("OBR", o.obr.occurrence, 7), &o.effective);
    }
    const std::string_view obr8 = c.FirstComp(obr.field(8));
    if (!obr8.empty() && !hl7::IsNull(obr8)) {
      c.DateTime(obr8, Loc("OBR", o.obr.occurrence, 8), &o.effective_end);
    }
    const std::string_view obr22 = c.FirstComp(obr.field(22));
    if (!obr22.empty() && !hl7::IsNull(obr22)) {
      c.Instant(obr22, Loc("OBR", o.obr.occurrence, 22), &o.issued);
    }
    // Observation key: order + OBX-3 + OBX-4 + position among identical.
    for (size_t k = 0; k < o.observations.size(); ++k) {
      Obx& x = o.observations[k];
      const hl7::Segment& obx = x.obx.segment;
      std::string_view obx3[3];
      SplitPieces(obx.field(3), c.delimiters().component, obx3, 3);
      if (c.IsPlain(obx.field(3))) {
        x.system = hl7::IsNull(obx3[2]) ? std::string_view() : obx3[2];
        x.code = hl7::IsNull(obx3[0]) ? std::string_view() : obx3[0];
      } else {
        x.system = c.TextView(obx3[2]);
        x.code = c.TextView(obx3[0]);
      }
      x.sub_id = c.TextView(obx.field(4));
      // An order has tens of results: counting the earlier ones with the
      // same code costs less than a hash map of keys.
      int position = 1;
      for (size_t e = 0; e < k; ++e) {
        const Obx& earlier = o.observations[e];
        if (SameText(earlier.code, x.code) &&
            SameText(earlier.system, x.system) &&
            SameText(earlier.sub_id, x.sub_id)) {
          ++position;
        }
      }
      char digits[16];
      const std::to_chars_result end =
          std::to_chars(digits, digits + sizeof(digits), position);
      x.id = c.IdOfParts("Observation",
                         {o.key.key, "|", x.system, "|", x.code, "|", x.sub_id,
                          "|", std::string_view(digits, end.ptr - digits)});
    }
  }

  ObservationScratch scratch;
  BeginBundle(c);
  for (size_t pi = 0; pi < patients.size(); ++pi) {
    const PatientGroup& p = patients[pi];
    WritePatientEntry(c, p.pid, p.key, /*conditional_create=*/true);
    if (p.has_encounter) {
      WriteEncounterEntry(c, p.pv1, p.encounter, p.key, "unknown",
                          /*conditional_create=*/true);
    }
    for (const Order& o : orders) {
      if (o.patient != pi) continue;
      WriteServiceRequestEntry(c, o.orc, o.obr, o.key, o.service_request_id,
                               p.key, p.has_encounter ? &p.encounter : nullptr,
                               OrderStatusFromReport(o.obr.segment.field(25)),
                               o.notes, o.specimen_ids);
      if (o.specimens.empty()) {
        WriteSpecimenEntry(c, nullptr, o.obr, o.specimen_ids[0], p.key,
                           o.service_request_id);
      } else {
        for (size_t k = 0; k < o.specimens.size(); ++k) {
          WriteSpecimenEntry(c, &o.specimens[k], o.obr, o.specimen_ids[k],
                             p.key, o.service_request_id);
        }
      }
      WriteReport(c, p, o);
      for (const Obx& x : o.observations) {
        ObservationMapper(c, p, o, x, scratch).Write();
      }
    }
  }
  EndBundle(c);
  return absl::OkStatus();
}

}  // namespace appliance::fhir::internal
