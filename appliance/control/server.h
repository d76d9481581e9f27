// The control plane's gRPC server: every service of api/control/v1 behind
// one CallGuard, plus the standard health checking service
// (grpc.health.v1.Health) and server reflection. All registration is here.
//
// Transport: plain text only on loopback (config::ValidateControl refuses
// anything else before we get here); with control.tls, TLS with the server
// certificate, and client certificates verified against tls.ca_file
// (required at the handshake with require_client_cert).
#ifndef APPLIANCE_CONTROL_SERVER_H_
#define APPLIANCE_CONTROL_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/config/v1/config.pb.h"
#include "appliance/base/clock.h"
#include "appliance/control/call_guard.h"
#include "appliance/intake/message_store.h"
#include "appliance/ops/ops_service.h"
#include "appliance/pipeline/delivery_worker.h"
#include "appliance/pipeline/mapping_worker.h"
#include "appliance/terminology/store.h"

namespace appliance::control {

// What the services adapt. `store` and `clock` are required; the others may
// be null (their calls answer UNAVAILABLE, or leave their part empty). All
// must outlive the server.
struct ControlDeps {
  intake::MessageStore* store = nullptr;
  const Clock* clock = nullptr;
  pipeline::DeliveryWorker* delivery = nullptr;
  pipeline::MappingWorker* mapper = nullptr;
  ops::OpsService* ops = nullptr;
  terminology::TerminologyStore* terminology = nullptr;
};

struct ControlServerOptions {
  // The effective configuration: `control` (bind, TLS, principals) and
  // `grpc_port` (0: a free port) are served; all of it is what
  // AdminService.GetConfig shows (redacted); store.key_file authenticates
  // the audit checkpoint in AuditService.VerifyAudit.
  ::hl7appliance::config::v1::ApplianceConfig config;
  // Refused calls without valid credentials recorded one by one in the audit
  // trail, at most, per second (CallGuard).
  int unauthenticated_audit_per_second = 20;
};

class ControlServer {
 public:
  // Builds, binds and starts the server. FAILED_PRECONDITION for an invalid
  // control configuration (the config::ValidateControl message),
  // UNAVAILABLE when the port cannot be bound, INVALID_ARGUMENT when a TLS
  // file cannot be read.
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(
      ControlServerOptions options, ControlDeps deps);

  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  ~ControlServer();  // Shutdown(absl::ZeroDuration()).

  // The bound port.
  int port() const { return port_; }

  // Stops accepting calls, lets those in flight finish for up to `grace`,
  // then cancels the rest. Health reports NOT_SERVING meanwhile. Call before
  // stopping the components in ControlDeps. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  ControlServer() = default;

  std::unique_ptr<CallGuard> guard_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace appliance::control

#endif  // APPLIANCE_CONTROL_SERVER_H_
