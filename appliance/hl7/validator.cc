#include "appliance/hl7/validator.h"

#include <algorithm>
#include <string>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "absl/base/attributes.h"
#include "absl/strings/str_cat.h"
#include "appliance/hl7/datatypes.h"
#include "appliance/hl7/escape.h"
#include "appliance/hl7/structure.h"

namespace appliance::hl7 {
namespace {

// Table codes are at most 8 characters: compare them as integers.
constexpr uint64_t PackCode(std::string_view v) {
  if (v.empty() || v.size() > 8) return 0;
  uint64_t code = 0;
  for (char c : v) code = code << 8 | static_cast<unsigned char>(c);
  return code;
}

// An HL7 table, laid out so that a lookup is a bit test for the codes of one
// character (any PackCode() below 256: one character after leading NULs) or
// of two capital letters, which is what most HL7 tables hold, and a binary
// search over the PackCode()s of the others.
constexpr size_t kMaxTableSize = 64;
struct Table {
  uint64_t single[4] = {};  // Bit c: the code PackCode() == c is in the table.
  uint64_t pairs[11] = {};  // Bit PairIndex(): a two-capital-letter code.
  uint64_t multi[kMaxTableSize] = {};  // Other codes' PackCode()s, ascending.
  size_t multi_count = 0;
};

// 0..675 for the PackCode() of two capital letters; -1 otherwise. (From the
// code, not the text: leading NULs are ignored, as they are by PackCode().)
constexpr int PairIndex(uint64_t code) {
  if (code < 256 || code > 0xffff) return -1;
  const int first = static_cast<int>(code >> 8);
  const int second = static_cast<int>(code & 0xff);
  if (first < 'A' || first > 'Z' || second < 'A' || second > 'Z') return -1;
  return (first - 'A') * 26 + (second - 'A');
}

template <size_t N>
constexpr Table MakeTable(const std::string_view (&values)[N]) {
  static_assert(N <= kMaxTableSize, "raise kMaxTableSize");
  Table t;
  for (size_t i = 0; i < N; ++i) {
    const uint64_t code = PackCode(values[i]);
    const int pair = PairIndex(code);
    if (code < 256) {
      t.single[code >> 6] |= uint64_t{1} << (code & 63);
    } else if (pair >= 0) {
      t.pairs[pair >> 6] |= uint64_t{1} << (pair & 63);
    } else {
      // Insertion sort (constexpr).
      size_t j = t.multi_count++;
      for (; j > 0 && t.multi[j - 1] > code; --j) t.multi[j] = t.multi[j - 1];
      t.multi[j] = code;
    }
  }
  return t;
}

// HL7 tables (values as of v2.5.1, with common later additions for 0078).
constexpr std::string_view kValues0001[] = {"M", "F", "O", "U", "A", "N"};
constexpr std::string_view kValues0004[] = {"B", "C", "E", "I", "N",
                                            "O", "P", "R", "U"};
constexpr std::string_view kValues0078[] = {
    "L",   "H",   "LL", "HH",  "<",  ">",     "N",     "A",   "AA",  "U",
    "D",   "B",   "W",  "S",   "R",  "I",     "MS",    "VS",  "POS", "NEG",
    "IND", "DET", "ND", "QCF", "RR", "TOX",   "E",     "EX",  "EXP", "HX",
    "IE",  "LU",  "NR", "NS",  "HU", "SYN-R", "SYN-S", "CAR", "AC"};
constexpr std::string_view kValues0085[] = {"C", "D", "F", "I", "N", "O",
                                            "P", "R", "S", "U", "W", "X"};
constexpr std::string_view kValues0103[] = {"D", "P", "T"};
constexpr std::string_view kValues0119[] = {
    "AF", "CA", "CH", "CN", "CR", "DC", "DE", "DF", "DR", "FU",
    "HD", "HR", "LI", "NA", "NW", "OC", "OD", "OE", "OF", "OH",
    "OK", "OP", "OR", "PA", "PR", "PY", "RE", "RF", "RL", "RO",
    "RP", "RQ", "RR", "RU", "SC", "SN", "SR", "SS", "UA", "UC",
    "UD", "UF", "UH", "UM", "UN", "UR", "UX", "XO", "XR", "XX"};
constexpr std::string_view kValues0123[] = {"O", "I", "S", "A", "P", "C",
                                            "R", "F", "X", "Y", "Z"};
constexpr std::string_view kValues0125[] = {
    "AD", "CE", "CF", "CK", "CN", "CNE", "CP",  "CWE", "CX",  "DR", "DT", "DTM",
    "ED", "FT", "ID", "IS", "MA", "MO",  "NA",  "NM",  "NR",  "PN", "RP", "SN",
    "ST", "TM", "TN", "TS", "TX", "XAD", "XCN", "XON", "XPN", "XTN"};
constexpr std::string_view kValues0155[] = {"AL", "NE", "ER", "SU"};

constexpr Table kTable0001 = MakeTable(kValues0001);
constexpr Table kTable0004 = MakeTable(kValues0004);
constexpr Table kTable0078 = MakeTable(kValues0078);
constexpr Table kTable0085 = MakeTable(kValues0085);
constexpr Table kTable0103 = MakeTable(kValues0103);
constexpr Table kTable0119 = MakeTable(kValues0119);
constexpr Table kTable0123 = MakeTable(kValues0123);
constexpr Table kTable0125 = MakeTable(kValues0125);
constexpr Table kTable0155 = MakeTable(kValues0155);

ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool InTable(std::string_view v,
                                                 const Table& table) {
  const uint64_t code = PackCode(v);
  if (code == 0) return false;
  if (code < 256) return (table.single[code >> 6] >> (code & 63)) & 1;
  const int pair = PairIndex(code);
  if (pair >= 0) return (table.pairs[pair >> 6] >> (pair & 63)) & 1;
  return std::binary_search(table.multi, table.multi + table.multi_count, code);
}

#ifdef __SSE2__
// FindDelimiter() for n >= 8 bytes at p, a and b not '\0': 16 (or 8) bytes at
// a time, the last block overlapping the one before so that nothing outside
// the value is read.
size_t FindDelimiterSse2(const char* p, size_t n, char a, char b) {
  const __m128i va = _mm_set1_epi8(a);
  const __m128i vb = _mm_set1_epi8(b);
  auto matches = [&](__m128i chunk) {
    return static_cast<uint32_t>(_mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(chunk, va), _mm_cmpeq_epi8(chunk, vb))));
  };
  auto load16 = [](const char* at) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
  };
  auto load8 = [](const char* at) {  // Upper half zero: a, b != '\0'.
    return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(at));
  };
  if (n < 16) {
    if (uint32_t m = matches(load8(p))) return __builtin_ctz(m);
    if (uint32_t m = matches(load8(p + n - 8))) return n - 8 + __builtin_ctz(m);
    return std::string_view::npos;
  }
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    if (uint32_t m = matches(load16(p + i))) return i + __builtin_ctz(m);
  }
  if (i < n) {
    // Bytes before i hold no match, so the first bit here is the first hit.
    if (uint32_t m = matches(load16(p + n - 16))) {
      return n - 16 + __builtin_ctz(m);
    }
  }
  return std::string_view::npos;
}
#endif

