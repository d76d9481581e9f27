#include "tools/hl7ctl/command.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "tools/hl7ctl/audit.h"

namespace hl7ctl {

const char kCommonHelp[] =
    "connection (each flag also from its environment variable):\n"
    "  --server=HOST:PORT   hl7d's gRPC control plane (HL7CTL_SERVER;\n"
    "                       default 127.0.0.1:50051)\n"
    "  --token_file=FILE    bearer token, read from FILE (HL7CTL_TOKEN_FILE);\n"
    "                       or the token itself in HL7CTL_TOKEN. Never a "
    "flag.\n"
    "  --tls                TLS (HL7CTL_TLS=1); without it only a loopback\n"
    "                       server is allowed (plain text)\n"
    "  --ca_file=PEM        CA to verify the server with (HL7CTL_CA_FILE;\n"
    "                       default: the system's)\n"
    "  --cert_file=PEM --key_file=PEM  client certificate for mTLS\n"
    "                       (HL7CTL_CERT_FILE, HL7CTL_KEY_FILE)\n"
    "  --server_name=NAME   TLS name to verify (HL7CTL_SERVER_NAME)\n"
    "  --timeout_s=N        per call (HL7CTL_TIMEOUT_S; default 30)\n"
    "output: tables / \"key: value\" lines; --json prints the response proto\n"
    "  as one line of JSON (proto field names), streams as JSON lines.\n"
    "exit: 0 ok, 1 server error, 3 not found, 64 usage error, 69 server\n"
    "  unreachable or unavailable (or timed out), 77 permission denied or\n"
    "  not authenticated.\n";

std::string Invocation::Get(const std::string& flag,
                            const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() || it->second.empty() ? fallback
                                                   : it->second.back();
}

std::vector<std::string> Invocation::GetAll(const std::string& flag) const {
  std::vector<std::string> out;
  auto it = values_.find(flag);
  if (it == values_.end()) return out;
  for (const auto& v : it->second) {
    for (absl::string_view part : absl::StrSplit(v, ',', absl::SkipEmpty())) {
      out.emplace_back(part);
    }
  }
  return out;
}

int Invocation::Usage(const std::string& why) {
  err_ << "hl7ctl " << command_.path << ": " << why << "\n"
       << "usage: hl7ctl " << command_.path
       << (command_.synopsis.empty() ? "" : " ") << command_.synopsis
       << "\n(hl7ctl " << command_.path << " --help for more)\n";
  return kExitUsage;
}

int Invocation::Error(int code, const std::string& what) {
  std::string line = "hl7ctl: " + command_.path;
  for (const auto& a : args_) line += " " + a;
  line += ": " + what;
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  err_ << line << "\n";
  return code;
}

int Invocation::Fail(const grpc::Status& status) {
  std::string what = status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    what = "cannot reach hl7d at " + conn_->options().target + ": " + what;
  }
  return Error(ExitCodeFor(status),
               what + " [" + StatusCodeName(status.error_code()) + "]");
}

bool Invocation::Seq(size_t index, uint64_t* seq) {
  if (index >= args_.size() || !absl::SimpleAtoi(args_[index], seq) ||
      *seq == 0) {
    Usage("SEQ: expected a message sequence number (1, 2, ...)");
    return false;
  }
  return true;
}

bool Invocation::Uint(const std::string& flag, uint64_t max, uint64_t* value) {
  if (!Has(flag)) return true;
  if (!absl::SimpleAtoi(Get(flag), value) || *value > max) {
    Usage("--" + flag + ": expected a number up to " + std::to_string(max));
    return false;
  }
  return true;
}

bool Invocation::Int(const std::string& flag, int64_t* value) {
  if (!Has(flag)) return true;
  if (!absl::SimpleAtoi(Get(flag), value) || *value < 0) {
    Usage("--" + flag + ": expected a number >= 0");
    return false;
  }
  return true;
}

