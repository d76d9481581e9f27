#include "appliance/control/call_guard.h"

#include <glog/logging.h>
#include <grpc/grpc_security_constants.h>

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "appliance/control/audit_writer.h"

namespace appliance::control {
namespace {

namespace spb = ::hl7appliance::store::v1;

// The method without the package ("QueueService/Discard") for audit details.
std::string ShortMethod(const std::string& full) {
  const size_t dot = full.rfind('.');
  return dot == std::string::npos ? full : full.substr(dot + 1);
}

std::string Ref(grpc::string_ref s) { return std::string(s.data(), s.size()); }

// The bearer token of "authorization: Bearer <token>"; an empty token for a
// malformed header (refused like an unknown token).
std::optional<std::string> BearerToken(const grpc::ServerContext& context) {
  const auto& md = context.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return std::nullopt;
  const std::string value = Ref(it->second);
  const std::string scheme = "bearer ";
  if (value.size() <= scheme.size() ||
      absl::AsciiStrToLower(value.substr(0, scheme.size())) != scheme) {
    return std::string();
  }
  return value.substr(scheme.size());
}

// The subject of a client certificate the TLS handshake verified.
std::optional<std::string> CertSubject(const grpc::ServerContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return std::nullopt;
  const auto type =
      auth->FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  if (type.empty() || Ref(type.front()) != GRPC_SSL_TRANSPORT_SECURITY_TYPE) {
    return std::nullopt;
  }
  const auto subject =
      auth->FindPropertyValues(GRPC_X509_SUBJECT_PROPERTY_NAME);
  if (subject.empty()) return std::nullopt;
  return Ref(subject.front());
}

}  // namespace

absl::Status CallGuard::CheckClientCertificate(
    const grpc::ServerContext& context,
    const std::optional<std::string>& subject) const {
  if (!subject.has_value()) {
    return require_client_cert_
               ? absl::UnauthenticatedError("a client certificate is required")
               : absl::OkStatus();
  }
  if (cert_verifier_ == nullptr) {
    // No CA configured: a certificate cannot be trusted, so it names no one.
    return absl::UnauthenticatedError(
        "client certificates are not accepted (no CA configured)");
  }
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  const auto cert = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  const auto chain =
      auth->FindPropertyValues(GRPC_X509_PEM_CERT_CHAIN_PROPERTY_NAME);
  if (cert.empty()) {
    return absl::UnauthenticatedError("the client certificate is missing");
  }
  return cert_verifier_->Verify(Ref(cert.front()),
                                chain.empty() ? std::string() : Ref(chain.front()));
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

CallGuard::CallGuard(intake::MessageStore* store, const Clock* clock,
                     Authenticator authenticator,
                     std::shared_ptr<const ClientCertVerifier> cert_verifier,
                     bool require_client_cert,
                     int unauthenticated_audit_per_second)
    : store_(store),
      clock_(clock),
      authenticator_(std::move(authenticator)),
      cert_verifier_(std::move(cert_verifier)),
      require_client_cert_(require_client_cert),
      unauthenticated_limit_(unauthenticated_audit_per_second) {}

grpc::Status CallGuard::Run(grpc::ServerContext* context,
                            const std::string& full_method,
                            uint64_t message_seq, const Body& body) const {
  const std::optional<std::string> subject = CertSubject(*context);
  absl::StatusOr<Principal> who = absl::UnauthenticatedError("");
  if (absl::Status trusted = CheckClientCertificate(*context, subject);
      !trusted.ok()) {
    who = trusted;
  } else {
    who = authenticator_.Authenticate(BearerToken(*context), subject);
  }
  if (!who.ok()) {
    const std::string actor = subject.has_value()
                                  ? absl::StrCat("cert:", *subject)
                                  : "unauthenticated";
    uint64_t left_out = 0;
    if (unauthenticated_limit_.Admit(clock_->NowMicros(), &left_out)) {
      absl::Status audited =
          Audit(spb::AUDIT_ACCESS_REFUSED, actor, full_method, message_seq,
                who.status(), audit::LeftOutNote(left_out), *context);
      if (!audited.ok()) LOG(WARNING) << "control: audit failed: " << audited;
    }
    return ToGrpcStatus(who.status());
  }
  const std::optional<Permission> needed = MethodPermission(full_method);
  if (!needed.has_value() || !RoleAllows(who->role, *needed)) {
    const absl::Status refused = absl::PermissionDeniedError(absl::StrCat(
        "role ", RoleName(who->role), " may not call ",
        ShortMethod(full_method),
        needed.has_value()
            ? absl::StrCat(" (needs ", PermissionName(*needed), ")")
            : std::string(" (unknown method)")));
    absl::Status audited =
        Audit(spb::AUDIT_ACCESS_REFUSED, who->name, full_method, message_seq,
              refused, absl::StrCat(" role=", RoleName(who->role)), *context);
    if (!audited.ok()) LOG(WARNING) << "control: audit failed: " << audited;
    return ToGrpcStatus(refused);
  }

  const absl::Status result = body(*who);

  const bool phi = IsPhiMethod(full_method);
  absl::Status audited =
      Audit(phi && result.ok() ? spb::AUDIT_PHI_READ : spb::AUDIT_CONTROL_CALL,
            who->name, full_method, message_seq, result, "", *context);
  if (!audited.ok()) {
    LOG(WARNING) << "control: audit of " << ShortMethod(full_method)
                 << " failed: " << audited;
    if (phi && result.ok()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "the PHI read could not be audited; data withheld");
    }
  }
  return ToGrpcStatus(result);
}

absl::Status CallGuard::Audit(spb::AuditEventType type,
                              const std::string& actor,
                              const std::string& full_method,
                              uint64_t message_seq, const absl::Status& result,
                              const std::string& extra,
                              const grpc::ServerContext& context) const {
  spb::AuditRecord r;
  r.set_time_us(clock_->NowMicros());
  r.set_type(type);
  r.set_outcome(result.ok() ? spb::AUDIT_OUTCOME_SUCCESS
                            : spb::AUDIT_OUTCOME_MINOR_FAILURE);
  r.set_actor(actor.substr(0, 200));
  r.set_message_seq(message_seq);
  std::string detail = absl::StrCat(ShortMethod(full_method), " ",
                                    absl::StatusCodeToString(result.code()),
                                    extra, " peer=", context.peer());
  if (detail.size() > 200) detail.resize(200);
  r.set_detail(std::move(detail));
  return AppendAuditNow(store_, std::move(r));
}

}  // namespace appliance::control