// The position of the first byte of `v` equal to `a` or `b`, or npos. A
// delimiter '\0' (one the message does not declare) matches nothing.
//
// Inline: the values the validator splits are short (often a single
// character), and a call to memchr would cost more than the search.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline size_t FindDelimiter(std::string_view v,
                                                         char a, char b) {
  if (a == '\0') a = b;
  if (b == '\0') b = a;
  if (a == '\0') return std::string_view::npos;
#ifdef __SSE2__
  if (v.size() >= 8) return FindDelimiterSse2(v.data(), v.size(), a, b);
#endif
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == a || v[i] == b) return i;
  }
  return std::string_view::npos;
}

// Piece(v, sep, 1): the text before the first `sep` (all of `v` when there is
// none or the message declares no such delimiter, sep == '\0').
inline std::string_view FirstPiece(std::string_view v, char sep) {
  return v.substr(0, FindDelimiter(v, sep, sep));
}

// Piece(v, sep, 1).empty() && Piece(v, sep, 2).empty(): a coded value with
// neither identifier nor text.
inline bool FirstTwoPiecesEmpty(std::string_view v, char sep) {
  if (v.empty()) return true;
  if (sep == '\0') return false;  // One piece, the non-empty value.
  return v[0] == sep && (v.size() == 1 || v[1] == sep);
}

