#include "appliance/audit/config_audit.h"

#include "api/config/v1/config.pb.h"
#include "appliance/base/test_util.h"
#include "gtest/gtest.h"

namespace appliance::audit {
namespace {

namespace pb = ::hl7appliance::store::v1;

int CountChanges(intake::MessageStore& store) {
  int n = 0;
  const auto records = store.ReadAudit(0, 10000);
  EXPECT_TRUE(records.ok());
  for (const auto& r : *records) n += r.type() == pb::AUDIT_CONFIG_CHANGED;
  return n;
}

TEST(ConfigAuditTest, RecordsFirstStartAndChangesOnly) {
  const std::string dir = test_util::NewTempDir("config_audit");
  FakeClock clock;
  intake::MessageStoreOptions o;
  o.data_dir = dir + "/data";
  o.key_file = dir + "/hl7d.key";
  hl7appliance::config::v1::ApplianceConfig config;
  config.mutable_mllp()->set_port(2575);
  {
    auto store = intake::MessageStore::Open(o, &clock);
    ASSERT_TRUE(store.ok());
    EXPECT_EQ(*RecordConfiguration(store->get(), &clock, config, "hl7d"), true);
    EXPECT_EQ(*RecordConfiguration(store->get(), &clock, config, "hl7d"), false);
    (*store)->Stop();
  }
  auto store = intake::MessageStore::Open(o, &clock);  // A restart.
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*RecordConfiguration(store->get(), &clock, config, "hl7d"), false);
  config.mutable_mllp()->set_port(2576);
  EXPECT_EQ(*RecordConfiguration(store->get(), &clock, config, "hl7d"), true);
  EXPECT_EQ(CountChanges(**store), 2);
  const auto records = (*store)->ReadAudit(0, 10000);
  const pb::AuditRecord& last = records->back();
  EXPECT_EQ(last.type(), pb::AUDIT_CONFIG_CHANGED);
  EXPECT_EQ(last.actor(), "hl7d");
  EXPECT_EQ(last.detail().find("2576"), std::string::npos);  // Hashes only.
  (*store)->Stop();
}

}  // namespace
}  // namespace appliance::audit
