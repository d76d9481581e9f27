// Core of the AdminService actions (no gRPC): data key rotation, online
// backup, and the configuration with its secrets redacted.
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

struct KeyRotation {
  uint32_t key_id = 0;
  uint32_t previous_key_id = 0;
  uint32_t keys = 0;  // Data keys in the ring afterwards.
};

// Creates a new data key and, in ONE write job on the store's writer,
// persists it wrapped in the `keys` sub-database (never overwriting an id)
// with an AUDIT_KEY_ROTATED record; only after that commit is it added to the
// store's key ring, which makes it current: everything sealed afterwards
// (payloads, Bundles, OperationOutcomes) uses it, and older keys stay for
// reading. On restart MessageStore loads every key and the highest id is
// current again. Rotations are serialised. `reason` must hold no PHI.
//
// (The store exposes its ring read-only; this adds the committed key through
// it, which DataKeyRing allows concurrently with Seal/Open. A
// MessageStore::RotateDataKey would be the natural home for this.)
absl::StatusOr<KeyRotation> RotateDataKey(intake::MessageStore* store,
                                          const Clock* clock,
                                          const std::string& actor,
                                          const std::string& reason);

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
