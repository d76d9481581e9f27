#include "appliance/hl7/datatypes.h"

#include "absl/strings/str_cat.h"

namespace appliance::hl7 {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

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

// Parses [+|-]HHMM at s[pos..] to the end of s.
absl::Status ParseOffset(std::string_view s, size_t pos, DateTime* dt) {
  const char sign = s[pos];
  int hh = 0;
  int mm = 0;
  if (s.size() - pos != 5 || !Digits(s, pos + 1, 2, &hh) ||
      !Digits(s, pos + 3, 2, &mm) || hh > 14 || mm > 59) {
    return Invalid("bad time zone offset in", s);
  }
  dt->has_offset = true;
  dt->offset_minutes = (sign == '-' ? -1 : 1) * (hh * 60 + mm);
  return absl::OkStatus();
}

// Parses HH[MM[SS[.S...]]] from s[pos..end) into dt. `digits` counts them.
absl::Status ParseClock(std::string_view s, size_t pos, size_t end,
                        DateTime* dt) {
  const size_t n = end - pos;
  if (n < 2) return Invalid("bad time in", s);
  if (!Digits(s, pos, 2, &dt->hour) || dt->hour > 23) {
    return Invalid("bad hour in", s);
  }
  dt->digits += 2;
  pos += 2;
  if (pos == end) return absl::OkStatus();
  if (!Digits(s, pos, 2, &dt->minute) || dt->minute > 59 || pos + 2 > end) {
    return Invalid("bad minutes in", s);
  }
  dt->digits += 2;
  pos += 2;
  if (pos == end) return absl::OkStatus();
  if (!Digits(s, pos, 2, &dt->second) || dt->second > 60 || pos + 2 > end) {
    return Invalid("bad seconds in", s);
  }
  dt->digits += 2;
  pos += 2;
  if (pos == end) return absl::OkStatus();
  if (s[pos] != '.') return Invalid("bad seconds in", s);
  ++pos;
  const size_t frac = end - pos;
  if (frac < 1 || frac > 4) return Invalid("bad fraction of a second in", s);
  for (size_t i = pos; i < end; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return Invalid("bad fraction of a second in", s);
  }
  dt->fraction = s.substr(pos, frac);
  return absl::OkStatus();
}

size_t OffsetStart(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' || s[i] == '-') return i;
  }
  return s.size();
}

}  // namespace

absl::StatusOr<DateTime> ParseDateTime(std::string_view s) {
  DateTime dt;
  const size_t end = OffsetStart(s);
  if (end < 4 || !Digits(s, 0, 4, &dt.year)) return Invalid("bad year in", s);
  dt.digits = 4;
  size_t pos = 4;
  if (pos < end) {
    if (end - pos < 2 || !Digits(s, pos, 2, &dt.month) || dt.month < 1 ||
        dt.month > 12) {
      return Invalid("bad month in", s);
    }
    dt.digits += 2;
    pos += 2;
  }
  if (pos < end) {
    if (end - pos < 2 || !Digits(s, pos, 2, &dt.day) || dt.day < 1 ||
        dt.day > DaysInMonth(dt.year, dt.month)) {
      return Invalid("bad day in", s);
    }
    dt.digits += 2;
    pos += 2;
  }
  if (pos < end) {
    absl::Status st = ParseClock(s, pos, end, &dt);
    if (!st.ok()) return st;
  }
  if (end < s.size()) {
    absl::Status st = ParseOffset(s, end, &dt);
    if (!st.ok()) return st;
  }
  return dt;
}

absl::StatusOr<DateTime> ParseDate(std::string_view s) {
  if (s.size() != 4 && s.size() != 6 && s.size() != 8) {
    return Invalid("bad date", s);
  }
  return ParseDateTime(s);
}

absl::StatusOr<DateTime> ParseTime(std::string_view s) {
  DateTime dt;
  const size_t end = OffsetStart(s);
  absl::Status st = ParseClock(s, 0, end, &dt);
  if (!st.ok()) return st;
  if (end < s.size()) {
    st = ParseOffset(s, end, &dt);
    if (!st.ok()) return st;
  }
  return dt;
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
