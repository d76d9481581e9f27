// The online (gRPC) commands of hl7ctl: a table of commands, each with its
// flags, help and handler, the shared argument parsing, and the helpers the
// handlers use (seq and time arguments, error lines, exit codes).
//
// Arguments are "--name=VALUE" (repeatable flags may be given more than once,
// or as a comma-separated list) and boolean "--name"; everything else is
// positional. Every command accepts the connection flags (connection.h),
// --json and --help.
#ifndef TOOLS_HL7CTL_COMMAND_H_
#define TOOLS_HL7CTL_COMMAND_H_

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "tools/hl7ctl/connection.h"

namespace hl7ctl {

struct FlagSpec {
  std::string name;  // Without "--".
  enum Kind { kValue, kBool, kRepeated } kind = kValue;
};

class Invocation;

struct Command {
  std::string path;      // "queue list".
  std::string synopsis;  // Arguments after the path.
  std::string help;      // What it does, which RPC, exit codes if special.
  std::vector<FlagSpec> flags;
  int min_args = 0;
  int max_args = 0;
  std::function<int(Invocation&)> run;
};

// One run of a command: its parsed arguments, the connection, the output.
class Invocation {
 public:
  Invocation(const Command& command, std::ostream& out, std::ostream& err)
      : command_(command), out_(out), err_(err) {}

  const Command& command() const { return command_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  const std::vector<std::string>& args() const { return args_; }
  bool json() const { return Has("json"); }

  bool Has(const std::string& flag) const { return values_.count(flag) > 0; }
  // The last value of a flag, or `fallback`.
  std::string Get(const std::string& flag,
                  const std::string& fallback = "") const;
  // Every value of a repeated flag (comma-separated lists split).
  std::vector<std::string> GetAll(const std::string& flag) const;
  // Every value of a repeated flag as given (not split).
  std::vector<std::string> GetRaw(const std::string& flag) const {
    auto it = values_.find(flag);
    return it == values_.end() ? std::vector<std::string>() : it->second;
  }

  // Prints "hl7ctl PATH: why" and the synopsis to stderr; returns 64.
  int Usage(const std::string& why);
  // Prints "hl7ctl: PATH ARGS: message [CODE]" for a failed call; returns its
  // exit code.
  int Fail(const grpc::Status& status);
  // Prints "hl7ctl: PATH ARGS: what" and returns `code`.
  int Error(int code, const std::string& what);

  // Parsers for arguments; on failure they print the usage error and return
  // false (the caller returns kExitUsage).
  bool Seq(size_t index, uint64_t* seq);  // Positional, > 0.
  bool Uint(const std::string& flag, uint64_t max, uint64_t* value);
  bool Int(const std::string& flag, int64_t* value);
  // Sets the field `mutable_field()` returns only when the flag is given
  // (an unset Timestamp means "no bound").
  bool Time(const std::string& flag,
            const std::function<google::protobuf::Timestamp*()>& mutable_field);

  Connection& conn() { return *conn_; }
  std::unique_ptr<grpc::ClientContext> Context() const {
    return conn_->NewContext();
  }

  // Parses `argv` (after the command path). Returns -1 when the command
  // should run, else the exit status (help printed: 0; usage error: 64).
  int Parse(const std::vector<std::string>& argv, const GetEnv& getenv);

 private:
  const Command& command_;
  std::ostream& out_;
  std::ostream& err_;
  std::vector<std::string> args_;
  std::map<std::string, std::vector<std::string>> values_;
  std::unique_ptr<Connection> conn_;
};

// Adds each service's commands to `commands` (command_*.cc).
void AddStatsCommands(std::vector<Command>* commands);
void AddQueueCommands(std::vector<Command>* commands);
void AddMessageCommands(std::vector<Command>* commands);
void AddAuditCommands(std::vector<Command>* commands);
void AddTerminologyCommands(std::vector<Command>* commands);
void AddAdminCommands(std::vector<Command>* commands);

// Every online command.
const std::vector<Command>& AllCommands();

// The connection flags, --json, exit codes: shared by every --help.
extern const char kCommonHelp[];

// Writes a table page's continuation hint ("next page: --page_token=...") to
// stderr when `token` is set.
void PrintNextPage(Invocation& inv, const std::string& token);

}  // namespace hl7ctl

#endif  // TOOLS_HL7CTL_COMMAND_H_