// ForEachPiece() (delimiters.h) with the inline search above.
template <typename Fn>
void ForEachShortPiece(std::string_view value, char sep, Fn fn) {
  if (value.empty()) return;
  int n = 1;
  while (true) {
    const size_t at = FindDelimiter(value, sep, sep);
    fn(value.substr(0, at), n);
    if (at == std::string_view::npos) return;
    value.remove_prefix(at + 1);
    ++n;
  }
}

// Collects findings about one segment occurrence. Everything a finding needs
// (its Location, its text) is built only when there is a finding.
class SegmentChecker {
 public:
  SegmentChecker(const Message& m, const Segment& seg, int occurrence,
                 std::vector<Finding>* out)
      : m_(m),
        d_(m.delimiters()),
        seg_(seg),
        occurrence_(occurrence),
        out_(out) {}

  std::string_view Field(int n) const { return seg_.field(n); }

  // Findings are rare: building them stays out of line, so that the checks
  // below are small enough to inline.
  ABSL_ATTRIBUTE_NOINLINE void Add(ErrorCode code, Severity severity, int field,
                                   int rep, int comp, std::string text) {
    Location loc;
    loc.segment = std::string(seg_.name());
    loc.occurrence = occurrence_;
    loc.field = field;
    loc.repetition = rep;
    loc.component = comp;
    out_->push_back(Finding{code, severity, std::move(loc), std::move(text)});
  }

  std::string Name(int field, const char* what) const {
    return absl::StrCat(what, " (", std::string(seg_.name()), "-", field, ")");
  }

  // Field present (not empty, not "")? Otherwise a 101 finding.
  bool Required(int field, const char* what,
                Severity severity = Severity::kError) {
    const std::string_view v = Field(field);
    if (!v.empty() && !IsNull(v)) return true;
    AddMissing(field, what, severity);
    return false;
  }

  // Every repetition's first component in `table` (empty values allowed).
  void TableValue(int field, const char* what, const char* table_id,
                  const Table& table, Severity severity = Severity::kError) {
    ForEachFirstComponent(field, [&](std::string_view code, int r) {
      if (code.empty() || IsNull(code) || InTable(code, table)) return;
      AddNotInTable(field, r, what, table_id, severity);
    });
  }

  // TS/DTM in the first component of every repetition.
  void DateTimeField(int field, const char* what,
                     Severity severity = Severity::kError) {
    ForEachFirstComponent(field, [&](std::string_view ts, int r) {
      if (ts.empty() || IsNull(ts) || IsValidDateTime(ts)) return;
      AddBadDateTime(field, r, what, severity);
    });
  }

  // CE/CWE: an identifier or a text in the first triplet.
  void CodedField(int field, const char* what,
                  Severity severity = Severity::kError) {
    ForEachRepetition(field, [&](std::string_view rep, int r) {
      if (rep.empty() || IsNull(rep)) return;
      if (FirstTwoPiecesEmpty(rep, d_.component)) {
        AddBadCoded(field, r, what, severity);
      }
    });
  }

  ABSL_ATTRIBUTE_NOINLINE void AddMissing(int field, const char* what,
                                          Severity severity) {
    Add(ErrorCode::kRequiredFieldMissing, severity, field, 0, 0,
        absl::StrCat("required field missing: ", Name(field, what)));
  }
  ABSL_ATTRIBUTE_NOINLINE void AddNotInTable(int field, int r, const char* what,
                                             const char* table_id,
                                             Severity severity) {
    Add(ErrorCode::kTableValue, severity, field, r, 0,
        absl::StrCat(Name(field, what), " is not a value of HL7 table ",
                     table_id));
  }
  ABSL_ATTRIBUTE_NOINLINE void AddBadDateTime(int field, int r,
                                              const char* what,
                                              Severity severity) {
    Add(ErrorCode::kDataType, severity, field, r, 1,
        absl::StrCat(Name(field, what),
                     " is not a valid date/time (YYYY[MM[DD[HH[MM[SS]]]]]"
                     "[+/-ZZZZ])"));
  }
  ABSL_ATTRIBUTE_NOINLINE void AddBadCoded(int field, int r, const char* what,
                                           Severity severity) {
    Add(ErrorCode::kDataType, severity, field, r, 1,
        absl::StrCat(Name(field, what),
                     " is a coded element without identifier or text"));
  }

