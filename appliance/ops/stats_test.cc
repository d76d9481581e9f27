#include "appliance/ops/stats.h"

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "appliance/base/clock.h"
#include "gtest/gtest.h"

namespace appliance::ops {
namespace {

constexpr int64_t kJan1 = 1767225600000000;   // 2026-01-01T00:00Z.
constexpr int64_t kFeb1 = 1769904000000000;   // 2026-02-01T00:00Z.
constexpr int64_t kSec = 1000000;

TEST(StatsTest, MonthBoundaries) {
  EXPECT_EQ(MonthStart(kFeb1 + 5 * kMicrosPerDay), kFeb1);
  EXPECT_EQ(PreviousMonthStart(kFeb1 + 5 * kMicrosPerDay), kJan1);
  EXPECT_EQ(MonthStart(kFeb1 - 1), kJan1);
}

TEST(StatsTest, SumHoursAndLast24) {
  CounterMap c = {
      {"h/2026013123/received/ORU^R01", 4},  // Jan 31 23:00.
      {"h/2026020100/received/ORU^R01", 2},  // Feb 1 00:00.
      {"h/2026020110/received/ADT^A01", 1},
      {"h/2026020110/outcome/AA", 1},
      {"last/ORU^R01", 99},
  };
  CounterMap feb = SumHours(c, kFeb1, kFeb1 + 28 * kMicrosPerDay);
  EXPECT_EQ(feb["received/ORU^R01"], 2u);
  EXPECT_EQ(feb["received/ADT^A01"], 1u);
  // At Feb 1 10:30 the last 24 buckets are Jan 31 11:00 .. Feb 1 10:00.
  CounterMap day = Last24Hours(c, kFeb1 + 10 * kMicrosPerHour + 1800 * kSec);
  EXPECT_EQ(day["received/ORU^R01"], 6u);
  // At Feb 1 23:30 (buckets Feb 1 00:00 .. 23:00), Jan 31 23:00 is out.
  day = Last24Hours(c, kFeb1 + 23 * kMicrosPerHour + 1800 * kSec);
  EXPECT_EQ(day["received/ORU^R01"], 2u);
}

TEST(StatsTest, ErrorRateMonthOverMonth) {
  CounterMap c = {
      {"h/2026011000/outcome/AA", 90}, {"h/2026011000/outcome/AR", 6},
      {"h/2026011000/outcome/AE", 4},  {"h/2026020300/outcome/AA", 48},
      {"h/2026020300/outcome/AR", 1},  {"h/2026020300/failed", 1},
  };
  const int64_t now = kFeb1 + 10 * kMicrosPerDay;
  ErrorRate jan = ComputeErrorRate(SumHours(c, kJan1, kFeb1));
  ErrorRate feb = ComputeErrorRate(SumHours(c, kFeb1, now));
  EXPECT_EQ(jan.received, 100u);
  EXPECT_DOUBLE_EQ(*jan.rate, 0.10);
  EXPECT_EQ(feb.received, 49u);
  EXPECT_EQ(feb.failed, 1u);
  EXPECT_DOUBLE_EQ(*feb.rate, 2.0 / 49);
  EXPECT_FALSE(ComputeErrorRate({}).rate.has_value());
  StatsInput in;
  in.now_us = now;
  in.hours = c;
  const std::string json = StatsJson(in);
  // (2/49 - 0.1) * 100 = -5.9184 points.
  EXPECT_TRUE(absl::StrContains(json, "\"change_points\":-5.9184")) << json;
}

TEST(StatsTest, UptimeCountsCrashesFromLastHeartbeat) {
  const int64_t day = kMicrosPerDay;
  // Session 1: Jan 1 .. Jan 11 (clean stop). Down 1 day.
  // Session 2: Jan 12 .. crash; last heartbeat Jan 20. Down until Jan 21.
  // Session 3: Jan 21 .. now (Jan 31).
  CounterMap c;
  auto key = [](int64_t start, const char* what) {
    return absl::StrFormat("up/%020d/%s", start, what);
  };
  c[key(kJan1, "beat")] = kJan1 + 10 * day - 30 * kSec;
  c[key(kJan1, "stop")] = kJan1 + 10 * day;
  c[key(kJan1 + 11 * day, "beat")] = kJan1 + 19 * day;
  c[key(kJan1 + 20 * day, "beat")] = kJan1 + 20 * day;
  const std::vector<Session> s = ParseSessions(c, kJan1 + 20 * day);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_TRUE(s[0].clean_stop);
  EXPECT_FALSE(s[1].clean_stop);
  EXPECT_EQ(s[1].last_alive_us, kJan1 + 19 * day);
  EXPECT_TRUE(s[2].running);
  const int64_t now = kJan1 + 30 * day;
  Availability a = ComputeAvailability(s, now, 30 * day);
  EXPECT_EQ(a.observed_us, 30 * day);
  EXPECT_EQ(a.up_us, 10 * day + 8 * day + 10 * day);
  EXPECT_NEAR(a.ratio, 28.0 / 30, 1e-9);
  EXPECT_EQ(a.restarts, 2);
  EXPECT_EQ(a.crashes, 1);
  // A 5-day window sees only the running session.
  a = ComputeAvailability(s, now, 5 * day);
  EXPECT_DOUBLE_EQ(a.ratio, 1.0);
  EXPECT_EQ(a.crashes, 0);
  // A fresh install is not penalised for the time before it existed.
  a = ComputeAvailability({Session{now - day, now - day, false, true}}, now,
                          30 * day);
  EXPECT_DOUBLE_EQ(a.ratio, 1.0);
  EXPECT_EQ(a.observed_us, day);
}

TEST(StatsTest, LatencyAverageAndP99) {
  CounterMap t = {{"latency/count", 100},
                  {"latency/sum_us", 100 * 1500},
                  {"latency/le/1000", 50},
                  {"latency/le/2000", 49},
                  {"latency/le/5000", 1}};
  LatencySummary l = ComputeLatency(t);
  EXPECT_EQ(l.count, 100u);
  EXPECT_DOUBLE_EQ(l.avg_ms, 1.5);
  // Rank 99 is the last of the (1000, 2000] bucket.
  EXPECT_DOUBLE_EQ(l.p99_ms, 2.0);
  t["latency/le/inf"] = 100;
  t["latency/count"] = 200;
  l = ComputeLatency(t);
  EXPECT_DOUBLE_EQ(l.p99_ms, 5.0);  // In the open bucket: its lower bound.
  EXPECT_EQ(ComputeLatency({}).count, 0u);
}

TEST(StatsTest, TimeSavedAndJson) {
  EXPECT_DOUBLE_EQ(TimeSavedMinutes(40, 2.5), 100);
  StatsInput in;
  in.now_us = kFeb1 + 10 * kMicrosPerHour;
  in.minutes_per_message = 2.5;
  in.hours = {{"h/2026020109/outcome/AA", 40},
              {"h/2026020109/outcome/AR", 2},
              {"h/2026020109/received/ORU^R01", 30},
              {"h/2026020109/received/ADT^A08", 10},
              {"h/2026020109/received/MDM^T02", 2},
              {"h/2026020109/ack/AA", 41},
              {"h/2026020109/ack/AR", 2}};
  in.last = {{"last/ORU^R01", static_cast<uint64_t>(in.now_us - 5 * kSec)}};
  const std::string json = StatsJson(in);
  EXPECT_TRUE(absl::StrContains(json, "\"minutes_per_day\":100")) << json;
  EXPECT_TRUE(absl::StrContains(
      json, "\"messages_24h\":{\"ORU^R01\":30,\"ORM^O01\":0,\"ADT^A01\":0,"
            "\"ADT^A08\":10,\"other\":2,\"acks_sent\":43"))
      << json;
  EXPECT_TRUE(absl::StrContains(
      json, absl::StrFormat("\"ORU^R01\":%d,\"ORM^O01\":null",
                            (in.now_us - 5 * kSec) / 1000)))
      << json;
  EXPECT_TRUE(absl::StrContains(json, "\"delivery\":{\"configured\":false}"));
  in.delivery = DeliveryStatus{true, true, 7, 1, "FHIR REST"};
  EXPECT_TRUE(absl::StrContains(StatsJson(in),
                                "\"delivery\":{\"configured\":true,\"ehr_"
                                "reachable\":true,\"queue_depth\":7,\"dead_"
                                "letters\":1,\"destination\":\"FHIR REST\"}"));
}

}  // namespace
}  // namespace appliance::ops
