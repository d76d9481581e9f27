#include "appliance/hl7/datatypes.h"

#include <cstdint>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "absl/base/attributes.h"
#include "absl/strings/str_cat.h"

namespace appliance::hl7 {
namespace {

// The parsers below report a problem as the text of the error message (nullptr
// when the value is fine) so that the validator's IsValid*() checks, which run
// for every timestamp of every message, build no absl::Status and no string;
// the Parse*() wrappers turn the text into INVALID_ARGUMENT.
using Problem = const char*;

absl::Status Invalid(const char* what, std::string_view value) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, " \"", std::string(value.substr(0, 40)), "\""));
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

inline bool IsDigit(char c) {
  return static_cast<unsigned>(static_cast<unsigned char>(c) - '0') <= 9;
}

// The two digits at p as a number (the caller has checked they are digits).
inline int TwoDigits(const char* p) { return (p[0] - '0') * 10 + (p[1] - '0'); }

// Parses [+|-]HHMM at s[pos..] to the end of s.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline Problem ParseOffset(std::string_view s,
                                                        size_t pos,
                                                        DateTime* dt) {
  if (s.size() - pos != 5 || !IsDigit(s[pos + 1]) || !IsDigit(s[pos + 2]) ||
      !IsDigit(s[pos + 3]) || !IsDigit(s[pos + 4])) {
    return "bad time zone offset in";
  }
  const int hh = TwoDigits(&s[pos + 1]);
  const int mm = TwoDigits(&s[pos + 3]);
  if (hh > 14 || mm > 59) return "bad time zone offset in";
  dt->has_offset = true;
  dt->offset_minutes = (s[pos] == '-' ? -1 : 1) * (hh * 60 + mm);
  return nullptr;
}

// Where the date/time digits of `s` end and its time zone offset starts.
struct Extent {
  size_t digits;  // s[0, digits) are digits; s[digits] (if any) is not.
  size_t end;     // The first '+' or '-' (>= digits), size() when none.
};
inline Extent ExtentOf(std::string_view s) {
  Extent e;
  e.digits = 0;
#ifdef __SSE2__
  // A full DTM with offset is 19 bytes: classify its first 16 at once.
  if (s.size() >= 16) {
    const __m128i chunk =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data()));
    // Signed compares: bytes >= 0x80 are negative, so below '0'.
    const __m128i non_digit =
        _mm_or_si128(_mm_cmplt_epi8(chunk, _mm_set1_epi8('0')),
                     _mm_cmpgt_epi8(chunk, _mm_set1_epi8('9')));
    const uint32_t mask =
        static_cast<uint32_t>(_mm_movemask_epi8(non_digit)) | 0x10000u;
    e.digits = __builtin_ctz(mask);
  }
  if (e.digits == 16 || s.size() < 16)
#endif
    while (e.digits < s.size() && IsDigit(s[e.digits])) ++e.digits;
  e.end = e.digits;
  while (e.end < s.size() && s[e.end] != '+' && s[e.end] != '-') ++e.end;
  return e;
}

// Parses HH[MM[SS[.S...]]] from s[pos..e.end) into dt. `digits` counts them.
// pos <= e.digits. Two digits at pos..pos+2 are readable exactly when
// pos + 2 <= e.digits (and e.digits <= e.end).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline Problem ParseClock(std::string_view s,
                                                       size_t pos,
                                                       const Extent& e,
                                                       DateTime* dt) {
  const size_t end = e.end;
  if (end - pos < 2) return "bad time in";
  if (pos + 2 > e.digits || (dt->hour = TwoDigits(&s[pos])) > 23) {
    return "bad hour in";
  }
  dt->digits += 2;
  pos += 2;
  if (pos == end) return nullptr;
  if (pos + 2 > e.digits || (dt->minute = TwoDigits(&s[pos])) > 59) {
    return "bad minutes in";
  }
  dt->digits += 2;
  pos += 2;
  if (pos == end) return nullptr;
  if (pos + 2 > e.digits || (dt->second = TwoDigits(&s[pos])) > 60) {
    return "bad seconds in";
  }
  dt->digits += 2;
  pos += 2;
  if (pos == end) return nullptr;
  if (s[pos] != '.') return "bad seconds in";
  ++pos;
  const size_t frac = end - pos;
  if (frac < 1 || frac > 4) return "bad fraction of a second in";
  for (size_t i = pos; i < end; ++i) {
    if (!IsDigit(s[i])) return "bad fraction of a second in";
  }
  dt->fraction = s.substr(pos, frac);
  return nullptr;
}

