// hl7send: sends HL7 v2 files over MLLP (optionally TLS) and reports each ACK.
//
//   hl7send [--host=H] [--port=N] [--tls ...] PATH...
//
// Inputs are read and split before connecting, so unreadable input sends
// nothing.
#include <iostream>
#include <string>
#include <vector>

#include "tools/hl7send/flags.h"
#include "tools/hl7send/input.h"
#include "tools/hl7send/mllp_client.h"
#include "tools/hl7send/send.h"
#include "tools/hl7send/tls_flags.h"

namespace {

const char kUsageHead[] = R"(usage: hl7send [FLAGS] PATH...

Sends the HL7 v2 messages in each PATH over MLLP, one at a time on one
connection, waiting for each ACK. A file may hold one message, several back
to back, or a FHS/BHS batch; a directory means every file below it
(recursively, sorted; hidden files and files without an MSH segment are
skipped). Segment terminators are sent as CR. Prints per message

  <file>#<n> <ACK code> <MSA-2> <round trip ms>

(TIMEOUT - <ms> when no ACK came in time; the next message then goes on a new
connection) and a summary line

  sent N, AA N, AE N, AR N, timeouts N

where CA counts as AA, CE as AE and CR as AR.

Exit status: 0 every message accepted; 1 any AE/AR, timeout, unreadable ACK
or connection error; 2 unreadable input or TLS file (then nothing is sent);
64 usage error.

flags:
)";

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int64_t port = 2575;
  int64_t timeout_ms = 10000;
  hl7send::TlsFlags tls;
  bool quiet = false;

  hl7send::FlagSet flags;
  flags.String("host", &host, "HOST", "receiver address or name");
  flags.Int("port", &port, 1, 65535, "receiver port");
  flags.Int("timeout_ms", &timeout_ms, 1, 3600 * 1000,
            "connect timeout and ACK wait per message");
  tls.Register(flags);
  flags.Bool("quiet", &quiet, "print only the summary line");

  const absl::Status parsed = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << kUsageHead << flags.Describe();
    return 0;
  }
  std::string usage_error;
  if (!parsed.ok()) {
    usage_error = std::string(parsed.message());
  } else if (flags.positional().empty()) {
    usage_error = "no input files";
  } else if (!tls.Check().empty()) {
    usage_error = tls.Check();
  }
  if (!usage_error.empty()) {
    std::cerr << "hl7send: " << usage_error
              << "\nusage: hl7send [FLAGS] PATH... (see --help)\n";
    return hl7send::kExitUsage;
  }

  std::vector<std::string> errors, warnings;
  const std::vector<hl7send::InputMessage> messages =
      hl7send::LoadMessages(flags.positional(), &errors, &warnings);
  for (const std::string& w : warnings) std::cerr << w << "\n";
  if (!errors.empty()) {
    for (const std::string& e : errors) std::cerr << e << "\n";
    std::cerr << "hl7send: nothing sent\n";
    return hl7send::kExitUnreadable;
  }

  hl7send::ClientOptions client_options;
  client_options.host = host;
  client_options.port = static_cast<uint16_t>(port);
  tls.Apply(&client_options);
  absl::StatusOr<std::unique_ptr<hl7send::MllpClient>> client =
      hl7send::NewMllpClient(client_options);
  if (!client.ok()) {
    std::cerr << "hl7send: " << client.status().message() << "\n";
    return hl7send::kExitUnreadable;
  }

  hl7send::SendOptions options;
  options.timeout = std::chrono::milliseconds(timeout_ms);
  options.quiet = quiet;
  const hl7send::SendCounts counts =
      hl7send::SendAll(messages, options, **client, std::cout, std::cerr);
  return hl7send::ExitStatus(counts);
}
