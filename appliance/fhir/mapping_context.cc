#include "appliance/fhir/mapping_context.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "appliance/fhir/datetime.h"
#include "appliance/fhir/uuid.h"

namespace appliance::fhir::internal {
hl7::Location Loc(const char* segment, int occurrence, int field,
                  int repetition, int component) {
  hl7::Location l;
  l.segment = segment;
  l.occurrence = occurrence;
  l.field = field;
  l.repetition = repetition;
  l.component = component;
  return l;
}

void SplitPieces(std::string_view raw, char sep, std::string_view* out,
                 size_t n) {
  // One pass over the bytes: values are short, and a call to memchr per
  // piece (std::string_view::find) costs more than the loop.
  size_t k = 0;
  if (!raw.empty() && n > 0) {
    const char* begin = raw.data();
    const char* const end = raw.data() + raw.size();
    for (const char* p = begin; p != end; ++p) {
      if (*p != sep || sep == '\0') continue;
      out[k++] = std::string_view(begin, static_cast<size_t>(p - begin));
      begin = p + 1;
      if (k == n) break;
    }
    if (k < n) {
      out[k++] = std::string_view(begin, static_cast<size_t>(end - begin));
    }
  }
  for (; k < n; ++k) out[k] = std::string_view();
}

SegmentRef FindFirst(const hl7::Message& m, std::string_view name) {
  SegmentRef r;
  if (m.FindSegment(name, 1, &r.segment)) r.occurrence = 1;
  return r;
}

Context::Context(const hl7::Message& message, const MapperOptions& options,
                 const Terminology& terminology, ConceptCache* concepts,
                 MapResult* result)
    : message_(message),
      options_(options),
      terminology_(terminology),
      concepts_(concepts),
      result_(result),
      d_(message.delimiters()),
      charset_(hl7::CharsetOf(message.charset())),
      writer_(options.pretty ? &compact_bundle_ : &result->bundle,
              JsonWriter::Overwrite()) {
  facility_ = Text(hl7::Piece(message.msh(4), d_.component, 1));
  if (facility_.empty()) {
    facility_ = Text(hl7::Piece(message.msh(3), d_.component, 1));
  }
}

std::string Context::Text(std::string_view raw) const {
  if (raw.empty() || hl7::IsNull(raw)) return std::string();
  // NeedsUnescape is true for escapes and for any byte >= 0x80.
  if (!hl7::NeedsUnescape(raw, d_)) return std::string(raw);
  return hl7::Unescape(raw, d_, charset_);
}

namespace {

// hl7::NeedsUnescape (an escape character or a byte >= 0x80), 8 bytes at a
// time: TextView runs it on nearly every value the mappers read.
bool NeedsDecoding(std::string_view s, char escape) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  const uint64_t escapes = kOnes * static_cast<unsigned char>(escape);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t x;
    memcpy(&x, s.data() + i, 8);
    const uint64_t e = x ^ escapes;  // Zero bytes where x has the escape.
    if (((x | ((e - kOnes) & ~e)) & kHighs) != 0) return true;
  }
  for (; i < s.size(); ++i) {
    if (s[i] == escape || static_cast<unsigned char>(s[i]) >= 0x80) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool Context::IsPlain(std::string_view raw) const {
  return !NeedsDecoding(raw, d_.escape);
}

std::string_view Context::TextView(std::string_view raw) {
  if (raw.empty() || hl7::IsNull(raw)) return std::string_view();
  if (!NeedsDecoding(raw, d_.escape)) return raw;
  return decoded_.emplace_front(hl7::Unescape(raw, d_, charset_));
}

const Context::SystemEntry& Context::System(std::string_view name) {
  for (const SystemEntry& e : systems_) {
    if (e.name == name) return e;
  }
  return systems_.emplace_front(
      SystemEntry{name, terminology_.SystemUri(name, facility_),
                  terminology_.IsStandardSystem(name)});
}

std::string_view Context::AuthorityUri(std::string_view authority) {
  for (const AuthorityEntry& e : authorities_) {
    if (e.authority == authority) return e.uri;
  }
  return authorities_
      .emplace_front(AuthorityEntry{std::string(authority),
                                    terminology_.AuthorityUri(authority)})
      .uri;
}

void Context::AddEntry(std::string_view type, std::string_view id,
                       std::string_view method) {
  std::vector<MappedEntry>& entries = result_->entries;
  if (entry_count_ == entries.size()) entries.emplace_back();
  MappedEntry& e = entries[entry_count_++];
  // The strings usually held the same kind of entry in the previous message:
  // a text of the same size is copied over (std::string::assign is a general
  // replace, several times the cost).
  auto set = [](std::string& s, std::string_view v) {
    if (s.size() == v.size()) {
      if (!v.empty()) memcpy(s.data(), v.data(), v.size());
    } else {
      s.assign(v.data(), v.size());
    }
  };
  set(e.resource_type, type);
  set(e.id, id);
  set(e.method, method);
}

void Context::AddFinding(FindingSeverity severity, hl7::Location location,
                         std::string code, std::string text) {
  for (const MappingFinding& f : result_->findings) {
    if (f.code == code && f.location == location && f.text == text) return;
  }
  if (severity == FindingSeverity::kError) Hold(text);
  result_->findings.push_back(
      {severity, std::move(location), std::move(code), std::move(text)});
}

void Context::Hold(const std::string& reason) {
  if (!result_->hold) result_->hold_reason = reason;
  result_->hold = true;
}

std::string Context::Id(std::string_view type, std::string_view key) const {
  return FormatUuid(Uuid5(kFhirIdNamespace, {type, "|", key}));
}

ResourceId Context::IdOfParts(
    std::string_view type,
    std::initializer_list<std::string_view> key_parts) const {
  static_assert(ResourceId::kSize == kUuidTextSize);
  // The name "<type>|<parts...>", as Id(type, concatenated parts). The
  // callers pass a handful of parts (a plain array: GCC's -O1 warns about
  // absl::InlinedVector here, which breaks the sanitizer builds).
  std::string_view name[16];
  if (key_parts.size() + 2 > std::size(name)) std::abort();  // A caller bug.
  name[0] = type;
  name[1] = "|";
  std::copy(key_parts.begin(), key_parts.end(), name + 2);
  ResourceId id;
  FormatUuidTo(Uuid5(kFhirIdNamespace, name, key_parts.size() + 2), id.data());
  return id;
}

bool Context::ConvertDateTime(std::string_view dtm) {
  // Lab messages repeat one time stamp many times (OBR-7 and the OBX-14 of
  // every result), and the conversion depends only on the text and the
  // options: the last result is kept and reused.
  if (!last_datetime_in_.empty() && dtm == last_datetime_in_) return true;
  auto r = ToFhirDateTime(dtm, options_.site_time_zone);
  if (!r.ok()) return false;
  last_datetime_out_ = std::move(*r);
  last_datetime_in_.assign(dtm.data(), dtm.size());
  return true;
}

bool Context::DateTime(std::string_view dtm, const hl7::Location& loc,
                       std::string* out) {
  if (!ConvertDateTime(dtm)) {
    AddFinding(FindingSeverity::kWarning, loc, "invalid-datetime",
               "not a valid HL7 date/time; left out");
    return false;
  }
  *out = last_datetime_out_;
  return true;
}

bool Context::DateTimeView(std::string_view dtm, const FieldRef& where,
                           std::string_view* out) {
  if (!ConvertDateTime(dtm)) {
    AddFinding(FindingSeverity::kWarning, where.location(), "invalid-datetime",
               "not a valid HL7 date/time; left out");
    return false;
  }
  *out = last_datetime_out_;
  return true;
}

bool Context::Instant(std::string_view dtm, const hl7::Location& loc,
                      std::string* out) {
  auto r = ToFhirInstant(dtm, options_.site_time_zone);
  if (!r.ok()) {
    AddFinding(FindingSeverity::kWarning, loc, "invalid-datetime",
               "not a valid HL7 date/time to the day or finer; left out");
    return false;
  }
  *out = std::move(*r);
  return true;
}

bool Context::Date(std::string_view dt, const hl7::Location& loc,
                   std::string* out) {
  auto r = ToFhirDate(dt);
  if (!r.ok()) {
    AddFinding(FindingSeverity::kWarning, loc, "invalid-date",
               "not a valid HL7 date; left out");
    return false;
  }
  *out = std::move(*r);
  return true;
}

Concept Context::MakeConcept(std::string_view raw, const hl7::Location& loc,
                             char sep) {
  std::string finding;
  Concept c = BuildConcept(raw, sep, &finding);
  ReportConcept(finding, loc);
  return c;
}

void Context::ReportConcept(std::string_view finding,
                            const hl7::Location& loc) {
  if (finding.empty()) return;
  AddFinding(FindingSeverity::kWarning, loc, "unmapped-code",
             std::string(finding));
  if (options_.unmapped_policy == UnmappedPolicy::kHold) {
    Hold(std::string(finding));
  }
}

void Context::RenderConcept(std::string_view raw, const FieldRef& where,
                            char sep, RenderedConcept* out) {
  // The key: separator, facility (with its length, so that the two parts
  // cannot run into each other) and the raw field; only for fields that
  // need no decoding (see ConceptCache).
  char key[ConceptCache::kMaxKeySize];
  size_t key_size = 0;
  const size_t facility_size = facility_.size();
  const bool cacheable =
      concepts_ != nullptr &&
      2 + sizeof(facility_size) + facility_size + raw.size() <= sizeof(key) &&
      !NeedsDecoding(raw, d_.escape);
  if (cacheable) {
    key[key_size++] = sep;
    memcpy(key + key_size, &facility_size, sizeof(facility_size));
    key_size += sizeof(facility_size);
    memcpy(key + key_size, facility_.data(), facility_size);
    key_size += facility_size;
    memcpy(key + key_size, raw.data(), raw.size());
    key_size += raw.size();
    if (concepts_->Lookup(std::string_view(key, key_size), out)) {
      if (!out->finding.empty()) ReportConcept(out->finding, where.location());
      return;
    }
  }
  out->finding.clear();
  const Concept c = BuildConcept(raw, sep, &out->finding);
  out->json.clear();
  {
    JsonWriter w(&out->json);
    w.RawBegin();
    AppendConcept(w, ConceptOrUnknown(c));
    w.RawEnd();
  }
  out->empty = c.empty();
  out->unmapped = c.unmapped;
  if (cacheable) concepts_->Insert(std::string_view(key, key_size), *out);
  if (!out->finding.empty()) ReportConcept(out->finding, where.location());
}

Concept Context::BuildConcept(std::string_view raw, char sep,
                              std::string* finding) {
  Concept c;
  if (raw.empty() || hl7::IsNull(raw)) return c;
  // CWE: code ^ display ^ system ^ alternate code ^ display ^ system ^
  // system version ^ alternate version ^ original text.
  std::string_view parts[9];
  SplitPieces(raw, sep, parts, 9);
  // Nearly every field is plain text: one check for the whole field instead
  // of one per component (TextView).
  const bool plain = !NeedsDecoding(raw, d_.escape);
  auto decoded = [&](std::string_view piece) {
    if (!plain) return TextView(piece);
    return hl7::IsNull(piece) ? std::string_view() : piece;
  };
  // Mapped and standard codings go first, then the local ones; each list
  // without (system, code) duplicates. At most two triplets (CWE 1-3, 4-6).
  CodingView local[2];
  size_t local_count = 0;
  // The system and code of every local triplet, for the finding.
  std::string_view unmapped_systems[2];
  std::string_view unmapped_codes[2];
  size_t unmapped_count = 0;
  bool has_standard = false;
  auto add = [](Concept* concept, const CodingView& coding) {
    for (const CodingView& e : concept->codings) {
      if (e.system == coding.system && e.code == coding.code) return;
    }
    concept->codings.push_back(coding);
  };
  for (int triplet = 0; triplet < 2; ++triplet) {
    const size_t base = triplet * 3;
    const std::string_view code = decoded(parts[base]);
    const std::string_view display = decoded(parts[base + 1]);
    const std::string_view system = decoded(parts[base + 2]);
    if (c.text.empty()) c.text = display;
    if (code.empty()) continue;
    if (const std::vector<Coding>* mapped =
            terminology_.LookupCode(system, code, facility_)) {
      for (const Coding& m : *mapped) {
        add(&c, CodingView{m.system, m.code, m.display});
      }
      has_standard = true;
    }
    const CodingView coding{SystemUri(system), code, display};
    if (IsStandardSystem(system)) {
      add(&c, coding);
      has_standard = true;
      continue;
    }
    bool duplicate = false;
    for (size_t k = 0; k < local_count; ++k) {
      duplicate = duplicate || (local[k].system == coding.system &&
                                local[k].code == coding.code);
    }
    if (!duplicate) local[local_count++] = coding;
    unmapped_codes[unmapped_count] = code;
    unmapped_systems[unmapped_count++] = system;
  }
  const std::string_view original = decoded(parts[8]);
  if (!original.empty()) c.text = original;
  for (size_t k = 0; k < local_count; ++k) c.codings.push_back(local[k]);
  if (local_count > 0 && !has_standard) {
    c.unmapped = true;
    std::string text = "local code ";
    for (size_t k = 0; k < unmapped_count; ++k) {
      if (k > 0) text += ", ";
      text += unmapped_systems[k].empty() ? std::string_view("(no system)")
                                          : unmapped_systems[k];
      text += ' ';
      text += unmapped_codes[k];
    }
    text += " has no terminology mapping; kept as sent";
    *finding = std::move(text);
  }
  return c;
}

const Concept& ConceptOrUnknown(const Concept& c) {
  static const Concept* const kUnknown = new Concept{{}, "unknown", false};
  return c.empty() ? *kUnknown : c;
}

void WriteCoding(JsonWriter& w, const Coding& c) {
  WriteCoding(w, CodingView{c.system, c.code, c.display});
}

void WriteCoding(JsonWriter& w, const CodingView& c) {
  w.RawBegin();
  AppendCoding(w, c);
  w.RawEnd();
}

void AppendCoding(JsonWriter& w, const CodingView& c) {
  if (!c.system.empty() && !c.code.empty()) {  // Nearly always.
    w.RawString(R"({"system":)", c.system);
    w.RawString(R"(,"code":)", c.code);
    if (!c.display.empty()) w.RawString(R"(,"display":)", c.display);
    w.Raw("}");
    return;
  }
  // Members with a value, the first after "{", the others after ",".
  constexpr std::string_view kKeys[] = {R"({"system":)", R"({"code":)",
                                        R"({"display":)"};
  const std::string_view values[] = {c.system, c.code, c.display};
  bool first = true;
  for (size_t k = 0; k < 3; ++k) {
    if (values[k].empty()) continue;
    w.RawString(first ? kKeys[k] : kKeys[k].substr(1), values[k]);
    first = false;
  }
  w.Raw(first ? "{}" : "}");
}

void AppendConcept(JsonWriter& w, const Concept& c) {
  if (c.empty()) return w.Raw("{}");
  if (!c.codings.empty()) {
    w.Raw(R"({"coding":[)");
    for (size_t k = 0; k < c.codings.size(); ++k) {
      if (k > 0) w.Raw(",");
      AppendCoding(w, c.codings[k]);
    }
    w.Raw("]");
  }
  if (!c.text.empty()) {
    w.RawString(c.codings.empty() ? R"({"text":)" : R"(,"text":)", c.text);
  }
  w.Raw("}");
}

void WriteReference(JsonWriter& w, std::string_view key, std::string_view id) {
  w.RawBegin();
  w.Raw("\"", key, R"(":{"reference":"urn:uuid:)", id, "\"}");
  w.RawEnd();
}

void WriteUnmappedTag(JsonWriter& w) { w.RawJson(kUnmappedTagJson); }

void WritePractitionerDisplay(Context& c, std::string_view key,
                              std::string_view xcn) {
  const std::string id = c.Text(c.Comp(xcn, 1));
  const std::string family = c.Text(c.Sub(c.Comp(xcn, 2), 1));
  const std::string given = c.Text(c.Comp(xcn, 3));
  std::string display = given;
  if (!family.empty()) {
    if (!display.empty()) display += " ";
    display += family;
  }
  if (id.empty() && display.empty()) return;
  JsonWriter& w = c.w();
  w.ObjectMember(key);
  if (!id.empty()) {
    w.ObjectMember("identifier");
    w.Member("value", id);
    w.EndObject();
  }
  w.OptionalMember("display", display);
  w.EndObject();
}

void WriteIdentifier(JsonWriter& w, std::string_view system,
                     std::string_view value, std::string_view type_code) {
  w.RawBegin();
  std::string_view before = "{";
  if (!type_code.empty()) {
    w.Raw(R"({"type":{"coding":[{"system":")", kV2_0203, R"(","code":)");
    w.RawString(type_code);
    w.Raw("}]}");
    before = ",";
  }
  if (!system.empty()) {
    w.Raw(before, R"("system":)");
    w.RawString(system);
    before = ",";
  }
  w.Raw(before, R"("value":)");
  w.RawString(value);
  w.Raw("}");
  w.RawEnd();
}

std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + 8);  // One allocation for most values.
  for (char ch : s) {
    const auto b = static_cast<unsigned char>(ch);
    if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
        (b >= '0' && b <= '9') || b == '-' || b == '.' || b == '_' ||
        b == '~' || b == '|' || b == ':' || b == '/') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xf]);
    }
  }
  return out;
}

