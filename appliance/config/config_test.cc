#include "appliance/config/config.h"

#include <cstdlib>
#include <fstream>

#include "appliance/base/loopback.h"
#include "gtest/gtest.h"

namespace appliance::config {
namespace {

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = std::string(getenv("TEST_TMPDIR")) + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, DefaultsAreLoopbackAndValid) {
  absl::StatusOr<ApplianceConfig> c = LoadConfig({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->mllp().bind(), "127.0.0.1");
  EXPECT_EQ(c->mllp().port(), 2575u);
  EXPECT_EQ(c->grpc_port(), 50051u);
  EXPECT_EQ(c->http_port(), 8080u);
  EXPECT_EQ(c->store().data_dir(), "./var/hl7d");
  EXPECT_EQ(c->store().key_file(), "./var/hl7d.key");
}

TEST(ConfigTest, FileThenFlagsOverride) {
  const std::string path = WriteFile("a.textproto", R"(
    mllp { port: 3000 max_frame_bytes: 4096 }
    store { data_dir: "/tmp/x" }
    ack { facility: "SITE" }
  )");
  absl::StatusOr<ApplianceConfig> c =
      LoadConfig({{"config", path}, {"mllp_port", "0"}, {"http_port", "9090"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->mllp().port(), 0u);
  EXPECT_EQ(c->mllp().max_frame_bytes(), 4096u);
  EXPECT_EQ(c->mllp().io_threads(), 2u);  // Default kept.
  EXPECT_EQ(c->store().data_dir(), "/tmp/x");
  EXPECT_EQ(c->store().key_file(), "/tmp/x.key");
  EXPECT_EQ(c->ack().facility(), "SITE");
  EXPECT_EQ(c->http_port(), 9090u);
}

TEST(ConfigTest, ErrorsNameTheProblem) {
  auto msg = [](const FlagMap& f) {
    return std::string(LoadConfig(f).status().message());
  };
  EXPECT_NE(msg({{"nope", "1"}}).find("unknown flag --nope"), std::string::npos);
  EXPECT_NE(msg({{"mllp_port", "70000"}}).find("--mllp_port=70000"),
            std::string::npos);
  EXPECT_NE(msg({{"mllp_port", "abc"}}).find("--mllp_port"), std::string::npos);
  EXPECT_NE(msg({{"data_dir", ""}}).find("--data_dir needs a value"),
            std::string::npos);
  EXPECT_NE(msg({{"config", "/nonexistent.textproto"}}).find("cannot read"),
            std::string::npos);
  const std::string bad = WriteFile("bad.textproto", "mllp {\n port: x }\n");
  EXPECT_NE(msg({{"config", bad}}).find("line 2"), std::string::npos);
  EXPECT_NE(msg({{"tls_cert_file", "c.pem"}}).find("--tls_key_file"),
            std::string::npos);
}

TEST(ConfigTest, NonLoopbackNeedsTls) {
  absl::StatusOr<ApplianceConfig> c = LoadConfig({{"bind", "0.0.0.0"}});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(c.status().message()).find("without TLS"),
            std::string::npos);
  EXPECT_TRUE(LoadConfig({{"bind", "0.0.0.0"},
                          {"tls_cert_file", "c.pem"},
                          {"tls_key_file", "k.pem"}})
                  .ok());
  EXPECT_TRUE(LoadConfig({{"bind", "127.0.0.5"}}).ok());
  EXPECT_TRUE(LoadConfig({{"bind", "::1"}}).ok());
  EXPECT_TRUE(IsLoopbackAddress("localhost"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1"));
  // A host name that merely starts with "127." is not loopback.
  EXPECT_FALSE(LoadConfig({{"bind", "127.attacker.example"}}).ok());
}

TEST(ConfigTest, DeliveryDefaultsToFileSinkBesideTheStore) {
  absl::StatusOr<ApplianceConfig> c = LoadConfig({{"data_dir", "/d/hl7d/"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->delivery().ehr_url(), "");
  EXPECT_EQ(c->delivery().file_sink_dir(), "/d/hl7d.out");
  EXPECT_EQ(c->delivery().concurrency(), 4u);
  c = LoadConfig({{"ehr_url", "https://ehr.example.org/fhir/R4"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->delivery().file_sink_dir(), "");
}

TEST(ConfigTest, PlainHttpEhrOnlyOnLoopback) {
  EXPECT_TRUE(LoadConfig({{"ehr_url", "http://127.0.0.1:8080/fhir"}}).ok());
  EXPECT_TRUE(LoadConfig({{"ehr_url", "http://localhost/fhir"}}).ok());
  EXPECT_TRUE(LoadConfig({{"ehr_url", "http://[::1]:99/fhir"}}).ok());
  absl::StatusOr<ApplianceConfig> c =
      LoadConfig({{"ehr_url", "http://ehr.example.org/fhir"}});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(c.status().message()).find("plain HTTP"),
            std::string::npos);
  // A host name that merely starts with "127." may resolve anywhere.
  c = LoadConfig({{"ehr_url", "http://127.attacker.example/fhir"}});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  c = LoadConfig({{"ehr_url", "ftp://x"}});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  c = LoadConfig({{"ehr_url", "https://e/fhir"},
                  {"ehr_client_cert_file", "c.pem"}});
  EXPECT_NE(std::string(c.status().message()).find("--ehr_client_key_file"),
            std::string::npos);
  c = LoadConfig({{"delivery_concurrency", "0"}});
  EXPECT_NE(std::string(c.status().message()).find("delivery.concurrency"),
            std::string::npos);
}

TEST(ConfigTest, MllpLimitsHaveDefaultsAndAreValidated) {
  absl::StatusOr<ApplianceConfig> c = LoadConfig({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->mllp().slow_sender_window_s(), 10u);
  EXPECT_EQ(c->mllp().max_unanswered_frames(), 64u);
  EXPECT_EQ(c->mllp().close_linger_s(), 2u);
  EXPECT_EQ(c->mllp().tls_handshake_timeout_s(), 10u);
  ApplianceConfig bad = *c;
  bad.mutable_mllp()->set_max_unanswered_frames(0);
  EXPECT_NE(std::string(Validate(bad).message()).find("max_unanswered_frames"),
            std::string::npos);
  const std::string path = WriteFile("limits.textproto", "mllp { close_linger_s: 5 }");
  c = LoadConfig({{"config", path}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->mllp().close_linger_s(), 5u);
}

TEST(ConfigTest, RetentionKeepsEverythingByDefault) {
  absl::StatusOr<ApplianceConfig> c = LoadConfig({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->retention().payload_days(), 0u);
  EXPECT_EQ(c->retention().audit_days(), 0u);
  EXPECT_EQ(c->retention().interval_s(), 3600u);
  c = LoadConfig({{"payload_retention_days", "90"}, {"audit_retention_days", "3650"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->retention().payload_days(), 90u);
  EXPECT_EQ(c->retention().audit_days(), 3650u);
  EXPECT_FALSE(LoadConfig({{"audit_retention_days", "x"}}).ok());
}

TEST(ConfigTest, ParseFlagsSplitsPositionals) {
  const char* argv[] = {"hl7d", "inspect", "--data_dir=/d", "--verbose", "x"};
  FlagMap flags;
  absl::StatusOr<std::vector<std::string>> pos =
      ParseFlags(5, const_cast<char**>(argv), 1, &flags);
  ASSERT_TRUE(pos.ok());
  EXPECT_EQ(*pos, (std::vector<std::string>{"inspect", "x"}));
  EXPECT_EQ(flags["data_dir"], "/d");
  EXPECT_EQ(flags["verbose"], "");
}

TEST(ConfigTest, MappingDefaultsFlagsAndErrors) {
  absl::StatusOr<ApplianceConfig> c = LoadConfig({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->mapping().unmapped_code_policy(), "flag");
  EXPECT_EQ(c->mapping().default_report_status(), "unknown");
  EXPECT_EQ(c->mapping().terminology_csv(), "");

  const std::string path = WriteFile("mapping.textproto", R"(
    mapping { default_observation_status: "preliminary" }
  )");
  c = LoadConfig({{"config", path},
                  {"terminology_csv", "/etc/hl7/terms.csv"},
                  {"unmapped_code_policy", "hold"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->mapping().terminology_csv(), "/etc/hl7/terms.csv");
  EXPECT_EQ(c->mapping().unmapped_code_policy(), "hold");
  EXPECT_EQ(c->mapping().default_observation_status(), "preliminary");
  EXPECT_EQ(c->mapping().default_report_status(), "unknown");

  c = LoadConfig({{"unmapped_code_policy", "strict"}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string(c.status().message()).find("--unmapped_code_policy"),
            std::string::npos)
      << c.status();
  EXPECT_FALSE(LoadConfig({{"terminology_csv", ""}}).ok());
  const std::string bad = WriteFile("bad_status.textproto", R"(
    mapping { default_report_status: "done" }
  )");
  c = LoadConfig({{"config", bad}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string(c.status().message()).find("default_report_status"),
            std::string::npos);
}

}  // namespace
}  // namespace appliance::config
