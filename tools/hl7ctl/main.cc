// hl7ctl: the appliance's admin command-line tool.
//
//   hl7ctl validate FILE...   offline: the ACK the appliance would return.
//   hl7ctl convert FILE...    offline: the FHIR R4 Bundle of each message.
//   hl7ctl audit verify --data_dir=DIR   offline: audit trail tamper check.
//
// Commands that talk to a running appliance over gRPC arrive with the control
// plane.
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "tools/hl7ctl/audit.h"
#include "tools/hl7ctl/convert.h"
#include "tools/hl7ctl/validate.h"

namespace {

constexpr int kUsageError = 64;  // EX_USAGE.

const char kUsage[] =
    "usage: hl7ctl COMMAND [ARGS...]\n"
    "\n"
    "commands:\n"
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
    "  help               this text\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return kUsageError;
  }
  const std::string command = argv[1];
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
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
  if (command == "audit") {
    return hl7ctl::RunAudit(std::vector<std::string>(argv + 2, argv + argc),
                            std::cout, std::cerr);
  }
  if (command == "convert") {
    return hl7ctl::RunConvert(std::vector<std::string>(argv + 2, argv + argc),
                              std::cout, std::cerr);
  }
  std::cerr << "hl7ctl: unknown command \"" << command << "\"\n" << kUsage;
  return kUsageError;
}