void BeginBundle(Context& c) {
  JsonWriter& w = c.w();
  w.BeginObject();
  w.Member("resourceType", "Bundle");
  w.Member("type", "transaction");
  w.ArrayMember("entry");
}

void EndBundle(Context& c) {
  c.w().EndArray();
  c.w().EndObject();
  if (!c.options().pretty) return;
  c.result()->bundle.clear();  // Held the previous message (Mapper::Map).
  AppendPrettyJson(c.compact_bundle(), &c.result()->bundle);
  c.result()->bundle.push_back('\n');
}

void AppendEntryHead(JsonWriter& w, std::string_view type, std::string_view id,
                     bool write_id) {
  // Ids are hex and types constants: no escaping needed.
  w.Raw(R"({"fullUrl":"urn:uuid:)", id, R"(","resource":{"resourceType":")",
        type, "\"");
  if (write_id) w.Raw(R"(,"id":")", id, "\"");
}

void AppendEntryPutEnd(Context& c, std::string_view type, std::string_view id) {
  // Closes the resource, then the request and the entry.
  c.w().Raw(R"(},"request":{"method":"PUT","url":")", type, "/", id, "\"}}");
  c.AddEntry(type, id, "PUT");
}

void BeginEntry(Context& c, std::string_view type, std::string_view id,
                bool write_id) {
  JsonWriter& w = c.w();
  w.RawBegin();
  AppendEntryHead(w, type, id, write_id);
  w.RawEnd(/*depth_change=*/2);  // Entry and resource open.
}

