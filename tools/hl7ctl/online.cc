#include "tools/hl7ctl/online.h"

#include <cstdlib>

#include "tools/hl7ctl/audit.h"
#include "tools/hl7ctl/command.h"

namespace hl7ctl {
namespace {

const char* RealGetEnv(const char* name) { return getenv(name); }

std::string Line(const Command& c) {
  return "  hl7ctl " + c.path + (c.synopsis.empty() ? "" : " " + c.synopsis) +
         "\n";
}

// The commands of `group` ("queue"), or of every group when empty.
std::string GroupHelp(const std::string& group) {
  std::string s;
  for (const Command& c : AllCommands()) {
    if (group.empty() || c.path == group || c.path.rfind(group + " ", 0) == 0) {
      s += Line(c);
    }
  }
  return s;
}

const Command* Find(const std::string& path) {
  for (const Command& c : AllCommands()) {
    if (c.path == path) return &c;
  }
  return nullptr;
}

int Run(const Command& command, const std::vector<std::string>& rest,
        std::ostream& out, std::ostream& err) {
  Invocation inv(command, out, err);
  const int parsed = inv.Parse(rest, RealGetEnv);
  if (parsed >= 0) return parsed;
  return command.run(inv);
}

}  // namespace

bool IsOnlineGroup(const std::string& group) {
  return group == "stats" || group == "queue" || group == "messages" ||
         group == "terminology" || group == "admin";
}

std::string OnlineSummary() { return GroupHelp(""); }

int RunOnline(const std::vector<std::string>& args, std::ostream& out,
              std::ostream& err) {
  const std::string& group = args.at(0);
  if (const Command* c = Find(group); c != nullptr) {  // "stats".
    return Run(*c, {args.begin() + 1, args.end()}, out, err);
  }
  const std::string sub = args.size() > 1 ? args[1] : "";
  if (sub == "--help" || sub == "-h" || sub == "help") {
    out << "usage:\n"
        << GroupHelp(group) << "(hl7ctl " << group
        << " SUBCOMMAND --help for each)\n";
    return kExitOk;
  }
  const Command* c = Find(group + " " + sub);
  if (c == nullptr) {
    err << "hl7ctl " << group << ": "
        << (sub.empty() ? "missing subcommand"
                        : "unknown subcommand \"" + sub + "\"")
        << "\nusage:\n"
        << GroupHelp(group);
    return kExitUsage;
  }
  return Run(*c, {args.begin() + 2, args.end()}, out, err);
}

int RunAuditGroup(const std::vector<std::string>& args, std::ostream& out,
                  std::ostream& err) {
  const std::string sub = args.empty() ? "" : args[0];
  if (sub == "verify" || sub == "export") {
    bool data_dir = false, server = false, help = false;
    for (const auto& a : args) {
      if (a == "--") break;
      data_dir |= a.rfind("--data_dir=", 0) == 0 || a == "--data_dir";
      server |= a.rfind("--server=", 0) == 0 || a == "--server";
      help |= a == "--help" || a == "-h";
    }
    server |= getenv("HL7CTL_SERVER") != nullptr && !data_dir;
    if (data_dir && server) {
      err << "hl7ctl audit " << sub
          << ": --data_dir (offline, reads the store) and --server (asks hl7d)"
             " exclude each other\n";
      return kExitUsage;
    }
    if (data_dir) return RunAudit(args, out, err);
    if (server) {
      std::vector<std::string> online = {"audit"};
      online.insert(online.end(), args.begin(), args.end());
      return RunOnline(online, out, err);
    }
    if (help) {
      RunAudit(args, out, err);  // The offline usage.
      out << "\nonline (hl7d's AuditService):\n";
      std::vector<std::string> online = {"audit", sub, "--help"};
      return RunOnline(online, out, err);
    }
    err << "hl7ctl audit " << sub
        << ": give --data_dir=DIR (read a store offline) or --server=HOST:PORT "
           "(ask a running hl7d; or HL7CTL_SERVER)\n"
           "(hl7ctl audit "
        << sub << " --help for more)\n";
    return kExitUsage;
  }
  if (sub.empty() || sub == "--help" || sub == "-h" || sub == "help") {
    std::ostream& o = sub.empty() ? err : out;
    o << "usage:\n"
         "  hl7ctl audit verify --data_dir=DIR [--key_file=FILE]   offline\n"
         "  hl7ctl audit export --data_dir=DIR [--format=jsonl|fhir] [...]"
         "   offline\n"
      << GroupHelp("audit")
      << "verify and export read a store offline with --data_dir, and ask a\n"
         "running hl7d with --server (or HL7CTL_SERVER); one is required.\n";
    return sub.empty() ? kExitUsage : kExitOk;
  }
  std::vector<std::string> online = {"audit"};
  online.insert(online.end(), args.begin(), args.end());
  return RunOnline(online, out, err);
}

}  // namespace hl7ctl
