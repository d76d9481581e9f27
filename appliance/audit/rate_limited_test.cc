#include "appliance/audit/rate_limited.h"

#include <future>

#include "appliance/base/test_util.h"
#include "gtest/gtest.h"

namespace appliance::audit {
namespace {

namespace pb = ::hl7appliance::store::v1;

TEST(RateLimitedAuditorTest, CapsRecordsPerSecondAndCountsTheRest) {
  const std::string dir = test_util::NewTempDir("ratelimit");
  FakeClock clock;
  intake::MessageStoreOptions o;
  o.data_dir = dir + "/data";
  o.key_file = dir + "/hl7d.key";
  auto store = intake::MessageStore::Open(o, &clock);
  ASSERT_TRUE(store.ok());
  RateLimitedAuditor auditor(store->get(), &clock, 3);
  for (int i = 0; i < 10; ++i) {
    auditor.Record(pb::AUDIT_TLS_REFUSED, pb::AUDIT_OUTCOME_MINOR_FAILURE, "10.0.0.9:1",
                   "handshake refused");
  }
  clock.Advance(1000000);
  auditor.Record(pb::AUDIT_TLS_REFUSED, pb::AUDIT_OUTCOME_MINOR_FAILURE, "10.0.0.9:1",
                 "handshake refused");
  EXPECT_EQ(auditor.suppressed_total(), 7u);
  // A job queued behind the auditor's ones commits after them.
  std::promise<void> flushed;
  (*store)->SubmitJob([](store::WriteTxn&, intake::AuditAppender&) { return absl::OkStatus(); },
                      [&](absl::Status) { flushed.set_value(); });
  flushed.get_future().get();
  int n = 0;
  std::string last;
  const auto records = (*store)->ReadAudit(0, 1000);
  ASSERT_TRUE(records.ok());
  for (const auto& r : *records) {
    if (r.type() == pb::AUDIT_TLS_REFUSED) {
      ++n;
      last = r.detail();
      EXPECT_EQ(r.actor(), "10.0.0.9:1");
    }
  }
  EXPECT_EQ(n, 4);
  EXPECT_EQ(last, "handshake refused (7 more not recorded one by one)");
  (*store)->Stop();
}

}  // namespace
}  // namespace appliance::audit