void EndEntryPut(Context& c, std::string_view type, std::string_view id) {
  JsonWriter& w = c.w();
  w.EndObject();  // resource
  w.RawBegin();
  w.Raw(R"("request":{"method":"PUT","url":")", type, "/", id, "\"}}");
  w.RawEnd(/*depth_change=*/-1);  // Entry closed.
  c.AddEntry(type, id, "PUT");
}

void EndEntryConditionalCreate(Context& c, std::string_view type,
                               const std::string& id,
                               const std::string& if_none_exist) {
  JsonWriter& w = c.w();
  w.EndObject();  // resource
  w.RawBegin();
  w.Raw(R"("request":{"method":"POST","url":")", type, R"(","ifNoneExist":)");
  w.RawString(if_none_exist);
  w.Raw("}}");
  w.RawEnd(/*depth_change=*/-1);  // Entry closed.
  c.AddEntry(type, id, "POST");
}

// ---------------------------------------------------------------- Patient

absl::StatusOr<PatientKey> MakePatientKey(Context& c, const SegmentRef& pid) {
  if (!pid.present()) {
    return absl::InvalidArgumentError("message has no PID segment");
  }
  const std::string_view pid3 = pid.segment.field(3);
  std::string_view chosen;
  const size_t reps = c.RepCount(pid3);
  for (size_t r = 1; r <= reps; ++r) {
    std::string_view cx = c.Rep(pid3, r);
    if (c.Comp(cx, 1).empty() || hl7::IsNull(c.Comp(cx, 1))) continue;
    if (chosen.empty()) chosen = cx;
    if (c.Comp(cx, 5) == "MR") {
      chosen = cx;
      break;
    }
  }
  if (chosen.empty()) {
    return absl::InvalidArgumentError(
        "PID-3 holds no patient identifier to key the Patient on");
  }
  std::string authority = c.Text(c.Sub(c.Comp(chosen, 4), 1));
  if (authority.empty()) authority = c.Text(c.Sub(c.Comp(chosen, 4), 2));
  if (authority.empty()) authority = c.facility();
  PatientKey key;
  key.value = c.Text(c.Comp(chosen, 1));
  key.system = c.AuthorityUri(authority);
  key.id = c.Id("Patient", absl::StrCat(authority, "|", key.value));
  return key;
}