bool Invocation::Time(
    const std::string& flag,
    const std::function<google::protobuf::Timestamp*()>& mutable_field) {
  if (!Has(flag)) return true;
  const std::string text = Get(flag);
  absl::Time when;
  if (!ParseWhen(text, &when)) {
    Usage("--" + flag + "=" + text +
          ": expected RFC 3339 (2026-11-01T00:00:00Z) or YYYY-MM-DD (UTC)");
    return false;
  }
  // Seconds rounded down and nanos in [0, 1e9), as Timestamp requires (also
  // before 1970).
  const int64_t seconds = absl::ToUnixSeconds(when);
  google::protobuf::Timestamp* t = mutable_field();
  t->set_seconds(seconds);
  t->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(when - absl::FromUnixSeconds(seconds))));
  return true;
}

int Invocation::Parse(const std::vector<std::string>& argv,
                      const GetEnv& getenv) {
  static const std::vector<FlagSpec> kCommon = {
      {"server"},
      {"token_file"},
      {"tls", FlagSpec::kBool},
      {"ca_file"},
      {"cert_file"},
      {"key_file"},
      {"server_name"},
      {"timeout_s"},
      {"json", FlagSpec::kBool},
      {"help", FlagSpec::kBool},
  };
  auto find = [&](const std::string& name) -> const FlagSpec* {
    for (const auto& f : command_.flags) {
      if (f.name == name) return &f;
    }
    for (const auto& f : kCommon) {
      if (f.name == name) return &f;
    }
    return nullptr;
  };
  bool positional_only = false;
  for (const std::string& a : argv) {
    if (positional_only || a.size() < 2 || a[0] != '-' ||
        (a.size() > 1 && a[1] != '-' && a != "-h")) {
      args_.push_back(a);
      continue;
    }
    if (a == "--") {
      positional_only = true;
      continue;
    }
    if (a == "-h") {
      values_["help"].push_back("true");
      continue;
    }
    const size_t eq = a.find('=');
    const std::string name = a.substr(2, eq == std::string::npos ? eq : eq - 2);
    const FlagSpec* spec = find(name);
    if (spec == nullptr) return Usage("unknown flag --" + name);
    if (spec->kind == FlagSpec::kBool) {
      if (eq != std::string::npos) {
        return Usage("--" + name + " takes no value");
      }
      values_[name].push_back("true");
    } else {
      if (eq == std::string::npos) {
        return Usage("--" + name + " needs a value (--" + name + "=VALUE)");
      }
      if (spec->kind == FlagSpec::kValue && values_.count(name)) {
        return Usage("--" + name + " given twice");
      }
      values_[name].push_back(a.substr(eq + 1));
    }
  }
  if (Has("help")) {
    out_ << "usage: hl7ctl " << command_.path
         << (command_.synopsis.empty() ? "" : " ") << command_.synopsis
         << "\n\n"
         << command_.help << "\n"
         << kCommonHelp;
    return kExitOk;
  }
  const int n = static_cast<int>(args_.size());
  if (n < command_.min_args || n > command_.max_args) {
    if (n > command_.max_args) {
      return Usage("unexpected argument \"" + args_[command_.max_args] + "\"");
    }
    return Usage("missing argument");
  }
  ConnectionFlags flags;
  flags.server = Get("server");
  flags.token_file = Get("token_file");
  flags.tls = Has("tls");
  flags.ca_file = Get("ca_file");
  flags.cert_file = Get("cert_file");
  flags.key_file = Get("key_file");
  flags.server_name = Get("server_name");
  flags.timeout_s = Get("timeout_s");
  absl::StatusOr<ConnectionOptions> options = ResolveConnection(flags, getenv);
  if (!options.ok()) return Usage(std::string(options.status().message()));
  conn_ = std::make_unique<Connection>(*std::move(options));
  return -1;
}

const std::vector<Command>& AllCommands() {
  static const std::vector<Command>* commands = [] {
    auto* c = new std::vector<Command>;
    AddStatsCommands(c);
    AddQueueCommands(c);
    AddMessageCommands(c);
    AddAuditCommands(c);
    AddTerminologyCommands(c);
    AddAdminCommands(c);
    return c;
  }();
  return *commands;
}

void PrintNextPage(Invocation& inv, const std::string& token) {
  if (!token.empty()) {
    inv.err() << "next page: --page_token=" << token << "\n";
  }
}

}  // namespace hl7ctl