  template <typename Fn>
  void ForEachRepetition(int field, Fn fn) const {
    ForEachShortPiece(Field(field), d_.repetition, fn);
  }

  // Calls fn(first component, r) for every repetition r of the field.
  template <typename Fn>
  void ForEachFirstComponent(int field, Fn fn) const {
    const std::string_view v = Field(field);
    if (v.empty()) return;
    // Usually one scan finds neither separator: one repetition, one component.
    if (FindDelimiter(v, d_.repetition, d_.component) ==
        std::string_view::npos) {
      fn(v, 1);
      return;
    }
    ForEachShortPiece(v, d_.repetition, [&](std::string_view rep, int r) {
      fn(FirstPiece(rep, d_.component), r);
    });
  }

  const Message& m_;
  const Delimiters& d_;
  const Segment seg_;
  const int occurrence_;
  std::vector<Finding>* out_;  // Not owned.
};

void CheckMsh(SegmentChecker& c, const Message& m) {
  c.DateTimeField(7, "date/time of message", Severity::kWarning);
  c.Required(9, "message type");
  c.Required(10, "message control id");
  if (c.Required(11, "processing id")) {
    c.TableValue(11, "processing id", "0103", kTable0103, Severity::kWarning);
  }
  c.Required(12, "version id");
  c.TableValue(15, "accept acknowledgment type", "0155", kTable0155,
               Severity::kWarning);
  c.TableValue(16, "application acknowledgment type", "0155", kTable0155,
               Severity::kWarning);
  if (CharsetOf(m.charset()) == Charset::kUnsupported) {
    c.Add(
        ErrorCode::kApplicationError, Severity::kError, 18, 0, 0,
        absl::StrCat(
            "unsupported character set \"",
            std::string(
                Piece(m.charset(), m.delimiters().repetition, 1).substr(0, 32)),
            "\" in MSH-18 (supported: ASCII, 8859/1, UNICODE UTF-8)"));
  }
}

void CheckPid(SegmentChecker& c) {
  if (c.Required(3, "patient identifier list")) {
    c.ForEachFirstComponent(3, [&](std::string_view id, int r) {
      if (id.empty()) {
        c.Add(ErrorCode::kDataType, Severity::kError, 3, r, 1,
              "patient identifier (PID-3) repetition has no ID number (CX.1)");
      }
    });
  }
  if (c.Required(5, "patient name")) {
    const std::string_view first = FirstPiece(c.Field(5), c.d_.repetition);
    const std::string_view family = FirstPiece(first, c.d_.component);
    if (FirstPiece(family, c.d_.subcomponent).empty() &&
        Piece(first, c.d_.component, 2).empty()) {
      c.Add(ErrorCode::kDataType, Severity::kWarning, 5, 1, 1,
            "patient name (PID-5) has neither family nor given name");
    }
  }
  c.DateTimeField(7, "date/time of birth");
  c.TableValue(8, "administrative sex", "0001", kTable0001);
}

void CheckPv1(SegmentChecker& c) {
  if (c.Required(2, "patient class", Severity::kWarning)) {
    c.TableValue(2, "patient class", "0004", kTable0004, Severity::kWarning);
  }
  c.DateTimeField(44, "admit date/time", Severity::kWarning);
  c.DateTimeField(45, "discharge date/time", Severity::kWarning);
}

void CheckEvn(SegmentChecker& c) {
  c.Required(2, "recorded date/time", Severity::kWarning);
  c.DateTimeField(2, "recorded date/time", Severity::kWarning);
}

void CheckOrc(SegmentChecker& c) {
  if (c.Required(1, "order control")) {
    c.TableValue(1, "order control", "0119", kTable0119);
  }
}

