#include "appliance/control/audit_writer.h"

#include <future>
#include <memory>
#include <utility>

namespace appliance::control {

absl::Status RunJobNow(intake::MessageStore* store, intake::WriteJob job) {
  auto done = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> result = done->get_future();
  store->SubmitJob(std::move(job),
                   [done](absl::Status s) { done->set_value(std::move(s)); });
  return result.get();
}

absl::Status AppendAuditNow(intake::MessageStore* store,
                            ::hl7appliance::store::v1::AuditRecord record) {
  return RunJobNow(store, [record = std::move(record)](
                              store::WriteTxn&, intake::AuditAppender& audit) {
    return audit.Append(record);
  });
}

}  // namespace appliance::control
