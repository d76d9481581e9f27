// hl7ctl's online commands: dispatch of "GROUP [SUBCOMMAND] ARGS..." to the
// command table (command.h), and the audit group, which is partly offline.
#ifndef TOOLS_HL7CTL_ONLINE_H_
#define TOOLS_HL7CTL_ONLINE_H_

#include <ostream>
#include <string>
#include <vector>

namespace hl7ctl {

// True for "stats", "queue", "messages", "terminology" and "admin".
bool IsOnlineGroup(const std::string& group);

// Runs `args` = {GROUP, SUBCOMMAND, ARGS...} ({"stats", ARGS...}). Exit
// statuses as in command.h's kCommonHelp.
int RunOnline(const std::vector<std::string>& args, std::ostream& out,
              std::ostream& err);

// `hl7ctl audit ...`: `query` is online; `verify` and `export` read a store
// offline with --data_dir=DIR (audit.h) and ask the server with --server
// (or HL7CTL_SERVER); one of the two is required, both is a usage error.
int RunAuditGroup(const std::vector<std::string>& args, std::ostream& out,
                  std::ostream& err);

// The one-line summaries of the online commands, for `hl7ctl --help`.
std::string OnlineSummary();

}  // namespace hl7ctl

#endif  // TOOLS_HL7CTL_ONLINE_H_
