#include "tools/hl7ctl/connection.h"

#include <fstream>
#include <map>

#include "gtest/gtest.h"

namespace hl7ctl {
namespace {

class Env {
 public:
  std::map<std::string, std::string> vars;
  GetEnv get() {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

std::string TempFile(const std::string& name, const std::string& text) {
  const std::string path = std::string(getenv("TEST_TMPDIR")) + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ConnectionTest, StatusCodeNames) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAVAILABLE), "UNAVAILABLE");
  EXPECT_EQ(StatusCodeName(static_cast<grpc::StatusCode>(99)), "UNKNOWN");
}

TEST(ConnectionTest, Loopback) {
  EXPECT_TRUE(IsLoopbackTarget("127.0.0.1:50051"));
  EXPECT_TRUE(IsLoopbackTarget("127.8.9.1:1"));
  EXPECT_TRUE(IsLoopbackTarget("localhost:50051"));
  EXPECT_TRUE(IsLoopbackTarget("[::1]:50051"));
  EXPECT_FALSE(IsLoopbackTarget("10.0.0.1:50051"));
  EXPECT_FALSE(IsLoopbackTarget("hl7d.example.org:50051"));
  EXPECT_FALSE(IsLoopbackTarget("127.0.0.1.example.org:50051"));
}

TEST(ConnectionTest, DefaultsAndEnvironment) {
  Env env;
  auto o = ResolveConnection({}, env.get());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->target, "127.0.0.1:50051");
  EXPECT_EQ(o->token, "");
  EXPECT_EQ(o->timeout_s, 30);

  env.vars = {{"HL7CTL_SERVER", "localhost:7"},
              {"HL7CTL_TOKEN", " abc\n"},
              {"HL7CTL_TIMEOUT_S", "5"}};
  o = ResolveConnection({}, env.get());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->target, "localhost:7");
  EXPECT_EQ(o->token, "abc");
  EXPECT_EQ(o->timeout_s, 5);

  // Flags win over the environment; the token file over HL7CTL_TOKEN.
  ConnectionFlags flags;
  flags.server = "127.0.0.2:9";
  flags.token_file = TempFile("token", "from-file\n");
  o = ResolveConnection(flags, env.get());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->target, "127.0.0.2:9");
  EXPECT_EQ(o->token, "from-file");
}

TEST(ConnectionTest, UsageErrors) {
  Env env;
  ConnectionFlags remote;
  remote.server = "10.1.2.3:50051";
  auto o = ResolveConnection(remote, env.get());
  EXPECT_TRUE(absl::IsInvalidArgument(o.status()));
  EXPECT_NE(o.status().message().find("add --tls"), std::string::npos);

  ConnectionFlags ca_without_tls;
  ca_without_tls.ca_file = "/x.pem";
  EXPECT_FALSE(ResolveConnection(ca_without_tls, env.get()).ok());

  ConnectionFlags missing_file;
  missing_file.token_file = "/nonexistent/token";
  EXPECT_FALSE(ResolveConnection(missing_file, env.get()).ok());

  ConnectionFlags empty_token;
  empty_token.token_file = TempFile("empty", "\n");
  EXPECT_FALSE(ResolveConnection(empty_token, env.get()).ok());

  ConnectionFlags timeout;
  timeout.timeout_s = "soon";
  EXPECT_FALSE(ResolveConnection(timeout, env.get()).ok());

  ConnectionFlags key_only;
  key_only.tls = true;
  key_only.key_file = "/k.pem";
  EXPECT_FALSE(ResolveConnection(key_only, env.get()).ok());
}

TEST(ConnectionTest, TlsToRemoteReadsFiles) {
  Env env;
  env.vars = {{"HL7CTL_TLS", "1"},
              {"HL7CTL_CA_FILE", TempFile("ca.pem", "CA")}};
  ConnectionFlags flags;
  flags.server = "hl7d.example.org:50051";
  flags.server_name = "hl7d";
  auto o = ResolveConnection(flags, env.get());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->tls);
  EXPECT_EQ(o->ca_pem, "CA");
  EXPECT_EQ(o->server_name, "hl7d");
}

TEST(ConnectionTest, ExitCodes) {
  EXPECT_EQ(ExitCodeFor(grpc::Status::OK), 0);
  EXPECT_EQ(ExitCodeFor(grpc::Status(grpc::StatusCode::NOT_FOUND, "")), 3);
  EXPECT_EQ(ExitCodeFor(grpc::Status(grpc::StatusCode::UNAVAILABLE, "")), 69);
  EXPECT_EQ(ExitCodeFor(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "")),
            69);
  EXPECT_EQ(ExitCodeFor(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "")),
            77);
  EXPECT_EQ(ExitCodeFor(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "")),
            77);
  EXPECT_EQ(ExitCodeFor(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "")),
            1);
  EXPECT_EQ(
      ExitCodeFor(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "")), 1);
}

}  // namespace
}  // namespace hl7ctl
