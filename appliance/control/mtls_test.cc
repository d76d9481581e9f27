// Mutual TLS on the control plane with throwaway certificates made by
// openssl: a client certificate from the configured CA whose subject is a
// principal gets in; no certificate, a certificate from another CA, or an
// unknown subject are refused (and the last is audited).
#include <grpcpp/grpcpp.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/control/v1/admin.grpc.pb.h"
#include "appliance/base/test_util.h"
#include "appliance/control/server.h"
#include "appliance/crypto/hash.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace appliance::control {
namespace {

namespace api = ::hl7appliance::control::v1;
namespace spb = ::hl7appliance::store::v1;
namespace cfg = ::hl7appliance::config::v1;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class MtlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_util::NewTempDir("mtls");
    MakeCa("ca1", "Test CA One");
    MakeCa("ca2", "Test CA Two");
    MakeLeaf("server", "ca1", "/CN=localhost",
             "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
             "extendedKeyUsage=serverAuth\n");
    MakeLeaf("alice", "ca1", "/O=Test Hospital/CN=alice",
             "extendedKeyUsage=clientAuth\n");
    MakeLeaf("bob", "ca1", "/O=Test Hospital/CN=bob",
             "extendedKeyUsage=clientAuth\n");
    MakeLeaf("mallory", "ca2", "/O=Test Hospital/CN=alice",
             "extendedKeyUsage=clientAuth\n");

    intake::MessageStoreOptions o;
    o.data_dir = dir_ + "/data";
    o.key_file = dir_ + "/hl7d.key";
    auto store = intake::MessageStore::Open(o, RealClock::Get());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
    server_.reset();
    if (store_) store_->Stop();
  }

  void Run(const std::string& command) {
    ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0)
        << command;
  }
  void MakeCa(const std::string& name, const std::string& cn) {
    Run(absl::StrCat("cd ", dir_,
                     " && openssl req -x509 -newkey ec -pkeyopt "
                     "ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout ",
                     name, ".key -out ", name, ".pem -subj '/CN=", cn,
                     "' -addext basicConstraints=critical,CA:TRUE -addext "
                     "keyUsage=critical,keyCertSign,cRLSign"));
  }
  void MakeLeaf(const std::string& name, const std::string& ca,
                const std::string& subject, const std::string& ext) {
    std::ofstream(dir_ + "/" + name + ".ext") << ext;
    Run(absl::StrCat("cd ", dir_,
                     " && openssl req -newkey ec -pkeyopt "
                     "ec_paramgen_curve:prime256v1 -nodes -keyout ",
                     name, ".key -out ", name, ".csr -subj '", subject, "'"));
    Run(absl::StrCat("cd ", dir_, " && openssl x509 -req -in ", name,
                     ".csr -CA ", ca, ".pem -CAkey ", ca,
                     ".key -CAcreateserial -days 2 -out ", name,
                     ".pem -extfile ", name, ".ext"));
  }

  void StartServer(bool require_client_cert) {
    cfg::ApplianceConfig config;
    config.set_grpc_port(0);
    config.mutable_store()->set_key_file(dir_ + "/hl7d.key");
    auto* control = config.mutable_control();
    control->set_bind("127.0.0.1");
    control->mutable_tls()->set_cert_file(dir_ + "/server.pem");
    control->mutable_tls()->set_key_file(dir_ + "/server.key");
    control->mutable_tls()->set_ca_file(dir_ + "/ca1.pem");
    control->mutable_tls()->set_require_client_cert(require_client_cert);
    auto* alice = control->add_principals();
    alice->set_name("alice");
    alice->set_role(cfg::ROLE_AUDITOR);
    alice->set_cert_subject("CN=alice,O=Test Hospital");
    auto* op = control->add_principals();
    op->set_name("ops-bot");
    op->set_role(cfg::ROLE_OPERATOR);
    op->set_token_sha256(crypto::ToHex(crypto::Sha256("bot-token")));
    ControlDeps deps;
    deps.store = store_.get();
    deps.clock = RealClock::Get();
    auto server = ControlServer::Start(ControlServerOptions{config}, deps);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  // WhoAmI over TLS trusting ca1, with the client certificate `client` (none
  // when empty) and optionally a bearer token.
  grpc::Status WhoAmI(const std::string& client, api::WhoAmIResponse* resp,
                      const std::string& token = "") {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(dir_ + "/ca1.pem");
    if (!client.empty()) {
      ssl.pem_private_key = ReadFile(dir_ + "/" + client + ".key");
      ssl.pem_cert_chain = ReadFile(dir_ + "/" + client + ".pem");
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    auto channel =
        grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                  grpc::SslCredentials(ssl), args);
    auto stub = api::AdminService::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    return stub->WhoAmI(&ctx, api::WhoAmIRequest(), resp);
  }

  std::vector<spb::AuditRecord> Refusals() {
    std::vector<spb::AuditRecord> out;
    auto records = store_->ReadAudit(0, 100000);
    EXPECT_TRUE(records.ok());
    for (const auto& r : *records) {
      if (r.type() == spb::AUDIT_ACCESS_REFUSED) out.push_back(r);
    }
    return out;
  }

  std::string dir_;
  std::unique_ptr<intake::MessageStore> store_;
  std::unique_ptr<ControlServer> server_;
};

