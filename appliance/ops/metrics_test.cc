#include "appliance/ops/metrics.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace appliance::ops {
namespace {

TEST(MetricsTest, CounterGaugeExposition) {
  Registry r;
  Counter& c = r.AddCounter("hl7_frames_total", "Frames.");
  Gauge& g = r.AddGauge("hl7_depth", "Depth.");
  c.Inc();
  c.Inc(2);
  g.Set(1.5);
  g.Add(-0.5);
  EXPECT_EQ(r.Render(),
            "# HELP hl7_frames_total Frames.\n"
            "# TYPE hl7_frames_total counter\n"
            "hl7_frames_total 3\n"
            "# HELP hl7_depth Depth.\n"
            "# TYPE hl7_depth gauge\n"
            "hl7_depth 1\n");
}

TEST(MetricsTest, LabelsAreEscapedAndSorted) {
  Registry r;
  CounterFamily& f = r.AddCounterFamily("m_total", "Help \\ x", {"type"});
  f.With({"b\"q\n\\"}).Inc();
  f.With({"a"}).Inc(5);
  EXPECT_EQ(r.Render(),
            "# HELP m_total Help \\\\ x\n"
            "# TYPE m_total counter\n"
            "m_total{type=\"a\"} 5\n"
            "m_total{type=\"b\\\"q\\n\\\\\"} 1\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Registry r;
  Histogram& h = r.AddHistogram("lat_seconds", "Latency.", {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.1);  // le is inclusive.
  h.Observe(0.5);
  h.Observe(7);
  EXPECT_EQ(r.Render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{le=\"0.1\"} 2\n"
            "lat_seconds_bucket{le=\"1\"} 3\n"
            "lat_seconds_bucket{le=\"+Inf\"} 4\n"
            "lat_seconds_sum 7.65\n"
            "lat_seconds_count 4\n");
}

TEST(MetricsTest, CollectorsWriteOneHeaderPerName) {
  Registry r;
  r.AddCollector([](MetricsWriter& w) {
    w.Counter("x_total", "X.", 1, {{"k", "a"}});
    w.Counter("x_total", "", 2, {{"k", "b"}});
  });
  EXPECT_EQ(r.Render(),
            "# HELP x_total X.\n# TYPE x_total counter\n"
            "x_total{k=\"a\"} 1\nx_total{k=\"b\"} 2\n");
}

TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  Registry r;
  Counter& c = r.AddCounter("c_total", "C.");
  Histogram& h = r.AddHistogram("h", "H.", LatencyBounds());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Inc();
        h.Observe(0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_NEAR(h.sum(), 40.0, 1e-6);
}

TEST(MetricsTest, NamesAndValues) {
  EXPECT_TRUE(IsValidMetricName("hl7_acks_total"));
  EXPECT_TRUE(IsValidMetricName("a:b"));
  EXPECT_FALSE(IsValidMetricName("1abc"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
}

TEST(MetricsDeathTest, DuplicateNameCrashes) {
  Registry r;
  r.AddCounter("dup_total", "D.");
  EXPECT_DEATH(r.AddCounter("dup_total", "D."), "registered twice");
}

}  // namespace
}  // namespace appliance::ops
