#include "tools/hl7ctl/audit.h"

#include <fstream>

#include "absl/time/time.h"
#include "appliance/audit/chain.h"
#include "appliance/audit/export.h"
#include "appliance/crypto/keys.h"
#include "appliance/store/lmdb_env.h"

namespace hl7ctl {
namespace {

constexpr char kUsage[] =
    "usage: hl7ctl audit verify --data_dir=DIR [--key_file=FILE]\n"
    "  Checks every audit record's hash and link, the retention anchor and the\n"
    "  HMAC-authenticated checkpoint (key file default: DIR.key). Prints OK\n"
    "  with the count and head hash, or the first sequence number where the\n"
    "  trail was altered, removed, inserted, reordered or truncated.\n"
    "  Exit 0 intact, 1 tampered, 2 store or key file unreadable.\n"
    "\n"
    "       hl7ctl audit export --data_dir=DIR [--format=jsonl|fhir]\n"
    "                           [--from=TIME] [--to=TIME] [--type=EVENT]\n"
    "                           [--message_seq=N] [--out=FILE]\n"
    "  Writes the audit records (no PHI) as JSON lines, or as FHIR R4\n"
    "  AuditEvent resources (NDJSON), oldest first. TIME is RFC 3339\n"
    "  (2026-11-01T00:00:00Z) or a date (2026-11-01, UTC); --from inclusive,\n"
    "  --to exclusive. EVENT is a type name such as AUDIT_MESSAGE_RECEIVED.\n"
    "  Exit 0 written, 2 store unreadable, 64 usage error.\n";

absl::StatusOr<std::unique_ptr<appliance::store::Env>> OpenAudit(
    const std::string& data_dir) {
  appliance::store::EnvOptions options;
  options.db_names = {"meta", "audit", "messages"};
  options.read_only = true;
  options.create_if_missing = false;
  return appliance::store::Env::Open(data_dir, options);
}

int RunExport(const std::vector<std::string>& args, std::ostream& out,
              std::ostream& err) {
  std::string data_dir, format = "jsonl", out_file;
  appliance::audit::ExportFilter filter;
  auto usage = [&](const std::string& why) {
    err << "hl7ctl audit export: " << why << "\n" << kUsage;
    return 64;
  };
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    const size_t eq = a.find('=');
    const std::string name = a.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : a.substr(eq + 1);
    if (a == "--help" || a == "-h") {
      out << kUsage;
      return 0;
    } else if (name == "--data_dir") {
      data_dir = value;
    } else if (name == "--format") {
      if (value != "jsonl" && value != "fhir") {
        return usage("--format must be jsonl or fhir, not \"" + value + "\"");
      }
      format = value;
    } else if (name == "--from" || name == "--to") {
      absl::Time when;
      if (!ParseWhen(value, &when)) {
        return usage(name + "=" + value + ": expected RFC 3339 or YYYY-MM-DD");
      }
      (name == "--from" ? filter.from_us : filter.to_us) =
          absl::ToUnixMicros(when);
    } else if (name == "--type") {
      appliance::audit::pb::AuditEventType type;
      if (!appliance::audit::pb::AuditEventType_Parse(value, &type)) {
        return usage("--type=" + value + ": unknown event type");
      }
      filter.type = type;
    } else if (name == "--message_seq") {
      char* end = nullptr;
      filter.message_seq = strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0') return usage("--message_seq: expected a number");
    } else if (name == "--out") {
      out_file = value;
    } else {
      return usage("unknown argument \"" + a + "\"");
    }
  }
  if (data_dir.empty()) return usage("--data_dir=DIR is required");
  auto env = OpenAudit(data_dir);
  if (!env.ok()) {
    err << "hl7ctl audit export: cannot open " << data_dir << ": "
        << env.status().message() << "\n";
    return 2;
  }
  std::ofstream file;
  std::ostream* sink = &out;
  if (!out_file.empty()) {
    file.open(out_file, std::ios::binary | std::ios::trunc);
    if (!file) {
      err << "hl7ctl audit export: cannot write " << out_file << "\n";
      return 2;
    }
    sink = &file;
  }
  absl::StatusOr<uint64_t> n = appliance::audit::Export(
      **env, filter,
      format == "fhir" ? appliance::audit::ExportFormat::kFhirAuditEvent
                       : appliance::audit::ExportFormat::kJsonLines,
      *sink);
  if (!n.ok()) {
    err << "hl7ctl audit export: " << n.status().message() << "\n";
    return 2;
  }
  err << "hl7ctl audit export: " << *n << " records\n";
  return 0;
}

}  // namespace

bool ParseWhen(const std::string& text, absl::Time* when) {
  std::string err;
  return absl::ParseTime(absl::RFC3339_full, text, when, &err) ||
         absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), when, &err);
}

int RunAudit(const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err) {
  if (!args.empty() && args[0] == "export") return RunExport(args, out, err);
  if (args.empty() || args[0] != "verify") {
    err << kUsage;
    return 64;
  }
  std::string data_dir, key_file;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out << kUsage;
      return 0;
    } else if (a.rfind("--data_dir=", 0) == 0) {
      data_dir = a.substr(11);
    } else if (a.rfind("--key_file=", 0) == 0) {
      key_file = a.substr(11);
    } else {
      err << "hl7ctl audit verify: unknown argument \"" << a << "\"\n"
          << kUsage;
      return 64;
    }
  }
  if (data_dir.empty()) {
    err << "hl7ctl audit verify: --data_dir=DIR is required\n" << kUsage;
    return 64;
  }
  while (data_dir.size() > 1 && data_dir.back() == '/') data_dir.pop_back();
  if (key_file.empty()) key_file = data_dir + ".key";
  absl::StatusOr<appliance::crypto::KeyFile> key =
      appliance::crypto::KeyFile::Load(key_file);
  if (!key.ok()) {
    err << "hl7ctl audit verify: key file " << key_file << ": "
        << key.status().message() << "\n";
    return 2;
  }
  auto env = OpenAudit(data_dir);
  if (!env.ok()) {
    err << "hl7ctl audit verify: cannot open " << data_dir << ": "
        << env.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<appliance::audit::VerifyReport> report =
      appliance::audit::Verify(**env, key->audit_hmac_key());
  if (!report.ok()) {
    err << "hl7ctl audit verify: " << report.status().message() << "\n";
    return 2;
  }
  out << appliance::audit::FormatReport(*report) << "\n";
  return report->ok ? 0 : 1;
}

}  // namespace hl7ctl