// One pass over the digits, then field by field: every check of the original
// "Digits(s, pos, n)" form becomes "pos + n <= e.digits".
Problem ParseDateTimeTo(std::string_view s, DateTime* dt) {
  const Extent e = ExtentOf(s);
  if (e.digits < 4) return "bad year in";
  dt->year = TwoDigits(&s[0]) * 100 + TwoDigits(&s[2]);
  dt->digits = 4;
  size_t pos = 4;
  if (pos < e.end) {
    if (pos + 2 > e.digits || (dt->month = TwoDigits(&s[pos])) < 1 ||
        dt->month > 12) {
      return "bad month in";
    }
    dt->digits += 2;
    pos += 2;
  }
  if (pos < e.end) {
    if (pos + 2 > e.digits || (dt->day = TwoDigits(&s[pos])) < 1 ||
        dt->day > DaysInMonth(dt->year, dt->month)) {
      return "bad day in";
    }
    dt->digits += 2;
    pos += 2;
  }
  if (pos < e.end) {
    if (Problem p = ParseClock(s, pos, e, dt)) return p;
  }
  if (e.end < s.size()) {
    if (Problem p = ParseOffset(s, e.end, dt)) return p;
  }
  return nullptr;
}

bool IsDateLength(size_t n) { return n == 4 || n == 6 || n == 8; }

Problem ParseTimeTo(std::string_view s, DateTime* dt) {
  const Extent e = ExtentOf(s);
  if (Problem p = ParseClock(s, 0, e, dt)) return p;
  if (e.end < s.size()) {
    if (Problem p = ParseOffset(s, e.end, dt)) return p;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<DateTime> ParseDateTime(std::string_view s) {
  DateTime dt;
  if (Problem p = ParseDateTimeTo(s, &dt)) return Invalid(p, s);
  return dt;
}

absl::StatusOr<DateTime> ParseDate(std::string_view s) {
  if (!IsDateLength(s.size())) return Invalid("bad date", s);
  return ParseDateTime(s);
}

absl::StatusOr<DateTime> ParseTime(std::string_view s) {
  DateTime dt;
  if (Problem p = ParseTimeTo(s, &dt)) return Invalid(p, s);
  return dt;
}

bool IsValidDateTime(std::string_view dtm) {
  DateTime dt;
  return ParseDateTimeTo(dtm, &dt) == nullptr;
}

bool IsValidDate(std::string_view dt) {
  return IsDateLength(dt.size()) && IsValidDateTime(dt);
}

bool IsValidTime(std::string_view tm) {
  DateTime dt;
  return ParseTimeTo(tm, &dt) == nullptr;
}

bool IsNumeric(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t int_digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++int_digits;
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++frac_digits;
  }
  return i == s.size() && int_digits + frac_digits > 0;
}

absl::StatusOr<StructuredNumeric> ParseStructuredNumeric(std::string_view value,
                                                         const Delimiters& d) {
  StructuredNumeric sn;
  sn.comparator = Piece(value, d.component, 1);
  sn.num1 = Piece(value, d.component, 2);
  sn.separator = Piece(value, d.component, 3);
  sn.num2 = Piece(value, d.component, 4);
  if (PieceCount(value, d.component) > 4) {
    return Invalid("structured numeric has more than 4 components:", value);
  }
  static constexpr std::string_view kComparators[] = {
      "", ">", "<", ">=", "<=", "=", "<>"};
  bool ok = false;
  for (std::string_view c : kComparators) ok = ok || sn.comparator == c;
  if (!ok) return Invalid("bad structured numeric comparator in", value);
  static constexpr std::string_view kSeparators[] = {"",  "-", "+",
                                                     "/", ".", ":"};
  ok = false;
  for (std::string_view c : kSeparators) ok = ok || sn.separator == c;
  if (!ok) return Invalid("bad structured numeric separator in", value);
  if (!sn.num1.empty() && !IsNumeric(sn.num1)) {
    return Invalid("bad first number in structured numeric", value);
  }
  if (!sn.num2.empty() && !IsNumeric(sn.num2)) {
    return Invalid("bad second number in structured numeric", value);
  }
  if (sn.num1.empty() && sn.num2.empty()) {
    return Invalid("structured numeric without a number:", value);
  }
  if (!sn.separator.empty() && sn.num2.empty()) {
    return Invalid("structured numeric separator without a second number:",
                   value);
  }
  return sn;
}

}  // namespace appliance::hl7
