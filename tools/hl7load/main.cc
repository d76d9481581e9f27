// hl7load: MLLP load generator for the appliance (or any MLLP receiver).
//
//   hl7load [--host=H] [--port=N] [--connections=N] [--messages=N |
//           --duration_s=S] [--rate=R] [--pipeline=K] [--dir=DIR] [--json]
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "tools/hl7load/load.h"
#include "tools/hl7load/stats.h"
#include "tools/hl7load/templates.h"
#include "tools/hl7send/flags.h"
#include "tools/hl7send/input.h"
#include "tools/hl7send/mllp_client.h"
#include "tools/hl7send/tls_flags.h"

namespace {

constexpr int kExitAllAccepted = 0;
constexpr int kExitNotAccepted = 1;
constexpr int kExitUnreadable = 2;
constexpr int kExitUsage = 64;  // EX_USAGE.

const char kUsageHead[] = R"(usage: hl7load [FLAGS]

Sends HL7 v2 messages over MLLP on several connections at once and reports
the throughput achieved, the ACK latency (p50/p95/p99/max) and the count of
each ACK code, timeouts and errors. Each connection sends a message, waits
for its ACK, then sends the next (with --pipeline=K, up to K in flight). The
messages are the files of --dir (round robin), or a built-in synthetic
ORU^R01; with --unique_ids each gets MSH-10 = LOAD-<pid>-<connection>-<seq>
so the receiver's duplicate detection does not collapse them.

Exit status: 0 every message got AA or CA; 1 otherwise (AE/AR/CE/CR,
timeout, connection error, message not sent); 2 unreadable --dir or TLS
file; 64 usage error.

flags:
)";

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int64_t port = 2575;
  int64_t connections = 8;
  int64_t messages = 10000;
  double duration_s = 0;
  double rate = 0;
  int64_t pipeline = 1;
  std::string dir;
  bool unique_ids = true;
  int64_t timeout_ms = 10000;
  hl7send::TlsFlags tls;
  bool json = false;

  hl7send::FlagSet flags;
  flags.String("host", &host, "HOST", "receiver address or name");
  flags.Int("port", &port, 1, 65535, "receiver port");
  flags.Int("connections", &connections, 1, 1000,
            "connections (one thread each)");
  flags.Int("messages", &messages, 0, int64_t{1} << 40,
            "messages in total; 0: no limit (needs --duration_s)");
  flags.Double("duration_s", &duration_s, 0, 1e7,
               "stop sending after this many seconds; without --messages, "
               "no message limit (0: no time limit)");
  flags.Double("rate", &rate, 0, 1e9,
               "target messages/s over all connections; 0: as fast as "
               "possible");
  flags.Int("pipeline", &pipeline, 1, 1000,
            "messages in flight per connection");
  flags.String("dir", &dir, "DIR",
               "folder of HL7 files to send round robin (default: a "
               "built-in ORU^R01)");
  flags.Bool("unique_ids", &unique_ids,
             "rewrite MSH-10 to a unique control id (--nounique_ids: send "
             "as is)");
  flags.Int("timeout_ms", &timeout_ms, 1, 3600 * 1000,
            "connect timeout and ACK wait per message");
  tls.Register(flags);
  flags.Bool("json", &json, "print the results as one JSON object");

  const absl::Status parsed = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << kUsageHead << flags.Describe();
    return 0;
  }
  if (parsed.ok() && duration_s > 0 && !flags.IsSet("messages")) messages = 0;
  std::string usage_error;
  if (!parsed.ok()) {
    usage_error = std::string(parsed.message());
  } else if (!flags.positional().empty()) {
    usage_error = "unexpected argument \"" + flags.positional()[0] + "\"";
  } else if (messages == 0 && duration_s == 0) {
    usage_error = "--messages=0 needs --duration_s";
  } else if (!tls.Check().empty()) {
    usage_error = tls.Check();
  }
  if (!usage_error.empty()) {
    std::cerr << "hl7load: " << usage_error
              << "\nusage: hl7load [FLAGS] (see --help)\n";
    return kExitUsage;
  }

  std::vector<hl7load::MessageTemplate> templates;
  if (dir.empty()) {
    templates.push_back(
        *hl7load::MessageTemplate::Create(hl7load::BuiltinOru()));
  } else {
    std::vector<std::string> errors, warnings;
    std::vector<hl7send::InputMessage> inputs =
        hl7send::LoadMessages({dir}, &errors, &warnings);
    for (const std::string& w : warnings) std::cerr << w << "\n";
    if (errors.empty() && inputs.empty()) {
      errors.push_back(dir + ": no HL7 message found");
    }
    for (hl7send::InputMessage& input : inputs) {
      absl::StatusOr<hl7load::MessageTemplate> t =
          hl7load::MessageTemplate::Create(std::move(input.payload));
      if (!t.ok()) {
        errors.push_back(input.file + ": " + std::string(t.status().message()));
        continue;
      }
      templates.push_back(*std::move(t));
    }
    if (!errors.empty()) {
      for (const std::string& e : errors) std::cerr << e << "\n";
      return kExitUnreadable;
    }
  }

  hl7send::ClientOptions client_options;
  client_options.host = host;
  client_options.port = static_cast<uint16_t>(port);
  tls.Apply(&client_options);
  std::vector<std::unique_ptr<hl7send::MllpClient>> clients;
  for (int64_t i = 0; i < connections; ++i) {
    absl::StatusOr<std::unique_ptr<hl7send::MllpClient>> client =
        hl7send::NewMllpClient(client_options);
    if (!client.ok()) {
      std::cerr << "hl7load: " << client.status().message() << "\n";
      return kExitUnreadable;
    }
    clients.push_back(*std::move(client));
  }

  hl7load::LoadOptions options;
  options.connections = static_cast<int>(connections);
  options.messages = messages;
  options.duration = std::chrono::duration_cast<hl7load::Clock::duration>(
      std::chrono::duration<double>(duration_s));
  options.rate = rate;
  options.pipeline = static_cast<int>(pipeline);
  options.unique_ids = unique_ids;
  options.timeout = std::chrono::milliseconds(timeout_ms);
  options.run_id = getpid();

  hl7load::RunInfo info;
  info.connections = options.connections;
  info.pipeline = options.pipeline;
  hl7load::LoadStats stats =
      hl7load::RunLoad(options, templates, clients, &info.elapsed_s);
  for (const std::string& e : stats.error_samples) {
    std::cerr << "hl7load: " << e << "\n";
  }
  if (json) {
    std::cout << hl7load::JsonReport(&stats, info) << "\n";
  } else {
    std::cout << hl7load::TextReport(&stats, info);
  }
  return stats.AllAccepted() ? kExitAllAccepted : kExitNotAccepted;
}