TEST_F(MtlsTest, RequiredClientCertificates) {
  StartServer(/*require_client_cert=*/true);
  api::WhoAmIResponse resp;
  grpc::Status s = WhoAmI("alice", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.name(), "alice");
  EXPECT_EQ(resp.role(), "auditor");
  EXPECT_EQ(resp.authenticated_by(), "certificate");

  // No certificate, or one from another CA: refused (UNAUTHENTICATED) and
  // audited, not lost in a failed handshake.
  s = WhoAmI("", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(s.error_message().find("client certificate is required"),
            std::string::npos);
  s = WhoAmI("mallory", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(s.error_message().find("not trusted"), std::string::npos)
      << s.error_message();
  // Not even a valid token helps a foreign certificate.
  EXPECT_EQ(WhoAmI("mallory", &resp, "bot-token").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // A good certificate whose subject is no principal: UNAUTHENTICATED, and
  // audited with the subject.
  s = WhoAmI("bob", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  auto refused = Refusals();
  ASSERT_EQ(refused.size(), 4u);
  EXPECT_EQ(refused[0].actor(), "unauthenticated");
  // Mallory's certificate claims alice's subject, from another CA.
  EXPECT_EQ(refused[1].actor(), "cert:CN=alice,O=Test Hospital");
  EXPECT_EQ(refused[1].type(), spb::AUDIT_ACCESS_REFUSED);
  EXPECT_EQ(refused[3].actor(), "cert:CN=bob,O=Test Hospital");

  // A token inside mTLS names its own principal.
  s = WhoAmI("alice", &resp, "bot-token");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.name(), "ops-bot");
  EXPECT_EQ(resp.authenticated_by(), "token");
}

TEST_F(MtlsTest, OptionalClientCertificatesStillVerified) {
  StartServer(/*require_client_cert=*/false);
  api::WhoAmIResponse resp;
  // Without a certificate the handshake succeeds; a token authenticates.
  grpc::Status s = WhoAmI("", &resp, "bot-token");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.name(), "ops-bot");
  EXPECT_EQ(WhoAmI("", &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // A presented certificate is verified: another CA's is refused, audited.
  EXPECT_EQ(WhoAmI("mallory", &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Refusals().back().actor(), "cert:CN=alice,O=Test Hospital");
  ASSERT_TRUE(WhoAmI("alice", &resp).ok());
  EXPECT_EQ(resp.name(), "alice");
}

}  // namespace
}  // namespace appliance::control
