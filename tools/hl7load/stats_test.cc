#include "tools/hl7load/stats.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hl7load {
namespace {

using ::testing::HasSubstr;

TEST(PercentileTest, NearestRank) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(Percentile(v, 50), 50);
  EXPECT_EQ(Percentile(v, 95), 95);
  EXPECT_EQ(Percentile(v, 99), 99);
  EXPECT_EQ(Percentile(v, 100), 100);
  EXPECT_EQ(Percentile({7}, 50), 7);
  EXPECT_EQ(Percentile({1, 2, 3}, 50), 2);
  EXPECT_EQ(Percentile({}, 50), 0);
}

LoadStats Accepted(int n) {
  LoadStats s;
  s.sent = s.acknowledged = s.aa = n;
  for (int i = 0; i < n; ++i) s.latencies_ms.push_back(n - i);
  return s;
}

TEST(LoadStatsTest, AllAcceptedNeedsEveryMessageAcceptedAndNothingElse) {
  EXPECT_TRUE(Accepted(3).AllAccepted());
  EXPECT_FALSE(Accepted(0).AllAccepted());
  LoadStats s = Accepted(3);
  s.ca = 1;
  s.aa = 2;
  EXPECT_TRUE(s.AllAccepted());
  s = Accepted(3);
  s.timeouts = 1;
  EXPECT_FALSE(s.AllAccepted());
  s = Accepted(3);
  s.not_sent = 1;
  EXPECT_FALSE(s.AllAccepted());
  s = Accepted(3);
  s.aa = 2;
  s.ae = 1;
  EXPECT_FALSE(s.AllAccepted());
  s = Accepted(3);
  s.mismatched = 1;
  EXPECT_FALSE(s.AllAccepted());
}

TEST(LoadStatsTest, CountCodeAndMerge) {
  LoadStats a, b;
  for (const char* code : {"AA", "AE", "AR", "CA", "CE", "CR", "ZZ"}) {
    a.CountCode(code);
  }
  b.CountCode("AA");
  b.AddErrorSample("x");
  b.AddErrorSample("x");
  b.latencies_ms = {1.5};
  a.Merge(b);
  EXPECT_EQ(a.aa, 2);
  EXPECT_EQ(a.ae + a.ar + a.ca + a.ce + a.cr + a.other, 6);
  EXPECT_EQ(a.error_samples.size(), 1u);
  EXPECT_EQ(a.latencies_ms.size(), 1u);
}

TEST(ReportTest, TextAndJson) {
  LoadStats s = Accepted(4);
  RunInfo info;
  info.connections = 2;
  info.elapsed_s = 2;
  const std::string text = TextReport(&s, info);
  EXPECT_THAT(text, HasSubstr("acknowledged 4 of 4 messages in 2.000 s on 2 "
                              "connection(s), pipeline 1: 2.0 messages/s\n"));
  EXPECT_THAT(text, HasSubstr("ACK latency ms: p50 2.000, p95 4.000, p99 "
                              "4.000, max 4.000\n"));
  EXPECT_THAT(text, HasSubstr("ACK codes: AA 4, CA 0, AE 0"));
  s.AddErrorSample("connection 1: \"closed\"\n");
  const std::string json = JsonReport(&s, info);
  EXPECT_THAT(json, HasSubstr("\"latency_ms\":{\"p50\":2.000,\"p95\":4.000,"
                              "\"p99\":4.000,\"max\":4.000,\"mean\":2.500}"));
  EXPECT_THAT(json, HasSubstr("\"messages_per_s\":2.000"));
  EXPECT_THAT(json, HasSubstr("[\"connection 1: \\\"closed\\\"\\u000a\"]"));
  EXPECT_THAT(json, HasSubstr("\"all_accepted\":true}"));
  LoadStats empty;
  EXPECT_THAT(JsonReport(&empty, info), HasSubstr("\"p50\":null"));
}

}  // namespace
}  // namespace hl7load
