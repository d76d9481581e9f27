// Audits configuration changes across restarts: the SHA-256 of the effective
// configuration (text format, deterministic) is kept in the store's meta
// sub-database; when a start finds a different one, an AUDIT_CONFIG_CHANGED
// record names both hash prefixes (the configuration holds file paths and
// token hashes, never secrets, but the record carries only the hashes).
#ifndef APPLIANCE_AUDIT_CONFIG_AUDIT_H_
#define APPLIANCE_AUDIT_CONFIG_AUDIT_H_

#include <string>

#include "absl/status/statusor.h"
#include "appliance/base/clock.h"
#include "appliance/intake/message_store.h"
#include "google/protobuf/message.h"

namespace appliance::audit {

// Returns true when a change was recorded (also on the first start, when no
// hash was stored yet), false when the configuration is the one of the last
// start. Blocks until committed.
absl::StatusOr<bool> RecordConfiguration(intake::MessageStore* store,
                                         const Clock* clock,
                                         const google::protobuf::Message& config,
                                         const std::string& actor);

}  // namespace appliance::audit

#endif  // APPLIANCE_AUDIT_CONFIG_AUDIT_H_