void CheckObr(SegmentChecker& c) {
  if (c.Field(2).empty() && c.Field(3).empty()) {
    c.Add(ErrorCode::kRequiredFieldMissing, Severity::kError, 3, 0, 0,
          "required field missing: placer (OBR-2) or filler (OBR-3) order "
          "number");
  }
  if (c.Required(4, "universal service identifier")) {
    c.CodedField(4, "universal service identifier");
  }
  c.DateTimeField(7, "observation date/time");
  c.DateTimeField(8, "observation end date/time");
  c.DateTimeField(14, "specimen received date/time");
  c.DateTimeField(22, "results report/status change date/time");
  c.TableValue(25, "result status", "0123", kTable0123);
}

void CheckObx(SegmentChecker& c, const Delimiters& d) {
  const std::string_view type = c.Field(2);
  const std::string_view value = c.Field(5);
  const bool has_value = !value.empty() && !IsNull(value);
  bool type_ok = false;
  if (type.empty()) {
    if (has_value) {
      c.Add(ErrorCode::kRequiredFieldMissing, Severity::kError, 2, 0, 0,
            "required field missing: value type (OBX-2) for a non-empty "
            "observation value");
    }
  } else if (!InTable(type, kTable0125)) {
    c.Add(ErrorCode::kTableValue, Severity::kError, 2, 0, 0,
          "value type (OBX-2) is not a value of HL7 table 0125");
  } else {
    type_ok = true;
  }
  if (c.Required(3, "observation identifier")) {
    c.CodedField(3, "observation identifier");
  }
  if (type_ok && has_value) {
    c.ForEachRepetition(5, [&](std::string_view rep, int r) {
      if (rep.empty() || IsNull(rep)) return;
      const char* problem = nullptr;
      if (type == "NM") {
        if (!IsNumeric(rep)) problem = "is not a number (NM)";
      } else if (type == "SN") {
        if (!ParseStructuredNumeric(rep, d).ok()) {
          problem = "is not a structured numeric (SN)";
        }
      } else if (type == "DT") {
        if (!IsValidDate(FirstPiece(rep, d.component))) {
          problem = "is not a date (DT)";
        }
      } else if (type == "DTM" || type == "TS") {
        if (!IsValidDateTime(FirstPiece(rep, d.component))) {
          problem = "is not a date/time (DTM)";
        }
      } else if (type == "TM") {
        if (!IsValidTime(rep)) problem = "is not a time (TM)";
      } else if (type == "CE" || type == "CWE" || type == "CNE") {
        if (FirstTwoPiecesEmpty(rep, d.component)) {
          problem = "is a coded element without identifier or text";
        }
      }
      if (problem != nullptr) {
        c.Add(ErrorCode::kDataType, Severity::kError, 5, r, 0,
              absl::StrCat("observation value (OBX-5) ", problem));
      }
    });
  }
  c.TableValue(8, "abnormal flags", "0078", kTable0078);
  if (c.Required(11, "observation result status")) {
    c.TableValue(11, "observation result status", "0085", kTable0085);
  }
  c.DateTimeField(14, "date/time of the observation");
}

void CheckSpm(SegmentChecker& c) {
  c.Required(4, "specimen type", Severity::kWarning);
  c.DateTimeField(17, "specimen collection date/time");
}

void CheckFields(const Message& m, std::vector<Finding>* out) {
  // Occurrence counters for the segments we check.
  int msh = 0, pid = 0, pv1 = 0, evn = 0, orc = 0, obr = 0, obx = 0, spm = 0;
  const Delimiters& d = m.delimiters();
  for (size_t i = 0; i < m.segment_count(); ++i) {
    const Segment seg = m.segment(i);
    switch (m.segment_code(i)) {
      case SegmentCode("OBX"): {
        SegmentChecker c(m, seg, ++obx, out);
        CheckObx(c, d);
        break;
      }
      case SegmentCode("OBR"): {
        SegmentChecker c(m, seg, ++obr, out);
        CheckObr(c);
        break;
      }
      case SegmentCode("PID"): {
        SegmentChecker c(m, seg, ++pid, out);
        CheckPid(c);
        break;
      }
      case SegmentCode("MSH"):
        if (++msh == 1) {
          SegmentChecker c(m, seg, msh, out);
          CheckMsh(c, m);
        }
        break;
      case SegmentCode("PV1"): {
        SegmentChecker c(m, seg, ++pv1, out);
        CheckPv1(c);
        break;
      }
      case SegmentCode("ORC"): {
        SegmentChecker c(m, seg, ++orc, out);
        CheckOrc(c);
        break;
      }
      case SegmentCode("EVN"): {
        SegmentChecker c(m, seg, ++evn, out);
        CheckEvn(c);
        break;
      }
      case SegmentCode("SPM"): {
        SegmentChecker c(m, seg, ++spm, out);
        CheckSpm(c);
        break;
      }
      default:
        break;
    }
  }
}

