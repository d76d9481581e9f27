// Appends one audit record through the store's writer and waits for its
// commit (the control plane audits before it answers).
#ifndef APPLIANCE_CONTROL_AUDIT_WRITER_H_
#define APPLIANCE_CONTROL_AUDIT_WRITER_H_

#include "absl/status/status.h"
#include "api/store/v1/records.pb.h"
#include "appliance/intake/message_store.h"

namespace appliance::control {

// Blocks until the record committed; the store's error otherwise
// (UNAVAILABLE after Stop()).
absl::Status AppendAuditNow(intake::MessageStore* store,
                            ::hl7appliance::store::v1::AuditRecord record);

}  // namespace appliance::control

#endif  // APPLIANCE_CONTROL_AUDIT_WRITER_H_