namespace {

const char* NameUse(std::string_view code) {
  if (code == "L") return "official";
  if (code == "D") return "usual";
  if (code == "M") return "maiden";
  if (code == "N") return "nickname";
  if (code == "A") return "anonymous";
  if (code == "T") return "temp";
  return nullptr;
}

const char* AddressUse(std::string_view code) {
  if (code == "H") return "home";
  if (code == "B" || code == "O") return "work";
  if (code == "C") return "temp";
  if (code == "BA") return "old";
  return nullptr;
}

void WriteNames(Context& c, std::string_view field) {
  JsonWriter& w = c.w();
  bool open = false;
  const size_t reps = c.RepCount(field);
  for (size_t r = 1; r <= reps; ++r) {
    // XPN: family ^ given ^ middle ^ suffix ^ prefix ^ degree ^ use.
    std::string_view xpn[7];
    SplitPieces(c.Rep(field, r), c.delimiters().component, xpn, 7);
    const std::string_view family = c.TextView(c.Sub(xpn[0], 1));
    const std::string_view given = c.TextView(xpn[1]);
    const std::string_view middle = c.TextView(xpn[2]);
    const std::string_view suffix = c.TextView(xpn[3]);
    const std::string_view prefix = c.TextView(xpn[4]);
    if (family.empty() && given.empty() && middle.empty()) continue;
    if (!open) {
      w.ArrayMember("name");
      open = true;
    }
    w.BeginObject();
    if (const char* use = NameUse(xpn[6])) w.Member("use", use);
    w.OptionalMember("family", family);
    if (!given.empty() || !middle.empty()) {
      w.ArrayMember("given");
      if (!given.empty()) w.String(given);
      if (!middle.empty()) w.String(middle);
      w.EndArray();
    }
    if (!prefix.empty()) {
      w.ArrayMember("prefix");
      w.String(prefix);
      w.EndArray();
    }
    if (!suffix.empty()) {
      w.ArrayMember("suffix");
      w.String(suffix);
      w.EndArray();
    }
    w.EndObject();
  }
  if (open) w.EndArray();
}

// Telecoms of PID-13 (home) and PID-14 (work).
void WriteTelecoms(Context& c, const hl7::Segment& pid) {
  JsonWriter& w = c.w();
  bool open = false;
  for (int field : {13, 14}) {
    std::string_view value = pid.field(field);
    const size_t reps = c.RepCount(value);
    for (size_t r = 1; r <= reps; ++r) {
      std::string_view xtn = c.Rep(value, r);
      const std::string_view use_code = c.Comp(xtn, 2);
      const std::string_view equipment = c.Comp(xtn, 3);
      const char* system = "phone";
      std::string text;
      if (equipment == "Internet" || equipment == "X.400" ||
          use_code == "NET") {
        system = "email";
        text = c.Text(c.Comp(xtn, 4));
      } else {
        if (equipment == "FX") system = "fax";
        if (equipment == "BP") system = "pager";
        text = c.Text(c.Comp(xtn, 12));
        if (text.empty()) text = c.Text(c.Comp(xtn, 1));
        if (text.empty()) {
          for (int comp : {5, 6, 7}) {
            const std::string part = c.Text(c.Comp(xtn, comp));
            if (part.empty()) continue;
            if (!text.empty()) text += " ";
            if (comp == 5) text += "+";
            text += part;
          }
          const std::string ext = c.Text(c.Comp(xtn, 8));
          if (!text.empty() && !ext.empty()) text += " ext. " + ext;
        }
      }
      if (text.empty()) continue;
      const char* use = field == 14 ? "work" : "home";
      if (use_code == "WPN") use = "work";
      if (use_code == "ORN" || use_code == "VHN") use = "temp";
      if (equipment == "CP" || use_code == "PRS") use = "mobile";
      if (!open) {
        w.ArrayMember("telecom");
        open = true;
      }
      w.BeginObject();
      w.Member("system", system);
      w.Member("value", text);
      w.Member("use", use);
      w.EndObject();
    }
  }
  if (open) w.EndArray();
}

void WriteAddresses(Context& c, std::string_view field) {
  JsonWriter& w = c.w();
  bool open = false;
  const size_t reps = c.RepCount(field);
  for (size_t r = 1; r <= reps; ++r) {
    // XAD: street ^ other ^ city ^ state ^ postal code ^ country ^ type.
    std::string_view xad[7];
    SplitPieces(c.Rep(field, r), c.delimiters().component, xad, 7);
    const std::string_view street = c.TextView(c.Sub(xad[0], 1));
    const std::string_view other = c.TextView(xad[1]);
    const std::string_view city = c.TextView(xad[2]);
    const std::string_view state = c.TextView(xad[3]);
    const std::string_view postal = c.TextView(xad[4]);
    const std::string_view country = c.TextView(xad[5]);
    if (street.empty() && other.empty() && city.empty() && state.empty() &&
        postal.empty() && country.empty()) {
      continue;
    }
    if (!open) {
      w.ArrayMember("address");
      open = true;
    }
    w.BeginObject();
    const std::string_view type = xad[6];
    if (const char* use = AddressUse(type)) w.Member("use", use);
    if (type == "M") w.Member("type", "postal");
    if (!street.empty() || !other.empty()) {
      w.ArrayMember("line");
      if (!street.empty()) w.String(street);
      if (!other.empty()) w.String(other);
      w.EndArray();
    }
    w.OptionalMember("city", city);
    w.OptionalMember("state", state);
    w.OptionalMember("postalCode", postal);
    w.OptionalMember("country", country);
    w.EndObject();
  }
  if (open) w.EndArray();
}

}  // namespace

