// hl7ctl: the appliance's admin command-line tool.
//
//   hl7ctl validate FILE...   offline: the ACK the appliance would return.
//   hl7ctl convert FILE...    offline: the FHIR R4 Bundle of each message.
//   hl7ctl audit verify|export --data_dir=DIR   offline: the audit trail.
//   hl7ctl stats|queue|messages|audit|terminology|admin ...   online: hl7d's
//                             gRPC control plane (online.h, command.h).
#include <csignal>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "tools/hl7ctl/audit.h"
#include "tools/hl7ctl/command.h"
#include "tools/hl7ctl/convert.h"
#include "tools/hl7ctl/online.h"
#include "tools/hl7ctl/validate.h"

namespace {

constexpr int kUsageError = 64;  // EX_USAGE.

const char kUsage[] =
    "usage: hl7ctl COMMAND [ARGS...]\n"
    "\n"
    "offline commands (no server):\n"
    "  validate FILE...   parse and validate HL7 v2 files offline; prints per\n"
    "                     message the ACK the appliance would return and each\n"
    "                     finding. Exit 0 when every message is accepted "
    "(AA/CA),\n"
    "                     1 otherwise, 2 when a file cannot be read.\n"
    "  convert FILE...    map HL7 v2 files to FHIR R4 transaction Bundles\n"
    "                     offline (JSON on stdout, findings on stderr).\n"
    "                     Flags: --terminology=CSV --site_tz=ZONE --ndjson\n"
    "                     --strict. Exit 0 when every message is mapped,\n"
    "                     1 otherwise, 2 when an input cannot be read.\n"
    "  audit verify --data_dir=DIR [--key_file=FILE]\n"
    "                     check the audit trail of a store offline: exit 0\n"
    "                     intact, 1 tampered (first bad record named), 2 when\n"
    "                     the store or key file cannot be read.\n"
    "  audit export --data_dir=DIR [--format=jsonl|fhir] [--from=T] [--to=T]\n"
    "                     audit records as JSON lines or FHIR AuditEvents\n"
    "  help               this text\n"
    "\n"
    "online commands (hl7d's gRPC control plane; each has --help):\n";

// Text after the online command list.
const char kUsageTail[] =
    "\n"
    "audit verify / audit export: --data_dir=DIR reads a store offline;\n"
    "--server=HOST:PORT (or HL7CTL_SERVER) asks hl7d instead. One of the two "
    "is\n"
    "required (both: usage error). audit query is always online.\n"
    "Connection flags and environment variables may also come before the\n"
    "online command (hl7ctl --json stats).\n"
    "\n";

std::string FullUsage() {
  return std::string(kUsage) + hl7ctl::OnlineSummary() + kUsageTail +
         hl7ctl::kCommonHelp;
}

}  // namespace

int main(int argc, char** argv) {
  // A reader that stops early (`hl7ctl --help | grep -q`) must not kill us
  // mid-write: writes then fail and the streams say so.
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    std::cerr << FullUsage();
    return kUsageError;
  }
  // Flags before the command belong to an online command: move them after it.
  std::vector<std::string> leading;
  int first = 1;
  while (first < argc && argv[first][0] == '-' &&
         strcmp(argv[first], "-h") != 0 && strcmp(argv[first], "--help") != 0) {
    leading.push_back(argv[first++]);
  }
  if (first >= argc) {
    std::cerr << "hl7ctl: no command given\n" << FullUsage();
    return kUsageError;
  }
  const std::string command = argv[first];
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << FullUsage();
    return 0;
  }
  std::vector<std::string> rest(argv + first + 1, argv + argc);
  if (hl7ctl::IsOnlineGroup(command) || command == "audit") {
    std::vector<std::string> args;
    if (command != "audit") args.push_back(command);
    // The subcommand first, then the leading flags, then the rest.
    size_t sub = 0;
    if (!rest.empty() && rest[0][0] != '-' && command != "stats") {
      args.push_back(rest[0]);
      sub = 1;
    }
    args.insert(args.end(), leading.begin(), leading.end());
    args.insert(args.end(), rest.begin() + sub, rest.end());
    return command == "audit"
               ? hl7ctl::RunAuditGroup(args, std::cout, std::cerr)
               : hl7ctl::RunOnline(args, std::cout, std::cerr);
  }
  if (!leading.empty()) {
    std::cerr << "hl7ctl: " << leading[0] << ": flags before the command are "
              << "only for the online commands\n";
    return kUsageError;
  }
  argv += first - 1;
  argc -= first - 1;
  if (command == "validate") {
    std::vector<std::string> files;
    for (int i = 2; i < argc; ++i) {
      if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
        std::cout << "usage: hl7ctl validate FILE...\n";
        return 0;
      }
      files.push_back(argv[i]);
    }
    if (files.empty()) {
      std::cerr << "hl7ctl validate: no files given\nusage: hl7ctl validate "
                   "FILE...\n";
      return kUsageError;
    }
    return hl7ctl::RunValidate(files, std::cout, std::cerr);
  }
  if (command == "convert") {
    return hl7ctl::RunConvert(std::vector<std::string>(argv + 2, argv + argc),
                              std::cout, std::cerr);
  }
  std::cerr << "hl7ctl: unknown command \"" << command << "\"\n" << FullUsage();
  return kUsageError;
}
