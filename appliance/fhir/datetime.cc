#include "appliance/fhir/datetime.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/hl7/datatypes.h"

namespace appliance::fhir {
namespace {

void Append2(int v, std::string* out) {
  out->push_back(static_cast<char>('0' + v / 10));
  out->push_back(static_cast<char>('0' + v % 10));
}

void AppendDate(const hl7::DateTime& dt, std::string* out) {
  // The year as "%04d" would print it, without snprintf (a date is
  // converted for nearly every resource).
  if (dt.year >= 0 && dt.year <= 9999) {
    const char digits[4] = {static_cast<char>('0' + dt.year / 1000),
                            static_cast<char>('0' + dt.year / 100 % 10),
                            static_cast<char>('0' + dt.year / 10 % 10),
                            static_cast<char>('0' + dt.year % 10)};
    out->append(digits, 4);
  } else {
    char buf[16];
    snprintf(buf, sizeof(buf), "%04d", dt.year);
    out->append(buf);
  }
  if (dt.month < 0) return;
  out->push_back('-');
  Append2(dt.month, out);
  if (dt.day < 0) return;
  out->push_back('-');
  Append2(dt.day, out);
}

// "Thh:mm:ss[.f]" with minutes and seconds padded.
void AppendClock(const hl7::DateTime& dt, std::string* out) {
  out->push_back('T');
  Append2(dt.hour, out);
  out->push_back(':');
  Append2(dt.minute < 0 ? 0 : dt.minute, out);
  out->push_back(':');
  Append2(dt.second < 0 ? 0 : dt.second, out);
  if (!dt.fraction.empty()) {
    out->push_back('.');
    out->append(dt.fraction.data(), dt.fraction.size());
  }
}

// Offset east of UTC, in minutes, that `site` gives the wall-clock time of
// `dt` (which must have at least a day).
int SiteOffsetMinutes(const hl7::DateTime& dt, const absl::TimeZone& site) {
  const absl::CivilSecond civil(
      dt.year, dt.month, dt.day, dt.hour < 0 ? 0 : dt.hour,
      dt.minute < 0 ? 0 : dt.minute, dt.second < 0 ? 0 : dt.second);
  // `pre` is the instant under the offset in force before any transition:
  // the earlier instant of a repeated hour, the pre-change reading of a
  // skipped one. The offset is then wall clock minus that instant.
  const absl::TimeZone::TimeInfo info = site.At(civil);
  const int64_t wall =
      absl::ToUnixSeconds(absl::FromCivil(civil, absl::UTCTimeZone()));
  const int64_t instant = absl::ToUnixSeconds(info.pre);
  return static_cast<int>((wall - instant) / 60);
}

void AppendOffset(int minutes, std::string* out) {
  out->push_back(minutes < 0 ? '-' : '+');
  const int m = std::abs(minutes);
  Append2(m / 60, out);
  out->push_back(':');
  Append2(m % 60, out);
}

}  // namespace

absl::StatusOr<absl::TimeZone> LoadSiteTimeZone(const std::string& name) {
  if (name.empty()) {
    return absl::InvalidArgumentError(
        "site time zone is not configured (an IANA name such as "
        "Europe/Zurich)");
  }
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(name, &tz)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown time zone \"", name,
                     "\" (an IANA name from /usr/share/zoneinfo is needed)"));
  }
  return tz;
}

absl::StatusOr<std::string> ToFhirDateTime(std::string_view dtm,
                                           const absl::TimeZone& site) {
  ASSIGN_OR_RETURN(const hl7::DateTime dt, hl7::ParseDateTime(dtm));
  std::string out;
  out.reserve(32);
  AppendDate(dt, &out);
  if (dt.hour < 0) return out;  // Date precision: FHIR takes no offset.
  AppendClock(dt, &out);
  AppendOffset(dt.has_offset ? dt.offset_minutes : SiteOffsetMinutes(dt, site),
               &out);
  return out;
}

absl::StatusOr<std::string> ToFhirInstant(std::string_view dtm,
                                          const absl::TimeZone& site) {
  ASSIGN_OR_RETURN(hl7::DateTime dt, hl7::ParseDateTime(dtm));
  if (dt.day < 0) {
    return absl::InvalidArgumentError(
        "an instant needs at least a full date (YYYYMMDD)");
  }
  if (dt.hour < 0) dt.hour = 0;
  std::string out;
  out.reserve(32);
  AppendDate(dt, &out);
  AppendClock(dt, &out);
  AppendOffset(dt.has_offset ? dt.offset_minutes : SiteOffsetMinutes(dt, site),
               &out);
  return out;
}

absl::StatusOr<std::string> ToFhirDate(std::string_view dt_text) {
  ASSIGN_OR_RETURN(hl7::DateTime dt, hl7::ParseDateTime(dt_text));
  std::string out;
  AppendDate(dt, &out);
  return out;
}

absl::StatusOr<std::string> ToFhirTime(std::string_view tm) {
  ASSIGN_OR_RETURN(const hl7::DateTime dt, hl7::ParseTime(tm));
  std::string out;
  AppendClock(dt, &out);
  return out.substr(1);  // Without the 'T'.
}

}  // namespace appliance::fhir