void WritePatientEntry(Context& c, const SegmentRef& pid, const PatientKey& key,
                       bool conditional_create) {
  JsonWriter& w = c.w();
  const hl7::Segment& s = pid.segment;
  BeginEntry(c, "Patient", key.id, !conditional_create);
  // identifier: every PID-3 repetition.
  {
    const std::string_view pid3 = s.field(3);
    w.ArrayMember("identifier");
    const size_t reps = c.RepCount(pid3);
    for (size_t r = 1; r <= reps; ++r) {
      std::string_view cx = c.Rep(pid3, r);
      const std::string value = c.Text(c.Comp(cx, 1));
      if (value.empty()) continue;
      std::string authority = c.Text(c.Sub(c.Comp(cx, 4), 1));
      if (authority.empty()) authority = c.Text(c.Sub(c.Comp(cx, 4), 2));
      if (authority.empty()) authority = c.facility();
      WriteIdentifier(w, c.AuthorityUri(authority), value, c.Comp(cx, 5));
    }
    w.EndArray();
  }
  WriteNames(c, s.field(5));
  WriteTelecoms(c, s);
  const std::string_view sex = s.field(8);
  if (!sex.empty() && !hl7::IsNull(sex)) {
    const char* gender = nullptr;
    if (sex == "M") gender = "male";
    if (sex == "F") gender = "female";
    if (sex == "O" || sex == "A" || sex == "N") gender = "other";
    if (sex == "U") gender = "unknown";
    if (gender != nullptr) {
      w.Member("gender", gender);
    } else {
      c.AddFinding(FindingSeverity::kWarning, Loc("PID", pid.occurrence, 8),
                   "unmapped-value",
                   "administrative sex is not one of M, F, O, U, A, N; left "
                   "out");
    }
  }
  const std::string_view dob = c.Comp(s.field(7), 1);
  std::string date;
  if (!dob.empty() && !hl7::IsNull(dob) &&
      c.Date(dob, Loc("PID", pid.occurrence, 7), &date)) {
    w.Member("birthDate", date);
  }
  const std::string_view death_time = c.Comp(s.field(29), 1);
  std::string death;
  if (!death_time.empty() && !hl7::IsNull(death_time) &&
      c.DateTime(death_time, Loc("PID", pid.occurrence, 29), &death)) {
    w.Member("deceasedDateTime", death);
  } else if (s.field(30) == "Y" || s.field(30) == "N") {
    w.Key("deceasedBoolean");
    w.Bool(s.field(30) == "Y");
  }
  WriteAddresses(c, s.field(11));
  if (conditional_create) {
    EndEntryConditionalCreate(
        c, "Patient", key.id,
        absl::StrCat("identifier=", QueryEscape(key.system), "|",
                     QueryEscape(key.value)));
  } else {
    EndEntryPut(c, "Patient", key.id);
  }
}

