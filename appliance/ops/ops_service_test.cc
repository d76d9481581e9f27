#include "appliance/ops/ops_service.h"

#include <future>

#include "absl/strings/match.h"
#include "appliance/base/clock.h"
#include "appliance/base/test_util.h"
#include "appliance/intake/intake.h"
#include "appliance/ops/http_test_util.h"
#include "appliance/ops/intake_metrics.h"
#include "gtest/gtest.h"

namespace appliance::ops {
namespace {

class OpsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_util::NewTempDir("ops");
    intake::MessageStoreOptions o;
    o.data_dir = dir_ + "/data";
    o.key_file = dir_ + "/hl7d.key";
    o.heartbeat_interval = std::chrono::milliseconds(0);
    auto s = intake::MessageStore::Open(o, &clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    OpsOptions oo;
    oo.data_dir = o.data_dir;
    oo.min_free_disk_bytes = 1;
    oo.stats_cache = std::chrono::milliseconds(0);
    oo.queue_scan_interval = std::chrono::milliseconds(0);
    ops_ = std::make_unique<OpsService>(store_.get(), &clock_, oo);
    metrics_ = std::make_unique<IntakeMetrics>(ops_->registry());
    intake::IntakeOptions io;
    io.observer = metrics_.get();
    intake_ = std::make_unique<intake::Intake>(store_.get(), &clock_, io);
  }

  std::string Send(const std::string& msg) {
    std::promise<std::string> p;
    intake_->OnMessage({"127.0.0.1:1", ""}, msg,
                       [&](std::string ack, bool) { p.set_value(ack); });
    return p.get_future().get();
  }

  std::string dir_;
  FakeClock clock_;
  std::unique_ptr<intake::MessageStore> store_;
  std::unique_ptr<OpsService> ops_;
  std::unique_ptr<IntakeMetrics> metrics_;
  std::unique_ptr<intake::Intake> intake_;
};

TEST_F(OpsServiceTest, HealthReadinessAndChecks) {
  EXPECT_EQ(ops_->Healthz().status, 200);
  HttpResponse r = ops_->Readyz();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "\"store_writable\":{\"ok\":true}"));
  ops_->AddReadinessCheck("mllp_listening", [] {
    return absl::UnavailableError("draining");
  });
  r = ops_->Readyz();
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(absl::StrContains(
      r.body, "\"mllp_listening\":{\"ok\":false,\"detail\":\"draining\"}"))
      << r.body;
}

TEST_F(OpsServiceTest, MetricsAndStatsFollowTheMessages) {
  const std::string oru =
      "MSH|^~\\&|LAB|HOSP|APP|FAC|20260101000000||ORU^R01^ORU_R01|M1|P|2.5.1\r"
      "PID|1||123^^^HOSP^MR||DOE^JANE\r"
      "OBR|1||F1|2345-7^Glucose^LN\r"
      "OBX|1|NM|2345-7^Glucose^LN||5.4|mmol/L|||||F\r";
  Send(oru);
  Send(oru);  // Duplicate.
  Send("not hl7 at all");
  std::promise<absl::Status> beat;
  store_->Heartbeat([&](absl::Status s) { beat.set_value(s); });
  ASSERT_TRUE(beat.get_future().get().ok());

  const std::string metrics = ops_->Metrics().body;
  EXPECT_TRUE(absl::StrContains(metrics, "hl7_duplicates_total 1")) << metrics;
  EXPECT_TRUE(absl::StrContains(
      metrics, "hl7_messages_total{type=\"unparsed\",outcome=\"rejected\"} 1"))
      << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "hl7_ack_latency_seconds_count 3"));
  EXPECT_TRUE(absl::StrContains(metrics, "hl7_queue_depth{state=\"PENDING\"} 1"));
  EXPECT_TRUE(absl::StrContains(metrics, "hl7_audit_records "));
  EXPECT_TRUE(absl::StrContains(metrics, "hl7_store_healthy 1"));

  HttpResponse s = ops_->Stats();
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.content_type, "application/json");
  EXPECT_TRUE(absl::StrContains(s.body, "\"duplicates\":1")) << s.body;
  EXPECT_TRUE(absl::StrContains(s.body, "\"ORU^R01\":1")) << s.body;
  EXPECT_TRUE(absl::StrContains(s.body, "\"acks_sent\":3")) << s.body;
  EXPECT_TRUE(absl::StrContains(s.body, "\"count_24h\":3")) << s.body;
  // No PHI: neither the patient's name nor the identifier appears.
  EXPECT_FALSE(absl::StrContains(s.body, "DOE"));
  EXPECT_FALSE(absl::StrContains(s.body, "123"));
  EXPECT_FALSE(absl::StrContains(metrics, "DOE"));

  ops_->SetDeliveryStatus([] { return DeliveryStatus{true, false, 3, 2, ""}; });
  EXPECT_TRUE(absl::StrContains(ops_->Stats().body,
                                "\"ehr_reachable\":false,\"queue_depth\":3"));
}

TEST_F(OpsServiceTest, ServesOverHttp) {
  HttpServerOptions o;
  o.port = 0;
  o.bearer_token_sha256 = std::string(64, 'a');  // A viewer token is set:
  ASSERT_TRUE(ops_->Start(o).ok());
  EXPECT_NE(ops_->port(), 0);
  const std::string health = Exchange(
      ops_->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(health, "HTTP/1.1 200")) << health;
  // /healthz (a public path, for probes) answers without it, /metrics not.
  const std::string metrics = Exchange(
      ops_->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(metrics, "HTTP/1.1 401")) << metrics;
  ops_->Shutdown();
}

TEST(IntakeMetricsTest, TypeLabelIsAllowlisted) {
  EXPECT_EQ(IntakeMetrics::TypeLabel("ORU^R01"), "ORU^R01");
  EXPECT_EQ(IntakeMetrics::TypeLabel("ZZZ^Z99"), "other");
  EXPECT_EQ(IntakeMetrics::TypeLabel(""), "unparsed");
  EXPECT_EQ(IntakeMetrics::TypeLabel("other"), "other");
}

}  // namespace
}  // namespace appliance::ops
