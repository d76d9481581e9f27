// Core of the AdminService actions (no gRPC): online backup and the
// configuration with its secrets redacted (data key rotation is
// MessageStore::RotateDataKey).
#ifndef APPLIANCE_CONTROL_ADMIN_OPS_H_
#define APPLIANCE_CONTROL_ADMIN_OPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/config/v1/config.pb.h"
#include "appliance/base/clock.h"
#include "appliance/intake/message_store.h"

namespace appliance::control {

// Online, compacting copy of the store into `dest_dir` (Env::CopyCompact),
// then an AUDIT_BACKUP_CREATED record (size only, not the path). Returns the
// size of the copy. INVALID_ARGUMENT naming "destination_dir" for a relative
// or empty path; ALREADY_EXISTS when it already holds a data.mdb.
absl::StatusOr<uint64_t> BackupStore(intake::MessageStore* store,
                                     const Clock* clock,
                                     const std::string& dest_dir,
                                     const std::string& actor);

// `config` in text format with the secrets (token hashes) replaced by
// "<redacted>"; `redacted` receives their paths.
std::string RedactedConfigText(
    ::hl7appliance::config::v1::ApplianceConfig config,
    std::vector<std::string>* redacted);

}  // namespace appliance::control

#endif  // APPLIANCE_CONTROL_ADMIN_OPS_H_
