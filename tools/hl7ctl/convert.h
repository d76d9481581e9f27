// `hl7ctl convert FILE... [--terminology=CSV] [--site_tz=ZONE] [--ndjson]
// [--strict]`: HL7 v2 -> FHIR R4 transaction Bundles, offline.
#ifndef TOOLS_HL7CTL_CONVERT_H_
#define TOOLS_HL7CTL_CONVERT_H_

#include <ostream>
#include <string>
#include <vector>

namespace hl7ctl {

// Exit statuses of `hl7ctl convert` (a fixed interface).
inline constexpr int kConvertAllMapped = 0;
// Some message could not be mapped (unparseable, unsupported type, no
// patient) or would be held (mapping error, strict-mode unmapped code).
inline constexpr int kConvertNotMapped = 1;
// A file, the terminology CSV or the time zone could not be read.
inline constexpr int kConvertUnreadable = 2;
inline constexpr int kConvertUsageError = 64;

// Runs the command with `args` (everything after "convert"). Bundles go to
// `out` (indented JSON, or one line each with --ndjson); findings, holds and
// errors to `err`, one per line as "FILE: message N: ...". Findings never
// print patient data.
int RunConvert(const std::vector<std::string>& args, std::ostream& out,
               std::ostream& err);

extern const char kConvertUsageText[];

}  // namespace hl7ctl

#endif  // TOOLS_HL7CTL_CONVERT_H_