Location MshField(int field) {
  Location loc;
  loc.segment = "MSH";
  loc.field = field;
  return loc;
}

// Reads MSH-9 and MSH-12; false (with a finding) when the message is not one
// this engine supports.
bool CheckTypeAndVersion(const Message& m, ValidationResult* r) {
  const Delimiters& d = m.delimiters();
  const std::string_view msh9 = m.msh(9);
  MessageType& t = r->type;
  t.code = Piece(msh9, d.component, 1);
  t.event = Piece(msh9, d.component, 2);
  const std::string_view declared = Piece(msh9, d.component, 3);
  bool ok = true;

  const std::string_view version = m.version();
  if (!version.empty() && !IsSupportedVersion(version)) {
    r->findings.push_back(
        Finding{ErrorCode::kUnsupportedVersion, Severity::kError, MshField(12),
                absl::StrCat("unsupported HL7 version \"",
                             std::string(version.substr(0, 16)),
                             "\" (supported: 2.3, 2.3.1, 2.4, 2.5, 2.5.1)")});
    ok = false;
  }
  if (t.code.empty()) return false;  // Reported as a missing MSH-9.

  std::string_view structure;
  if (t.code == "ORU") {
    if (t.event == "R01") structure = "ORU_R01";
  } else if (t.code == "ORM") {
    if (t.event == "O01") structure = "ORM_O01";
  } else if (t.code == "ADT") {
    if (t.event == "A01" || t.event == "A08") structure = "ADT_A01";
  } else {
    r->findings.push_back(Finding{
        ErrorCode::kUnsupportedMessageType, Severity::kError, MshField(9),
        absl::StrCat("unsupported message type \"",
                     std::string(t.code.substr(0, 8)),
                     "\" (supported: ORU^R01, ORM^O01, ADT^A01, ADT^A08)")});
    return false;
  }
  if (structure.empty()) {
    Location loc = MshField(9);
    loc.component = 2;
    r->findings.push_back(Finding{
        ErrorCode::kUnsupportedEvent, Severity::kError, loc,
        absl::StrCat("unsupported event \"", std::string(t.event.substr(0, 8)),
                     "\" for message type ", std::string(t.code))});
    return false;
  }
  t.structure = structure;
  t.structure_derived = declared.empty();
  if (!declared.empty() && declared != structure) {
    Location loc = MshField(9);
    loc.component = 3;
    r->findings.push_back(
        Finding{ErrorCode::kApplicationError, Severity::kWarning, loc,
                absl::StrCat("message structure (MSH-9.3) does not match ",
                             std::string(t.code), "^", std::string(t.event),
                             "; validated as ", std::string(structure))});
  }
  return ok;
}

}  // namespace

bool IsSupportedVersion(std::string_view v) {
  return v == "2.3" || v == "2.3.1" || v == "2.4" || v == "2.5" || v == "2.5.1";
}

void ValidateInto(const Message& message, ValidationResult* result) {
  result->type = MessageType();
  result->findings.clear();
  const bool supported = CheckTypeAndVersion(message, result);
  CheckFields(message, &result->findings);
  if (!supported || result->type.structure.empty()) return;
  const StructureNode* structure = FindStructure(result->type.structure);
  if (structure != nullptr) {
    MatchStructure(message, *structure, &result->findings);
  }
}

ValidationResult Validate(const Message& message) {
  ValidationResult r;
  ValidateInto(message, &r);
  return r;
}

}  // namespace appliance::hl7
