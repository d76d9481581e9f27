#include "tools/hl7ctl/audit.h"

#include "appliance/audit/chain.h"
#include "appliance/crypto/keys.h"
#include "appliance/store/lmdb_env.h"

namespace hl7ctl {
namespace {

constexpr char kUsage[] =
    "usage: hl7ctl audit verify --data_dir=DIR [--key_file=FILE]\n"
    "  Checks every audit record's hash and link and the HMAC-authenticated\n"
    "  checkpoint (key file default: DIR.key). Prints OK with the count and\n"
    "  head hash, or the first sequence number where the trail was altered,\n"
    "  removed, inserted, reordered or truncated.\n"
    "  Exit 0 intact, 1 tampered, 2 store or key file unreadable.\n";

}  // namespace

int RunAudit(const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err) {
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
  appliance::store::EnvOptions options;
  options.db_names = {"meta", "audit"};
  options.read_only = true;
  options.create_if_missing = false;
  auto env = appliance::store::Env::Open(data_dir, options);
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
