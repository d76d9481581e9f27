#include "appliance/control/audit_writer.h"

#include <future>
#include <memory>
#include <utility>

namespace appliance::control {

absl::Status AppendAuditNow(intake::MessageStore* store,
                            ::hl7appliance::store::v1::AuditRecord record) {
  return store->RunJob([record = std::move(record)](
                              store::WriteTxn&, intake::AuditAppender& audit) {
    return audit.Append(record);
  });
}

}  // namespace appliance::control
