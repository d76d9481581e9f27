#include "tools/hl7ctl/convert.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "appliance/fhir/datetime.h"
#include "appliance/fhir/mapper.h"
#include "appliance/fhir/terminology.h"
#include "appliance/hl7/message.h"
#include "tools/hl7ctl/file_util.h"

namespace hl7ctl {

const char kConvertUsageText[] =
    "usage: hl7ctl convert FILE... [--terminology=CSV] [--site_tz=ZONE] "
    "[--ndjson] [--strict]\n"
    "  --terminology=CSV  code, system, unit and authority mappings (see\n"
    "                     docs/MAPPING.md)\n"
    "  --site_tz=ZONE     IANA zone for times sent without an offset "
    "(default UTC)\n"
    "  --ndjson           one Bundle per line instead of indented JSON\n"
    "  --strict           hold (exit 1) on unmapped local codes\n";

namespace {

bool StartsWith(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

int RunConvert(const std::vector<std::string>& args, std::ostream& out,
               std::ostream& err) {
  std::vector<std::string> files;
  std::string terminology_path;
  std::string site_tz = "UTC";
  bool ndjson = false;
  bool strict = false;
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      out << kConvertUsageText;
      return kConvertAllMapped;
    } else if (StartsWith(a, "--terminology=")) {
      terminology_path = a.substr(strlen("--terminology="));
    } else if (StartsWith(a, "--site_tz=")) {
      site_tz = a.substr(strlen("--site_tz="));
    } else if (a == "--ndjson") {
      ndjson = true;
    } else if (a == "--strict") {
      strict = true;
    } else if (StartsWith(a, "--")) {
      err << "hl7ctl convert: unknown flag " << a << "\n" << kConvertUsageText;
      return kConvertUsageError;
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    err << "hl7ctl convert: no files given\n" << kConvertUsageText;
    return kConvertUsageError;
  }

  auto terminology = std::make_shared<appliance::fhir::Terminology>();
  if (!terminology_path.empty()) {
    std::string csv;
    std::string error;
    if (!ReadRegularFile(terminology_path, &csv, &error)) {
      err << terminology_path << ": cannot read: " << error << "\n";
      return kConvertUnreadable;
    }
    absl::Status s = terminology->LoadCsv(csv);
    if (!s.ok()) {
      err << terminology_path << ": " << s.message() << "\n";
      return kConvertUnreadable;
    }
  }
  absl::StatusOr<absl::TimeZone> tz =
      appliance::fhir::LoadSiteTimeZone(site_tz);
  if (!tz.ok()) {
    err << "hl7ctl convert: " << tz.status().message() << "\n";
    return kConvertUnreadable;
  }
  appliance::fhir::MapperOptions options;
  options.site_time_zone = *tz;
  options.pretty = !ndjson;
  if (strict) {
    options.unmapped_policy = appliance::fhir::UnmappedPolicy::kHold;
  }
  const appliance::fhir::Mapper mapper(options, terminology);

  bool unreadable = false;
  bool all_mapped = true;
  appliance::fhir::MapResult result;
  for (const std::string& path : files) {
    std::string bytes;
    std::string error;
    if (!ReadRegularFile(path, &bytes, &error)) {
      err << path << ": cannot read: " << error << "\n";
      unreadable = true;
      continue;
    }
    std::vector<std::string_view> messages =
        appliance::hl7::SplitMessages(bytes);
    if (messages.empty()) messages.push_back(bytes);
    for (size_t i = 0; i < messages.size(); ++i) {
      const std::string where = path + ": message " + std::to_string(i + 1) +
                                " of " + std::to_string(messages.size());
      absl::StatusOr<appliance::hl7::Message> message =
          appliance::hl7::Message::Parse(messages[i]);
      if (!message.ok()) {
        err << where
            << ": not mapped: cannot parse: " << message.status().message()
            << "\n";
        all_mapped = false;
        continue;
      }
      absl::Status s = mapper.Map(*message, &result);
      const std::string id_note =
          std::string(", control id ") + std::string(message->control_id());
      for (const appliance::fhir::MappingFinding& f : result.findings) {
        err << where << id_note << ": "
            << appliance::fhir::FindingSeverityName(f.severity) << " " << f.code
            << " at " << f.location.ToString() << ": " << f.text << "\n";
      }
      if (!s.ok()) {
        err << where << id_note << ": not mapped: " << s.message() << "\n";
        all_mapped = false;
        continue;
      }
      if (result.hold) {
        err << where << id_note << ": held: " << result.hold_reason << "\n";
        all_mapped = false;
      }
      out << result.bundle;
      if (ndjson) out << "\n";
    }
  }
  if (unreadable) return kConvertUnreadable;
  return all_mapped ? kConvertAllMapped : kConvertNotMapped;
}

}  // namespace hl7ctl
