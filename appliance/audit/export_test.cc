#include "appliance/audit/export.h"

#include <nlohmann/json.hpp>

#include "appliance/audit/chain.h"
#include "gtest/gtest.h"

namespace appliance::audit {
namespace {

pb::AuditRecord Record(pb::AuditEventType type, const std::string& actor) {
  pb::AuditRecord r;
  r.set_time_us(1767225600123456);  // 2026-01-01T00:00:00.123456Z
  r.set_type(type);
  r.set_outcome(pb::AUDIT_OUTCOME_SUCCESS);
  r.set_actor(actor);
  r.set_message_seq(42);
  r.set_control_id("CTRL-1");
  r.set_message_sha256(std::string(32, '\x01'));
  r.set_detail("ORU^R01 answered AA");
  Link(6, std::string(32, '\x02'), &r);
  return r;
}

TEST(ExportTest, JsonLineHasEveryFieldAndHexHashes) {
  const pb::AuditRecord r = Record(pb::AUDIT_MESSAGE_ACKNOWLEDGED, "10.0.0.5:4000");
  const auto j = nlohmann::json::parse(RecordJson(r));
  EXPECT_EQ(j["seq"], 7);
  EXPECT_EQ(j["time"], "2026-01-01T00:00:00.123456Z");
  EXPECT_EQ(j["type"], "AUDIT_MESSAGE_ACKNOWLEDGED");
  EXPECT_EQ(j["outcome"], 0);
  EXPECT_EQ(j["actor"], "10.0.0.5:4000");
  EXPECT_EQ(j["message_seq"], 42);
  EXPECT_EQ(j["control_id"], "CTRL-1");
  std::string ones;
  for (int i = 0; i < 32; ++i) ones += "01";
  EXPECT_EQ(j["message_sha256"], ones);
  EXPECT_EQ(std::string(j["prev_hash"]).size(), 64u);
  EXPECT_EQ(j["hash"].get<std::string>().size(), 64u);
  EXPECT_EQ(RecordJson(r).find('\n'), std::string::npos);
}

TEST(ExportTest, AwkwardTextStaysValidJson) {
  // Actors and details come from peers and operators: quotes, backslashes,
  // control characters and bytes that are not UTF-8 must not break a line.
  pb::AuditRecord r = Record(pb::AUDIT_ACCESS_REFUSED, "cert:CN=\"x\"\\y\x01");
  r.set_detail("bad \xff byte\nnew line");
  for (const std::string& line : {RecordJson(r), RecordAuditEvent(r)}) {
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << line;
  }
  const auto j = nlohmann::json::parse(RecordJson(r));
  EXPECT_EQ(j["actor"], "cert:CN=\"x\"\\y\x01");
  EXPECT_EQ(j["detail"], "bad \xef\xbf\xbd byte\nnew line");  // U+FFFD.
  const auto e = nlohmann::json::parse(RecordAuditEvent(r));
  EXPECT_EQ(e["agent"][0]["who"]["display"], "cert:CN=\"x\"\\y\x01");
}

TEST(ExportTest, AuditEventFollowsTheDicomModel) {
  const auto received = nlohmann::json::parse(
      RecordAuditEvent(Record(pb::AUDIT_MESSAGE_RECEIVED, "10.0.0.5:4000")));
  EXPECT_EQ(received["resourceType"], "AuditEvent");
  EXPECT_EQ(received["type"]["code"], "110107");
  EXPECT_EQ(received["action"], "C");
  EXPECT_EQ(received["outcome"], "0");
  EXPECT_EQ(received["recorded"], "2026-01-01T00:00:00.123456Z");
  EXPECT_EQ(received["agent"][0]["who"]["display"], "10.0.0.5:4000");
  EXPECT_EQ(received["agent"][0]["requestor"], true);
  EXPECT_EQ(received["subtype"][0]["code"], "AUDIT_MESSAGE_RECEIVED");
  EXPECT_EQ(received["entity"][0]["what"]["identifier"]["value"], "42");
  EXPECT_EQ(received["entity"][0]["detail"][0]["valueString"], "CTRL-1");

  const auto mapped =
      nlohmann::json::parse(RecordAuditEvent(Record(pb::AUDIT_MESSAGE_MAPPED, "mapper")));
  EXPECT_EQ(mapped["type"]["code"], "110100");
  EXPECT_EQ(mapped["action"], "U");
  EXPECT_EQ(mapped["agent"][0]["requestor"], false);  // The appliance itself.
  const auto read =
      nlohmann::json::parse(RecordAuditEvent(Record(pb::AUDIT_PHI_READ, "alice")));
  EXPECT_EQ(read["type"]["code"], "110110");
  EXPECT_EQ(read["action"], "R");
  const auto refused =
      nlohmann::json::parse(RecordAuditEvent(Record(pb::AUDIT_TLS_REFUSED, "10.9.9.9:1")));
  EXPECT_EQ(refused["type"]["code"], "110113");
  const auto start =
      nlohmann::json::parse(RecordAuditEvent(Record(pb::AUDIT_APPLIANCE_STARTED, "")));
  EXPECT_EQ(start["subtype"][0]["code"], "110120");

  // Stable ids: the same record gives the same resource id; another record
  // another one.
  const pb::AuditRecord r = Record(pb::AUDIT_MESSAGE_RECEIVED, "x");
  EXPECT_EQ(nlohmann::json::parse(RecordAuditEvent(r))["id"],
            nlohmann::json::parse(RecordAuditEvent(r))["id"]);
  EXPECT_NE(nlohmann::json::parse(RecordAuditEvent(r))["id"], received["id"]);
}

}  // namespace
}  // namespace appliance::audit