// -------------------------------------------------------------- Encounter

bool MakeEncounterKey(Context& c, const SegmentRef& pv1, EncounterKey* key) {
  if (!pv1.present()) return false;
  std::string_view cx = c.Rep(pv1.segment.field(19), 1);
  const std::string value = c.Text(c.Comp(cx, 1));
  if (value.empty()) return false;
  std::string authority = c.Text(c.Sub(c.Comp(cx, 4), 1));
  if (authority.empty()) authority = c.Text(c.Sub(c.Comp(cx, 4), 2));
  if (authority.empty()) authority = c.facility();
  key->value = value;
  key->system = c.AuthorityUri(authority);
  key->id = c.Id("Encounter", absl::StrCat(authority, "|", value));
  return true;
}

void WriteEncounterEntry(Context& c, const SegmentRef& pv1,
                         const EncounterKey& key, const PatientKey& patient,
                         const char* status, bool conditional_create) {
  JsonWriter& w = c.w();
  const hl7::Segment& s = pv1.segment;
  BeginEntry(c, "Encounter", key.id, !conditional_create);
  w.ArrayMember("identifier");
  WriteIdentifier(w, key.system, key.value, "VN");
  w.EndArray();
  w.Member("status", status);
  // class (required): PV1-2 patient class -> v3 ActCode.
  {
    const std::string_view pc = s.field(2);
    const char* code = nullptr;
    const char* display = nullptr;
    if (pc == "I") code = "IMP", display = "inpatient encounter";
    if (pc == "O") code = "AMB", display = "ambulatory";
    if (pc == "E") code = "EMER", display = "emergency";
    if (pc == "P") code = "PRENC", display = "pre-admission";
    w.ObjectMember("class");
    if (code != nullptr) {
      w.Member("system", "http://terminology.hl7.org/CodeSystem/v3-ActCode");
      w.Member("code", code);
      w.Member("display", display);
    } else {
      w.Member("system", "http://terminology.hl7.org/CodeSystem/v2-0004");
      w.Member("code",
               pc.empty() || hl7::IsNull(pc) ? std::string("U") : c.Text(pc));
    }
    w.EndObject();
  }
  WriteReference(w, "subject", patient.id);
  std::string start;
  std::string end;
  const bool has_start = !s.field(44).empty() &&
                         c.DateTime(c.Comp(s.field(44), 1),
                                    Loc("PV1", pv1.occurrence, 44), &start);
  const bool has_end =
      !s.field(45).empty() &&
      c.DateTime(c.Comp(s.field(45), 1), Loc("PV1", pv1.occurrence, 45), &end);
  if (has_start || has_end) {
    w.ObjectMember("period");
    if (has_start) w.Member("start", start);
    if (has_end) w.Member("end", end);
    w.EndObject();
  }
  // PV1-3 assigned location as display text (point of care, room, bed).
  {
    std::string_view pl = s.field(3);
    std::string display;
    for (int comp : {1, 2, 3}) {
      const std::string part = c.Text(c.Sub(c.Comp(pl, comp), 1));
      if (part.empty()) continue;
      if (!display.empty()) display += " ";
      display += part;
    }
    if (!display.empty()) {
      w.ArrayMember("location");
      w.BeginObject();
      w.ObjectMember("location");
      w.Member("display", display);
      w.EndObject();
      w.EndObject();
      w.EndArray();
    }
  }
  if (conditional_create) {
    EndEntryConditionalCreate(
        c, "Encounter", key.id,
        absl::StrCat("identifier=", QueryEscape(key.system), "|",
                     QueryEscape(key.value)));
  } else {
    EndEntryPut(c, "Encounter", key.id);
  }
}

