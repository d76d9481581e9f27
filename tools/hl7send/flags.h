// A tiny command-line flag parser shared by the MLLP tools (hl7send, hl7load).
//
// Accepted forms: --name=value and --name value; booleans as --name,
// --name=true|false (also 1/0, yes/no) and --noname; -h and --help request the
// help text; "--" ends the flags. Other arguments, and everything after "--",
// are positional.
//
// Usage:
//   std::string host = "127.0.0.1";  // The default.
//   FlagSet flags;
//   flags.String("host", &host, "HOST", "server address");
//   absl::Status s = flags.Parse(argc, argv);
#ifndef TOOLS_HL7SEND_FLAGS_H_
#define TOOLS_HL7SEND_FLAGS_H_

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace hl7send {

class FlagSet {
 public:
  FlagSet() = default;
  FlagSet(const FlagSet&) = delete;
  FlagSet& operator=(const FlagSet&) = delete;

  // Registers a flag. `*value` holds the default (shown in Describe()) and
  // receives the parsed value; it must outlive the FlagSet. `metavar` names the
  // value in the help text ("HOST"). Numbers outside [min, max] are rejected.
  void String(const char* name, std::string* value, const char* metavar,
              const char* help);
  void Int(const char* name, int64_t* value, int64_t min, int64_t max,
           const char* help);
  void Double(const char* name, double* value, double min, double max,
              const char* help);
  void Bool(const char* name, bool* value, const char* help);

  // Parses argv[1..argc). INVALID_ARGUMENT, naming the flag, for an unknown
  // flag or a missing or malformed value. Stops early (OK) at --help.
  absl::Status Parse(int argc, const char* const* argv);

  bool help_requested() const { return help_requested_; }
  const std::vector<std::string>& positional() const { return positional_; }
  // True when the command line set `name` (so a default can be told apart).
  bool IsSet(const std::string& name) const { return set_.count(name) > 0; }

  // The flags, one or two lines each, with their defaults.
  std::string Describe() const;

 private:
  struct Flag {
    std::string name;
    std::string metavar;  // Empty for booleans.
    std::string help;
    std::string default_text;
    // Parses and stores a value; false when malformed or out of range.
    std::function<bool(const std::string&)> set;
  };
  const Flag* Find(const std::string& name) const;

  std::vector<Flag> flags_;
  std::vector<std::string> positional_;
  std::set<std::string> set_;
  bool help_requested_ = false;
};

}  // namespace hl7send

#endif  // TOOLS_HL7SEND_FLAGS_H_
