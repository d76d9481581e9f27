#include "appliance/audit/rate_limited.h"

#include <glog/logging.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace appliance::audit {

namespace pb = ::hl7appliance::store::v1;

bool AuditRateLimit::Admit(int64_t now_us, uint64_t* left_out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (now_us / 1000000 != second_) {
    second_ = now_us / 1000000;
    this_second_ = 0;
  }
  if (++this_second_ > per_second_) {
    ++suppressed_;
    ++suppressed_total_;
    return false;
  }
  *left_out = suppressed_;
  suppressed_ = 0;
  return true;
}

uint64_t AuditRateLimit::suppressed_total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return suppressed_total_;
}

std::string LeftOutNote(uint64_t left_out) {
  return left_out == 0
             ? std::string()
             : absl::StrCat(" (", left_out, " more not recorded one by one)");
}

void RateLimitedAuditor::Record(pb::AuditEventType type, pb::AuditOutcome outcome,
                                const std::string& actor, std::string detail) {
  const int64_t now = clock_->NowMicros();
  uint64_t left_out = 0;
  if (!limit_.Admit(now, &left_out)) return;
  detail += LeftOutNote(left_out);
  if (detail.size() > 200) detail.resize(200);
  pb::AuditRecord r;
  r.set_time_us(now);
  r.set_type(type);
  r.set_outcome(outcome);
  r.set_actor(actor);
  r.set_detail(std::move(detail));
  store_->SubmitJob(
      [r](store::WriteTxn&, intake::AuditAppender& audit) { return audit.Append(r); },
      [](absl::Status s) {
        if (!s.ok()) LOG(WARNING) << "security event not audited: " << s;
      });
}

}  // namespace appliance::audit
