// Parsing and checking of the HL7 v2 primitive data types the validator and
// the FHIR mappers rely on: DTM/TS, DT, TM, NM and SN.
#ifndef APPLIANCE_HL7_DATATYPES_H_
#define APPLIANCE_HL7_DATATYPES_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "appliance/hl7/delimiters.h"

namespace appliance::hl7 {

// A DTM (or the first component of a TS): YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]]
// [+/-ZZZZ]. Fields not given are -1; `digits` says how many date/time digits
// were given (4, 6, 8, 10, 12 or 14), i.e. the precision.
struct DateTime {
  int year = -1;
  int month = -1;
  int day = -1;
  int hour = -1;
  int minute = -1;
  int second = -1;
  std::string_view fraction;  // Digits after '.', empty when none.
  int digits = 0;
  bool has_offset = false;
  int offset_minutes = 0;  // East of UTC.
};

// Parses a DTM. INVALID_ARGUMENT naming the problem when malformed or out of
// range (month 13, day 32, hour 24, minute 60, offset beyond +/-14:00).
absl::StatusOr<DateTime> ParseDateTime(std::string_view dtm);
// DT: YYYY[MM[DD]].
absl::StatusOr<DateTime> ParseDate(std::string_view dt);
// TM: HH[MM[SS[.S[S[S[S]]]]]][+/-ZZZZ]; year/month/day stay -1.
absl::StatusOr<DateTime> ParseTime(std::string_view tm);

// ParseDateTime(dtm).ok(), ParseDate(dt).ok() and ParseTime(tm).ok(), without
// building the result or an error message (the validator's hot path).
bool IsValidDateTime(std::string_view dtm);
bool IsValidDate(std::string_view dt);
bool IsValidTime(std::string_view tm);

// NM: [+|-]digits[.digits] (or .digits). Leading zeros are fine ("065.88");
// grouping separators and decimal commas ("1,5") are not.
bool IsNumeric(std::string_view nm);

// SN: <comparator> ^ <num1> ^ <separator/suffix> ^ <num2>.
struct StructuredNumeric {
  std::string_view comparator;  // "", ">", "<", ">=", "<=", "=", "<>".
  std::string_view num1;
  std::string_view separator;  // "", "-", "+", "/", ".", ":".
  std::string_view num2;
};
absl::StatusOr<StructuredNumeric> ParseStructuredNumeric(
    std::string_view value, const Delimiters& delimiters);

}  // namespace appliance::hl7

#endif  // APPLIANCE_HL7_DATATYPES_H_
