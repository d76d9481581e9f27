#include "tools/hl7ctl/connection.h"

#include <chrono>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "appliance/base/loopback.h"
#include "tools/hl7ctl/file_util.h"

namespace hl7ctl {
namespace {

// Sets `*field` from the environment when the flag left it empty.
void FromEnv(const GetEnv& getenv, const char* name, std::string* field) {
  if (!field->empty()) return;
  const char* v = getenv(name);
  if (v != nullptr) *field = v;
}

absl::StatusOr<std::string> ReadPem(const std::string& flag,
                                    const std::string& path) {
  std::string text, error;
  if (!ReadRegularFile(path, &text, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, "=", path, ": ", error));
  }
  return text;
}

// The host part of "host:port", "[v6]:port", "host" or "v6".
std::string HostOf(const std::string& target) {
  if (!target.empty() && target[0] == '[') {
    const size_t end = target.find(']');
    return end == std::string::npos ? target : target.substr(1, end - 1);
  }
  const size_t colon = target.find(':');
  if (colon != std::string::npos &&
      target.find(':', colon + 1) != std::string::npos) {
    return target;  // A bare IPv6 address.
  }
  return target.substr(0, colon);
}

}  // namespace

bool IsLoopbackTarget(const std::string& target) {
  return appliance::IsLoopbackAddress(HostOf(target));
}

absl::StatusOr<ConnectionOptions> ResolveConnection(ConnectionFlags flags,
                                                    const GetEnv& getenv) {
  FromEnv(getenv, "HL7CTL_SERVER", &flags.server);
  FromEnv(getenv, "HL7CTL_TOKEN_FILE", &flags.token_file);
  FromEnv(getenv, "HL7CTL_CA_FILE", &flags.ca_file);
  FromEnv(getenv, "HL7CTL_CERT_FILE", &flags.cert_file);
  FromEnv(getenv, "HL7CTL_KEY_FILE", &flags.key_file);
  FromEnv(getenv, "HL7CTL_SERVER_NAME", &flags.server_name);
  FromEnv(getenv, "HL7CTL_TIMEOUT_S", &flags.timeout_s);
  if (!flags.tls) {
    const char* v = getenv("HL7CTL_TLS");
    flags.tls = v != nullptr &&
                (std::string(v) == "1" || absl::AsciiStrToLower(v) == "true");
  }

  ConnectionOptions o;
  o.target = flags.server.empty() ? kDefaultServer : flags.server;
  if (HostOf(o.target).empty()) {
    return absl::InvalidArgumentError("--server: expected HOST:PORT, not \"" +
                                      o.target + "\"");
  }
  if (o.target.find(':') == std::string::npos) {
    o.target += ":50051";
  }
  if (!flags.timeout_s.empty() &&
      (!absl::SimpleAtoi(flags.timeout_s, &o.timeout_s) || o.timeout_s < 1 ||
       o.timeout_s > 86400)) {
    return absl::InvalidArgumentError(
        "--timeout_s: expected whole seconds (1..86400), not \"" +
        flags.timeout_s + "\"");
  }
  o.tls = flags.tls;
  if (!o.tls) {
    if (!flags.ca_file.empty() || !flags.cert_file.empty() ||
        !flags.key_file.empty() || !flags.server_name.empty()) {
      return absl::InvalidArgumentError(
          "--ca_file, --cert_file, --key_file and --server_name need --tls");
    }
    if (!IsLoopbackTarget(o.target)) {
      return absl::InvalidArgumentError(
          "--server=" + o.target +
          ": plain text is only allowed to a loopback address; add --tls");
    }
  } else {
    if (!flags.key_file.empty() && flags.cert_file.empty()) {
      return absl::InvalidArgumentError("--key_file needs --cert_file");
    }
    if (!flags.cert_file.empty() && flags.key_file.empty()) {
      return absl::InvalidArgumentError("--cert_file needs --key_file");
    }
    if (!flags.ca_file.empty()) {
      auto pem = ReadPem("--ca_file", flags.ca_file);
      if (!pem.ok()) return pem.status();
      o.ca_pem = *std::move(pem);
    }
    if (!flags.cert_file.empty()) {
      auto cert = ReadPem("--cert_file", flags.cert_file);
      if (!cert.ok()) return cert.status();
      auto key = ReadPem("--key_file", flags.key_file);
      if (!key.ok()) return key.status();
      o.cert_pem = *std::move(cert);
      o.key_pem = *std::move(key);
    }
    o.server_name = flags.server_name;
  }

  std::string what;
  if (!flags.token_file.empty()) {
    std::string error;
    if (!ReadRegularFile(flags.token_file, &o.token, &error)) {
      return absl::InvalidArgumentError("--token_file=" + flags.token_file +
                                        ": " + error);
    }
    what = "--token_file=" + flags.token_file;
  } else if (const char* t = getenv("HL7CTL_TOKEN"); t != nullptr) {
    o.token = t;
    what = "HL7CTL_TOKEN";
  }
  if (!what.empty()) {
    o.token = std::string(absl::StripAsciiWhitespace(o.token));
    if (o.token.empty()) {
      return absl::InvalidArgumentError(what + ": empty token");
    }
    for (char c : o.token) {
      if (c < 0x21 || c > 0x7e) {
        return absl::InvalidArgumentError(
            what + ": the token must be printable ASCII without spaces");
      }
    }
  }
  return o;
}

Connection::Connection(ConnectionOptions options)
    : options_(std::move(options)) {
  grpc::ChannelArguments args;
  // Terminology exports and Bundles may exceed gRPC's default 4 MiB.
  args.SetMaxReceiveMessageSize(64 << 20);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (options_.tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options_.ca_pem;  // Empty: the system's roots.
    ssl.pem_cert_chain = options_.cert_pem;
    ssl.pem_private_key = options_.key_pem;
    creds = grpc::SslCredentials(ssl);
    if (!options_.server_name.empty()) {
      args.SetSslTargetNameOverride(options_.server_name);
    }
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  channel_ = grpc::CreateCustomChannel(options_.target, creds, args);
}

std::unique_ptr<grpc::ClientContext> Connection::NewContext() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(options_.timeout_s));
  if (!options_.token.empty()) {
    ctx->AddMetadata("authorization", "Bearer " + options_.token);
  }
  return ctx;
}

int ExitCodeFor(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnavailable;
    case grpc::StatusCode::NOT_FOUND:
      return kExitNotFound;
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return kExitNoPerm;
    default:
      return kExitServerError;
  }
}

std::string StatusCodeName(grpc::StatusCode code) {
  // gRPC's and absl's canonical codes have the same numbers and names.
  const std::string name =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? "UNKNOWN" : name;
}

}  // namespace hl7ctl
