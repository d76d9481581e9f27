// The single place every control-plane handler goes through: authenticates
// the caller (bearer token or verified client certificate), checks the
// method's permission in the table of auth.h, runs the handler, converts its
// absl::Status to a grpc::Status, and appends ONE audit record per call:
// AUDIT_ACCESS_REFUSED (refused; calls without valid credentials at most
// `unauthenticated_audit_per_second` a second one by one, the next record
// saying how many were not — anyone who reaches the port can make them, and
// each record is a commit on the store's writer, shared with the intake),
// AUDIT_PHI_READ (a method returning
// decrypted PHI; committed before the response leaves — if it cannot be
// written the data is withheld with UNAVAILABLE) or AUDIT_CONTROL_CALL. The
// detail holds the method, the status code and the peer; never request data.
#ifndef APPLIANCE_CONTROL_CALL_GUARD_H_
#define APPLIANCE_CONTROL_CALL_GUARD_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "appliance/audit/rate_limited.h"
#include "appliance/base/clock.h"
#include "appliance/control/auth.h"
#include "appliance/control/client_cert.h"
#include "appliance/intake/message_store.h"

namespace appliance::control {

// absl::Status -> grpc::Status (the canonical codes are the same numbers).
grpc::Status ToGrpcStatus(const absl::Status& status);

// "/<package>.<Service>/<method>" of a generated service class.
template <typename Service>
std::string FullMethod(std::string_view method) {
  return absl::StrCat("/", Service::service_full_name(), "/",
                      std::string(method));
}

class CallGuard {
 public:
  using Body = std::function<absl::Status(const Principal&)>;

  // `store` and `clock` must outlive the guard. With `cert_verifier`, a
  // presented client certificate must chain to its CA (client_cert.h), and
  // with `require_client_cert` one must be presented; both refusals are
  // UNAUTHENTICATED and audited.
  CallGuard(intake::MessageStore* store, const Clock* clock,
            Authenticator authenticator,
            std::shared_ptr<const ClientCertVerifier> cert_verifier = nullptr,
            bool require_client_cert = false,
            int unauthenticated_audit_per_second = 20);
  CallGuard(const CallGuard&) = delete;
  CallGuard& operator=(const CallGuard&) = delete;

  // Runs `body` for `full_method` if the caller may; `message_seq` (0: none)
  // is recorded in the audit record.
  grpc::Status Run(grpc::ServerContext* context, const std::string& full_method,
                   uint64_t message_seq, const Body& body) const;

 private:
  // The presented certificate chains to the CA; one is there if required.
  absl::Status CheckClientCertificate(
      const grpc::ServerContext& context,
      const std::optional<std::string>& subject) const;
  absl::Status Audit(::hl7appliance::store::v1::AuditEventType type,
                     const std::string& actor, const std::string& full_method,
                     uint64_t message_seq, const absl::Status& result,
                     const std::string& extra,
                     const grpc::ServerContext& context) const;

  intake::MessageStore* const store_;  // Not owned.
  const Clock* const clock_;           // Not owned.
  const Authenticator authenticator_;
  const std::shared_ptr<const ClientCertVerifier> cert_verifier_;
  const bool require_client_cert_;
  mutable audit::AuditRateLimit unauthenticated_limit_;
};

}  // namespace appliance::control

#endif  // APPLIANCE_CONTROL_CALL_GUARD_H_