// ----------------------------------------------------------------- Orders

OrderKey MakeOrderKey(Context& c, const SegmentRef& orc,
                      const SegmentRef& obr) {
  OrderKey k;
  auto read_ei = [&](int obr_field, int orc_field, std::string* id,
                     std::string* ns) {
    std::string_view ei = obr.segment.field(obr_field);
    if ((c.Comp(ei, 1).empty() || hl7::IsNull(c.Comp(ei, 1))) &&
        orc.present()) {
      ei = orc.segment.field(orc_field);
    }
    *id = c.Text(c.Comp(ei, 1));
    *ns = c.Text(c.Comp(ei, 2));
    if (ns->empty()) *ns = c.Text(c.Comp(ei, 3));
  };
  read_ei(2, 2, &k.placer_id, &k.placer_ns);
  read_ei(3, 3, &k.filler_id, &k.filler_ns);
  const std::string_view obr4 = obr.segment.field(4);
  const std::string code =
      absl::StrCat(c.Text(c.Comp(obr4, 3)), "|", c.Text(c.Comp(obr4, 1)));
  const bool filler_first =
      c.options().order_key == OrderKeyPolicy::kFillerFirst;
  const bool use_filler =
      !k.filler_id.empty() && (filler_first || k.placer_id.empty());
  const bool use_placer = !use_filler && !k.placer_id.empty();
  if (use_filler) {
    k.key = absl::StrCat("F|", k.filler_ns.empty() ? c.facility() : k.filler_ns,
                         "|", k.filler_id, "|", code);
  } else if (use_placer) {
    k.key = absl::StrCat("P|", k.placer_ns.empty() ? c.facility() : k.placer_ns,
                         "|", k.placer_id, "|", code);
  } else {
    c.AddFinding(FindingSeverity::kWarning, Loc("OBR", obr.occurrence, 3),
                 "no-order-number",
                 "neither filler nor placer order number: ids fall back to "
                 "the message control id and will not match corrections");
    k.key =
        absl::StrCat("M|", c.facility(), "|", c.Text(c.message().control_id()),
                     "|", obr.occurrence, "|", code);
  }
  return k;
}

std::string NoteText(Context& c, const SegmentRef& nte) {
  std::string_view ft = nte.segment.field(3);
  std::string text;
  const size_t reps = c.RepCount(ft);
  for (size_t r = 1; r <= reps; ++r) {
    if (r > 1) text += "\n";
    text += c.TextView(c.Rep(ft, r));
  }
  return text;
}

void WriteNotes(Context& c, const std::vector<SegmentRef>& notes) {
  JsonWriter& w = c.w();
  bool open = false;
  for (const SegmentRef& nte : notes) {
    const std::string text = NoteText(c, nte);
    if (text.empty()) continue;
    if (!open) {
      w.ArrayMember("note");
      open = true;
    }
    w.BeginObject();
    w.Member("text", text);
    w.EndObject();
  }
  if (open) w.EndArray();
}

