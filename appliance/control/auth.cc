#include "appliance/control/auth.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "appliance/crypto/hash.h"

namespace appliance::control {
namespace {

namespace cfg = ::hl7appliance::config::v1;

constexpr char kPrefix[] = "/hl7appliance.control.v1.";

struct MethodRule {
  const char* method;  // "Service/Method" after kPrefix.
  Permission permission;
  bool phi = false;
};

// THE table: every control-plane method and what it needs. A method missing
// here is refused for everyone (and control_test fails).
constexpr MethodRule kRules[] = {
    {"AdminService/WhoAmI", Permission::kWhoAmI},
    {"AdminService/RotateDataKey", Permission::kAdmin},
    {"AdminService/GetConfig", Permission::kAdmin},
    {"AdminService/Backup", Permission::kAdmin},
    {"StatsService/GetStats", Permission::kStatsRead},
    {"QueueService/ListQueue", Permission::kQueueRead},
    {"QueueService/GetQueueItem", Permission::kQueueRead},
    {"QueueService/GetDeliveryState", Permission::kQueueRead},
    {"QueueService/GetOperationOutcome", Permission::kPhiRead, true},
    {"QueueService/RetryNow", Permission::kQueueWrite},
    {"QueueService/Remap", Permission::kQueueWrite},
    {"QueueService/Discard", Permission::kQueueWrite},
    {"QueueService/SetDeliveryPaused", Permission::kQueueWrite},
    {"MessageService/SearchMessages", Permission::kMessagesRead},
    {"MessageService/GetMessage", Permission::kMessagesRead},
    {"MessageService/GetRawMessage", Permission::kPhiRead, true},
    {"MessageService/GetBundle", Permission::kPhiRead, true},
    {"AuditService/QueryAudit", Permission::kAuditRead},
    {"AuditService/VerifyAudit", Permission::kAuditRead},
    {"AuditService/ExportAudit", Permission::kAuditRead},
    {"TerminologyService/ListVersions", Permission::kTerminologyRead},
    {"TerminologyService/ListMaps", Permission::kTerminologyRead},
    {"TerminologyService/GetRows", Permission::kTerminologyRead},
    {"TerminologyService/Lookup", Permission::kTerminologyRead},
    {"TerminologyService/DiffVersions", Permission::kTerminologyRead},
    {"TerminologyService/ExportCsv", Permission::kTerminologyRead},
    {"TerminologyService/UpsertRows", Permission::kTerminologyWrite},
    {"TerminologyService/DeleteRows", Permission::kTerminologyWrite},
    {"TerminologyService/ImportCsv", Permission::kTerminologyWrite},
};

const MethodRule* FindRule(std::string_view full_method) {
  const std::string_view prefix(kPrefix);
  if (full_method.substr(0, prefix.size()) != prefix) return nullptr;
  const std::string_view rest = full_method.substr(prefix.size());
  for (const MethodRule& r : kRules) {
    if (rest == r.method) return &r;
  }
  return nullptr;
}

constexpr Permission kAllPermissions[] = {
    Permission::kWhoAmI,          Permission::kStatsRead,
    Permission::kQueueRead,       Permission::kQueueWrite,
    Permission::kMessagesRead,    Permission::kPhiRead,
    Permission::kTerminologyRead, Permission::kTerminologyWrite,
    Permission::kAuditRead,       Permission::kAdmin,
};

}  // namespace

const char* PermissionName(Permission p) {
  switch (p) {
    case Permission::kWhoAmI:
      return "whoami";
    case Permission::kStatsRead:
      return "stats.read";
    case Permission::kQueueRead:
      return "queue.read";
    case Permission::kQueueWrite:
      return "queue.write";
    case Permission::kMessagesRead:
      return "messages.read";
    case Permission::kPhiRead:
      return "phi.read";
    case Permission::kTerminologyRead:
      return "terminology.read";
    case Permission::kTerminologyWrite:
      return "terminology.write";
    case Permission::kAuditRead:
      return "audit.read";
    case Permission::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::string RoleName(Role role) {
  switch (role) {
    case cfg::ROLE_ADMIN:
      return "admin";
    case cfg::ROLE_OPERATOR:
      return "operator";
    case cfg::ROLE_AUDITOR:
      return "auditor";
    case cfg::ROLE_VIEWER:
      return "viewer";
    default:
      return "unspecified";
  }
}

bool RoleAllows(Role role, Permission p) {
  // What every authenticated role may do.
  const bool viewer_level =
      p == Permission::kWhoAmI || p == Permission::kStatsRead ||
      p == Permission::kQueueRead || p == Permission::kMessagesRead ||
      p == Permission::kTerminologyRead;
  switch (role) {
    case cfg::ROLE_ADMIN:
      return true;
    case cfg::ROLE_OPERATOR:
      return viewer_level || p == Permission::kQueueWrite ||
             p == Permission::kTerminologyWrite || p == Permission::kPhiRead;
    case cfg::ROLE_AUDITOR:
      return viewer_level || p == Permission::kAuditRead;
    case cfg::ROLE_VIEWER:
      return viewer_level;
    default:
      return false;
  }
}

std::vector<Permission> PermissionsOf(Role role) {
  std::vector<Permission> out;
  for (Permission p : kAllPermissions) {
    if (RoleAllows(role, p)) out.push_back(p);
  }
  return out;
}

std::optional<Permission> MethodPermission(std::string_view full_method) {
  const MethodRule* r = FindRule(full_method);
  if (r == nullptr) return std::nullopt;
  return r->permission;
}

bool IsPhiMethod(std::string_view full_method) {
  const MethodRule* r = FindRule(full_method);
  return r != nullptr && r->phi;
}

std::vector<std::string> KnownMethods() {
  std::vector<std::string> out;
  for (const MethodRule& r : kRules)
    out.push_back(absl::StrCat(kPrefix, r.method));
  return out;
}

Authenticator::Authenticator(const cfg::ControlConfig& control) {
  for (const cfg::ControlPrincipal& p : control.principals()) {
    if (!p.token_sha256().empty()) {
      absl::StatusOr<std::string> raw = crypto::FromHex(p.token_sha256());
      if (!raw.ok()) continue;  // Validated earlier; never matches.
      by_token_[*raw] = Principal{p.name(), p.role(), "token"};
    } else if (!p.cert_subject().empty()) {
      by_subject_[p.cert_subject()] =
          Principal{p.name(), p.role(), "certificate"};
    }
  }
}

absl::StatusOr<Principal> Authenticator::Authenticate(
    const std::optional<std::string>& bearer_token,
    const std::optional<std::string>& cert_subject) const {
  if (bearer_token.has_value()) {
    const std::string digest(crypto::AsBytes(crypto::Sha256(*bearer_token)));
    // Compare against every hash in constant time each, so the answer's
    // timing does not depend on which (or whether one) matched.
    const Principal* found = nullptr;
    for (const auto& [hash, principal] : by_token_) {
      if (crypto::ConstantTimeEquals(hash, digest)) found = &principal;
    }
    if (found == nullptr) {
      return absl::UnauthenticatedError("unknown bearer token");
    }
    return *found;
  }
  if (cert_subject.has_value()) {
    auto it = by_subject_.find(*cert_subject);
    if (it == by_subject_.end()) {
      return absl::UnauthenticatedError(
          absl::StrCat("client certificate subject \"", *cert_subject,
                       "\" is not a configured principal"));
    }
    return it->second;
  }
  return absl::UnauthenticatedError(
      "no credentials: send \"authorization: Bearer <token>\" or a client "
      "certificate");
}

}  // namespace appliance::control
