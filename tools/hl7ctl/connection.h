// How hl7ctl's online commands reach hl7d's gRPC control plane
// (docs/CONTROL_PLANE.md): server address, bearer token, TLS, timeout; and
// the mapping of gRPC statuses to hl7ctl's exit codes.
#ifndef TOOLS_HL7CTL_CONNECTION_H_
#define TOOLS_HL7CTL_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace hl7ctl {

// Exit statuses of the online commands (sysexits.h where one fits).
inline constexpr int kExitOk = 0;
inline constexpr int kExitServerError = 1;   // Any other server error.
inline constexpr int kExitNotFound = 3;      // NOT_FOUND.
inline constexpr int kExitUsage = 64;        // EX_USAGE.
inline constexpr int kExitUnavailable = 69;  // EX_UNAVAILABLE.
inline constexpr int kExitNoPerm = 77;       // EX_NOPERM.

inline constexpr char kDefaultServer[] = "127.0.0.1:50051";

// Connection settings as given: each from its flag, else its environment
// variable, else the default. Secrets are never flags: the token comes from
// --token_file or HL7CTL_TOKEN.
struct ConnectionFlags {
  std::string server;       // --server, HL7CTL_SERVER.
  std::string token_file;   // --token_file, HL7CTL_TOKEN_FILE.
  bool tls = false;         // --tls, HL7CTL_TLS=1.
  std::string ca_file;      // --ca_file, HL7CTL_CA_FILE.
  std::string cert_file;    // --cert_file, HL7CTL_CERT_FILE.
  std::string key_file;     // --key_file, HL7CTL_KEY_FILE.
  std::string server_name;  // --server_name, HL7CTL_SERVER_NAME.
  std::string timeout_s;    // --timeout_s, HL7CTL_TIMEOUT_S (default 30).
};

using GetEnv = std::function<const char*(const char*)>;

// The resolved settings, files read.
struct ConnectionOptions {
  std::string target;  // host:port.
  std::string token;   // Empty: none (e.g. mTLS only).
  bool tls = false;
  std::string ca_pem, cert_pem, key_pem, server_name;
  int timeout_s = 30;
};
// Fills the fields left empty from the environment (`getenv`, injectable for
// tests) and the defaults, the token from HL7CTL_TOKEN when there is no token
// file, and reads the files. INVALID_ARGUMENT (a usage error) for a bad
// combination (plain text to a non-loopback address, TLS files without
// --tls, --key_file without --cert_file), an unreadable file or a bad token.
absl::StatusOr<ConnectionOptions> ResolveConnection(ConnectionFlags flags,
                                                    const GetEnv& getenv);

// appliance::IsLoopbackAddress of the target's host (with or without a port).
bool IsLoopbackTarget(const std::string& target);

// A channel to the server. Calls fail fast (UNAVAILABLE) when nothing
// listens.
class Connection {
 public:
  explicit Connection(ConnectionOptions options);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  const ConnectionOptions& options() const { return options_; }
  // A context with the deadline and the bearer token.
  std::unique_ptr<grpc::ClientContext> NewContext() const;

 private:
  ConnectionOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
};

// The exit status for a failed call: 69 UNAVAILABLE / DEADLINE_EXCEEDED,
// 3 NOT_FOUND, 77 PERMISSION_DENIED / UNAUTHENTICATED, 1 otherwise.
int ExitCodeFor(const grpc::Status& status);

// "NOT_FOUND", "UNAVAILABLE", ...
std::string StatusCodeName(grpc::StatusCode code);

}  // namespace hl7ctl

#endif  // TOOLS_HL7CTL_CONNECTION_H_