void WriteServiceRequestEntry(Context& c, const SegmentRef& orc,
                              const SegmentRef& obr, const OrderKey& order,
                              const std::string& id, const PatientKey& patient,
                              const EncounterKey* encounter, const char* status,
                              const std::vector<SegmentRef>& notes,
                              const std::vector<std::string>& specimen_ids) {
  JsonWriter& w = c.w();
  RenderedConcept code;
  c.RenderConcept(obr.segment.field(4), FieldRef{"OBR", obr.occurrence, 4},
                  &code);
  BeginEntry(c, "ServiceRequest", id, true);
  if (code.unmapped) WriteUnmappedTag(w);
  if (!order.placer_id.empty() || !order.filler_id.empty()) {
    w.ArrayMember("identifier");
    if (!order.placer_id.empty()) {
      WriteIdentifier(w,
                      c.AuthorityUri(order.placer_ns.empty() ? c.facility()
                                                             : order.placer_ns),
                      order.placer_id, "PLAC");
    }
    if (!order.filler_id.empty()) {
      WriteIdentifier(w,
                      c.AuthorityUri(order.filler_ns.empty() ? c.facility()
                                                             : order.filler_ns),
                      order.filler_id, "FILL");
    }
    w.EndArray();
  }
  w.Member("status", status);
  w.Member("intent", "order");
  // Priority: OBR-5 (v2.3-2.4) or ORC-7.6 / OBR-27.6 (TQ priority).
  {
    std::string_view p = obr.segment.field(5);
    if (p.empty()) p = c.Comp(obr.segment.field(27), 6);
    if (p.empty() && orc.present()) p = c.Comp(orc.segment.field(7), 6);
    const char* priority = nullptr;
    if (p == "S") priority = "stat";
    if (p == "A") priority = "asap";
    if (p == "R") priority = "routine";
    if (p == "P" || p == "T") priority = "urgent";
    if (priority != nullptr) w.Member("priority", priority);
  }
  w.Key("code");
  w.RawJson(code.json);
  WriteReference(w, "subject", patient.id);
  if (encounter != nullptr) WriteReference(w, "encounter", encounter->id);
  std::string authored;
  if (orc.present() && !orc.segment.field(9).empty() &&
      c.DateTime(c.Comp(orc.segment.field(9), 1), Loc("ORC", orc.occurrence, 9),
                 &authored)) {
    w.Member("authoredOn", authored);
  }
  std::string_view requester = obr.segment.field(16);
  if (requester.empty() && orc.present()) requester = orc.segment.field(12);
  if (!requester.empty()) {
    WritePractitionerDisplay(c, "requester", c.Rep(requester, 1));
  }
  if (!specimen_ids.empty()) {
    w.ArrayMember("specimen");
    for (const std::string& s : specimen_ids) {
      w.BeginObject();
      w.MemberOfParts("reference", {"urn:uuid:", s});
      w.EndObject();
    }
    w.EndArray();
  }
  WriteNotes(c, notes);
  EndEntryPut(c, "ServiceRequest", id);
}

// --------------------------------------------------------------- Specimen

std::string SpecimenId(Context& c, const SegmentRef* spm,
                       const OrderKey& order) {
  if (spm != nullptr) {
    const std::string_view spm2 = spm->segment.field(2);
    if (!spm2.empty() && !hl7::IsNull(spm2)) {
      const std::string placer = c.Text(c.Comp(spm2, 1));
      const std::string filler = c.Text(c.Comp(spm2, 2));
      return c.Id("Specimen",
                  absl::StrCat("SPM|", c.facility(), "|", placer, "|", filler));
    }
  }
  return c.Id("Specimen", absl::StrCat("ORDER|", order.key));
}

void WriteSpecimenEntry(Context& c, const SegmentRef* spm,
                        const SegmentRef& obr, const std::string& id,
                        const PatientKey& patient,
                        const std::string& service_request_id) {
  JsonWriter& w = c.w();
  RenderedConcept type;  // Empty unless SPM-4 or OBR-15 has one.
  std::string collected;
  std::string received;
  std::string placer;
  std::string filler;
  if (spm != nullptr) {
    const hl7::Segment& s = spm->segment;
    // SPM-2 is EIP: placer EI ^ filler EI (EI parts are subcomponents).
    placer = c.Text(c.Sub(c.Comp(s.field(2), 1), 1));
    filler = c.Text(c.Sub(c.Comp(s.field(2), 2), 1));
    c.RenderConcept(s.field(4), FieldRef{"SPM", spm->occurrence, 4}, &type);
    const std::string_view start = c.Sub(c.Comp(s.field(17), 1), 1);
    if (!start.empty()) {
      c.DateTime(start, Loc("SPM", spm->occurrence, 17), &collected);
    }
    const std::string_view recv = c.Comp(s.field(18), 1);
    if (!recv.empty()) {
      c.DateTime(recv, Loc("SPM", spm->occurrence, 18), &received);
    }
  } else {
    // OBR-15 specimen source (v2.3-2.4; its first component is a CE in
    // subcomponents) and OBR-7 collection time.
    const std::string_view source = c.Comp(obr.segment.field(15), 1);
    if (!source.empty()) {
      c.RenderConcept(source, FieldRef{"OBR", obr.occurrence, 15},
                      c.delimiters().subcomponent, &type);
    }
    const std::string_view when = c.Comp(obr.segment.field(7), 1);
    if (!when.empty()) {
      c.DateTime(when, Loc("OBR", obr.occurrence, 7), &collected);
    }
  }
  BeginEntry(c, "Specimen", id, true);
  if (type.unmapped) WriteUnmappedTag(w);
  if (!placer.empty() || !filler.empty()) {
    const std::string_view system = c.AuthorityUri(c.facility());
    w.ArrayMember("identifier");
    if (!placer.empty()) WriteIdentifier(w, system, placer, "PGN");
    if (!filler.empty()) WriteIdentifier(w, system, filler, "FGN");
    w.EndArray();
  }
  if (!type.empty) {
    w.Key("type");
    w.RawJson(type.json);
  }
  WriteReference(w, "subject", patient.id);
  w.OptionalMember("receivedTime", received);
  w.ArrayMember("request");
  w.BeginObject();
  w.MemberOfParts("reference", {"urn:uuid:", service_request_id});
  w.EndObject();
  w.EndArray();
  if (!collected.empty()) {
    w.ObjectMember("collection");
    w.Member("collectedDateTime", collected);
    w.EndObject();
  }
  EndEntryPut(c, "Specimen", id);
}

}  // namespace appliance::fhir::internal
