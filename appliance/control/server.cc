#include "appliance/control/server.h"

#include <glog/logging.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/config/config.h"
#include "appliance/control/admin_service.h"
#include "appliance/control/audit_service.h"
#include "appliance/control/message_service.h"
#include "appliance/control/queue_service.h"
#include "appliance/control/stats_service.h"
#include "appliance/control/terminology_service.h"

namespace appliance::control {
namespace {

// ImportCsv takes up to 16 MiB of CSV.
constexpr int kMaxReceiveBytes = 20 << 20;

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in || ss.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("control plane TLS: cannot read the ", what, " ", path));
  }
  return ss.str();
}

// `ca_pem`: the CA file's contents ("" without one).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(
    const ::hl7appliance::config::v1::TlsConfig& tls, const std::string& ca_pem) {
  if (tls.cert_file().empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.cert_chain, ReadPem(tls.cert_file(), "certificate"));
  ASSIGN_OR_RETURN(pair.private_key, ReadPem(tls.key_file(), "key"));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (!ca_pem.empty()) {
    ssl.pem_root_certs = ca_pem;
    // The chain is verified (and a certificate required) by the call guard,
    // so that refusals are audited (client_cert.h); the handshake still
    // proves possession of the certificate's key.
    ssl.client_certificate_request =
        GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY;
  } else {
    ssl.client_certificate_request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  }
  return grpc::SslServerCredentials(ssl);
}

// "127.0.0.1:50051", "[::1]:0".
std::string Address(const std::string& bind, uint32_t port) {
  if (bind.find(':') != std::string::npos && bind.front() != '[') {
    return absl::StrCat("[", bind, "]:", port);
  }
  return absl::StrCat(bind, ":", port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Start(
    ControlServerOptions options, ControlDeps deps) {
  const auto& control = options.config.control();
  if (absl::Status valid = config::ValidateControl(control); !valid.ok()) {
    return absl::FailedPreconditionError(valid.message());
  }
  if (deps.store == nullptr || deps.clock == nullptr) {
    return absl::InvalidArgumentError(
        "control server: store and clock required");
  }
  // Read once: the handshake and the call guard's verifier use the same CAs.
  std::string ca;
  if (!control.tls().ca_file().empty()) {
    ASSIGN_OR_RETURN(ca, ReadPem(control.tls().ca_file(), "CA file"));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                   Credentials(control.tls(), ca));

  std::unique_ptr<ControlServer> server(new ControlServer());
  std::shared_ptr<const ClientCertVerifier> verifier;
  if (!ca.empty()) {
    ASSIGN_OR_RETURN(verifier, ClientCertVerifier::Create(ca));
  }
  server->guard_ = std::make_unique<CallGuard>(
      deps.store, deps.clock, Authenticator(control), std::move(verifier),
      control.tls().require_client_cert(),
      options.unauthenticated_audit_per_second);
  const CallGuard* guard = server->guard_.get();
  auto& services = server->services_;
  services.push_back(std::make_unique<QueueServiceImpl>(
      guard, deps.store, deps.delivery, deps.mapper));
  services.push_back(std::make_unique<MessageServiceImpl>(guard, deps.store));
  services.push_back(std::make_unique<AuditServiceImpl>(
      guard, deps.store, options.config.store().key_file()));
  services.push_back(std::make_unique<StatsServiceImpl>(
      guard, deps.store, deps.ops, deps.delivery, deps.mapper));
  services.push_back(
      std::make_unique<TerminologyServiceImpl>(guard, deps.terminology));
  services.push_back(std::make_unique<AdminServiceImpl>(
      guard, deps.store, deps.clock, options.config));

  // Standard health checking and reflection (both registered by the builder).
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  const std::string address =
      Address(control.bind(), options.config.grpc_port());
  builder.AddListeningPort(address, credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  for (auto& s : services) builder.RegisterService(s.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", address));
  }
  if (grpc::HealthCheckServiceInterface* health =
          server->server_->GetHealthCheckService()) {
    health->SetServingStatus(true);
  }
  if (control.principals().empty()) {
    LOG(WARNING) << "control plane: no principals configured, every call is "
                    "refused (see docs/CONTROL_PLANE.md)";
  }
  LOG(INFO) << "control plane listening on " << control.bind() << ":"
            << server->port_
            << (control.tls().cert_file().empty() ? " (plain text, loopback)"
                : control.tls().require_client_cert() ? " (mTLS)"
                                                      : " (TLS)")
            << ", " << control.principals_size() << " principals";
  return server;
}

ControlServer::~ControlServer() { Shutdown(absl::ZeroDuration()); }

void ControlServer::Shutdown(absl::Duration grace) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  if (grpc::HealthCheckServiceInterface* health =
          server_->GetHealthCheckService()) {
    health->SetServingStatus(false);
  }
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMicroseconds(grace));
  server_->Wait();
}

}  // namespace appliance::control
