// Who may call which control-plane method: principals (bearer-token hashes
// or client-certificate subjects bound to roles), the permissions of each
// role and the one table of method -> permission. Pure logic, no gRPC: the
// call guard (call_guard.h) extracts the credentials and asks here.
#ifndef APPLIANCE_CONTROL_AUTH_H_
#define APPLIANCE_CONTROL_AUTH_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/config/v1/config.pb.h"

namespace appliance::control {

using Role = ::hl7appliance::config::v1::ControlRole;

// What a method needs. A role holds a set of these (RoleAllows()).
enum class Permission {
  kWhoAmI,        // Any authenticated principal.
  kStatsRead,     // Dashboard numbers.
  kQueueRead,     // Pipeline entries, delivery state (no PHI).
  kQueueWrite,    // Retry, re-map, discard, pause / resume.
  kMessagesRead,  // Message metadata, search (no PHI).
  kPhiRead,       // Decrypted raw HL7, Bundles, OperationOutcomes.
  kTerminologyRead,
  kTerminologyWrite,
  kAuditRead,  // Query, verify, export the audit trail.
  kAdmin,      // Key rotation, config, backup.
};

// "queue.read", "phi.read", ... (the names docs/CONTROL_PLANE.md uses).
const char* PermissionName(Permission p);
// "admin", "operator", "auditor", "viewer" ("unspecified" otherwise).
std::string RoleName(Role role);
bool RoleAllows(Role role, Permission p);
// Every permission of `role`, in enum order.
std::vector<Permission> PermissionsOf(Role role);

// The permission of a fully qualified method
// ("/hl7appliance.control.v1.QueueService/Discard"); nullopt for a method not
// in the table, which is then refused for everyone.
std::optional<Permission> MethodPermission(std::string_view full_method);
// Whether the method returns decrypted PHI (audited as AUDIT_PHI_READ).
bool IsPhiMethod(std::string_view full_method);
// Every method in the table (tests check it covers the services).
std::vector<std::string> KnownMethods();

struct Principal {
  std::string name;
  Role role = ::hl7appliance::config::v1::ROLE_UNSPECIFIED;
  std::string authenticated_by;  // "token" or "certificate".
};

// The principals of a ControlConfig, indexed by token hash and subject.
class Authenticator {
 public:
  // `control` must have passed config::ValidateControl().
  explicit Authenticator(
      const ::hl7appliance::config::v1::ControlConfig& control);

  // The principal of a bearer token (the token itself; it is hashed and
  // compared in constant time) or, without a token, of a verified client
  // certificate subject. UNAUTHENTICATED naming what was missing or unknown.
  // A token given and unknown is refused even with a good certificate.
  absl::StatusOr<Principal> Authenticate(
      const std::optional<std::string>& bearer_token,
      const std::optional<std::string>& cert_subject) const;

  size_t size() const { return by_token_.size() + by_subject_.size(); }

 private:
  std::map<std::string, Principal> by_token_;    // Raw SHA-256 -> principal.
  std::map<std::string, Principal> by_subject_;  // Subject -> principal.
};

}  // namespace appliance::control

#endif  // APPLIANCE_CONTROL_AUTH_H_
