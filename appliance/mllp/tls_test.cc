// TLS tests for mllp::Server. Certificates are generated at start-up with the
// `openssl` CLI into TEST_TMPDIR (EC P-256, valid for two days): a CA, a
// server certificate and a client certificate it signed, and an untrusted CA
// with a client certificate of its own.
#include <openssl/ssl.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "appliance/mllp/framer.h"
#include "appliance/mllp/server.h"
#include "appliance/mllp/server_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace appliance::mllp {
namespace {

using ::appliance::mllp::testing::RecordingHandler;
using ::appliance::mllp::testing::TestClient;
using ::appliance::mllp::testing::WaitFor;
using ::testing::HasSubstr;
using ::testing::Optional;

constexpr char kOpenSslConfig[] = R"(
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
[client_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
)";

constexpr char kClientSubject[] = "CN=lab-analyzer-1,O=Test Hospital";

std::string Dir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}
std::string PathOf(const std::string& name) {
  return absl::StrCat(Dir(), "/", name);
}

bool Run(const std::string& command) {
  const std::string full = absl::StrCat(command, " >/dev/null 2>&1");
  const int rc = std::system(full.c_str());
  if (rc != 0) ADD_FAILURE() << "command failed (" << rc << "): " << command;
  return rc == 0;
}

// Creates `name`.key and a self-signed CA certificate `name`.crt.
bool MakeCa(const std::string& name, const std::string& subject) {
  return Run(absl::StrCat(
      "openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
      "-nodes -days 2 -config ",
      PathOf("openssl.cnf"), " -extensions ca_ext -subj '", subject,
      "' -keyout ", PathOf(name + ".key"), " -out ", PathOf(name + ".crt")));
}

// Creates `name`.key and `name`.crt signed by CA `ca`.
bool MakeLeaf(const std::string& name, const std::string& subject,
              const std::string& ca, const std::string& extensions,
              int serial) {
  return Run(absl::StrCat(
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -config ",
             PathOf("openssl.cnf"), " -subj '", subject, "' -keyout ",
             PathOf(name + ".key"), " -out ", PathOf(name + ".csr"))) &&
         Run(absl::StrCat(
             "openssl x509 -req -days 2 -in ", PathOf(name + ".csr"), " -CA ",
             PathOf(ca + ".crt"), " -CAkey ", PathOf(ca + ".key"),
             " -set_serial ", serial, " -extfile ", PathOf("openssl.cnf"),
             " -extensions ", extensions, " -out ", PathOf(name + ".crt")));
}

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// A client context that trusts the test CA, optionally with a certificate.
SslCtxPtr ClientContext(const std::string& cert = "") {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  EXPECT_EQ(SSL_CTX_load_verify_locations(ctx.get(), PathOf("ca.crt").c_str(),
                                          nullptr),
            1);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (!cert.empty()) {
    EXPECT_EQ(SSL_CTX_use_certificate_file(
                  ctx.get(), PathOf(cert + ".crt").c_str(), SSL_FILETYPE_PEM),
              1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(
                  ctx.get(), PathOf(cert + ".key").c_str(), SSL_FILETYPE_PEM),
              1);
  }
  return ctx;
}

TlsOptions ServerTls(bool require_client_cert) {
  TlsOptions tls;
  tls.cert_file = PathOf("server.crt");
  tls.key_file = PathOf("server.key");
  if (require_client_cert) {
    tls.ca_file = PathOf("ca.crt");
    tls.require_client_cert = true;
  }
  return tls;
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::ofstream(PathOf("openssl.cnf")) << kOpenSslConfig;
    certificates_ok_ =
        MakeCa("ca", "/CN=MLLP Test CA") &&
        MakeLeaf("server", "/CN=localhost", "ca", "server_ext", 2) &&
        MakeLeaf("client", "/O=Test Hospital/CN=lab-analyzer-1", "ca",
                 "client_ext", 3) &&
        MakeCa("rogue_ca", "/CN=Rogue CA") &&
        MakeLeaf("rogue_client", "/O=Test Hospital/CN=lab-analyzer-1",
                 "rogue_ca", "client_ext", 4);
  }

  void SetUp() override { ASSERT_TRUE(certificates_ok_); }

  void Start(const TlsOptions& tls,
             absl::Duration idle_timeout = absl::Seconds(30)) {
    ServerOptions options;
    options.port = 0;
    options.read_idle_timeout = idle_timeout;
    options.tls = tls;
    absl::StatusOr<std::unique_ptr<Server>> server =
        Server::Start(options, &handler_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  absl::StatusOr<std::unique_ptr<TestClient>> Connect(SSL_CTX* ctx) {
    return TestClient::Connect(server_->port(), "", ctx);
  }

  // The server must refuse `ctx`: either the handshake fails on the client,
  // or (TLS 1.3 checks the client certificate after the client finished) the
  // first exchange fails. Either way no frame reaches the handler and the
  // failure is counted.
  void ExpectRefused(SSL_CTX* ctx) {
    absl::StatusOr<std::unique_ptr<TestClient>> client = Connect(ctx);
    if (client.ok()) {
      (*client)->SendFrame("should not arrive");
      EXPECT_EQ((*client)->ReadFrame(), std::nullopt);
    }
    EXPECT_TRUE(
        WaitFor([&] { return server_->stats().tls_handshake_failures == 1; }));
    EXPECT_EQ(handler_.size(), 0u);
    EXPECT_EQ(server_->stats().frames_received, 0u);
  }

  static inline bool certificates_ok_ = false;
  RecordingHandler handler_{/*auto_respond=*/true};
  std::unique_ptr<Server> server_;
};

TEST_F(TlsTest, GoodClientWithoutClientCertificate) {
  Start(ServerTls(/*require_client_cert=*/false));
  SslCtxPtr ctx = ClientContext();
  auto client = Connect(ctx.get());
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->SendFrame("MSH|hello"));
  EXPECT_THAT((*client)->ReadFrame(), Optional(std::string("ACK:MSH|hello")));
  const RecordingHandler::Call call = handler_.call(0);
  EXPECT_TRUE(call.peer.tls);
  EXPECT_EQ(call.peer.tls_subject, "");
  EXPECT_EQ(server_->stats().tls_handshake_failures, 0u);
  EXPECT_GE(SSL_version((*client)->ssl()), TLS1_2_VERSION);
}

TEST_F(TlsTest, RequiredClientCertificatePresent) {
  Start(ServerTls(/*require_client_cert=*/true));
  SslCtxPtr ctx = ClientContext("client");
  auto client = Connect(ctx.get());
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->SendFrame("MSH|hello"));
  EXPECT_THAT((*client)->ReadFrame(), Optional(std::string("ACK:MSH|hello")));
  EXPECT_EQ(handler_.call(0).peer.tls_subject, kClientSubject);
}

TEST_F(TlsTest, RequiredClientCertificateMissing) {
  Start(ServerTls(/*require_client_cert=*/true));
  SslCtxPtr ctx = ClientContext();
  ExpectRefused(ctx.get());
}

TEST_F(TlsTest, ClientCertificateFromAnotherCa) {
  Start(ServerTls(/*require_client_cert=*/true));
  SslCtxPtr ctx = ClientContext("rogue_client");
  ExpectRefused(ctx.get());
}

TEST_F(TlsTest, Tls11ClientIsRefused) {
  Start(ServerTls(/*require_client_cert=*/false));
  SslCtxPtr ctx = ClientContext();
  // Let OpenSSL 3 offer TLS 1.1 at all (security level 0), so the server's
  // own minimum is what refuses it.
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_cipher_list(ctx.get(), "DEFAULT:@SECLEVEL=0");
  ASSERT_EQ(SSL_CTX_set_max_proto_version(ctx.get(), TLS1_1_VERSION), 1);
  absl::StatusOr<std::unique_ptr<TestClient>> client = Connect(ctx.get());
  EXPECT_FALSE(client.ok());
  EXPECT_TRUE(
      WaitFor([&] { return server_->stats().tls_handshake_failures == 1; }));
}

TEST_F(TlsTest, PlainTextClientIsRefused) {
  Start(ServerTls(/*require_client_cert=*/false));
  auto client = TestClient::Connect(server_->port());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->SendFrame("MSH|in clear"));
  EXPECT_TRUE((*client)->WaitForClose());
  EXPECT_TRUE(
      WaitFor([&] { return server_->stats().tls_handshake_failures == 1; }));
  EXPECT_EQ(handler_.size(), 0u);
}

TEST_F(TlsTest, HandshakeTimesOut) {
  TlsOptions tls = ServerTls(/*require_client_cert=*/false);
  tls.handshake_timeout = absl::Milliseconds(200);
  Start(tls);
  auto client = TestClient::Connect(server_->port());  // Never says hello.
  ASSERT_TRUE(client.ok());
  const absl::Time start = absl::Now();
  EXPECT_TRUE((*client)->WaitForClose());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(150));
  EXPECT_EQ(server_->stats().tls_handshake_failures, 1u);
}

TEST_F(TlsTest, PipelinedFramesAndCleanCloseOverTls) {
  Start(ServerTls(/*require_client_cert=*/false),
        /*idle_timeout=*/absl::Milliseconds(300));
  SslCtxPtr ctx = ClientContext();
  auto client = Connect(ctx.get());
  ASSERT_TRUE(client.ok()) << client.status();
  std::string burst;
  for (int i = 0; i < 20; ++i) AppendFrame(absl::StrCat("MSH|", i), &burst);
  ASSERT_TRUE((*client)->Send(burst));
  for (int i = 0; i < 20; ++i) {
    EXPECT_THAT((*client)->ReadFrame(), Optional(absl::StrCat("ACK:MSH|", i)));
  }
  // Idle: the server sends close_notify (SSL_read returns 0: a clean close).
  EXPECT_TRUE((*client)->WaitForClose());
  EXPECT_EQ(SSL_get_shutdown((*client)->ssl()) & SSL_RECEIVED_SHUTDOWN,
            SSL_RECEIVED_SHUTDOWN);
  client->reset();
  EXPECT_TRUE(
      WaitFor([&] { return server_->stats().connections_active == 0; }));
}

TEST_F(TlsTest, NonLoopbackBindIsAllowedWithTls) {
  ServerOptions options;
  options.bind_address = "0.0.0.0";
  options.port = 0;
  options.tls = ServerTls(/*require_client_cert=*/false);
  absl::StatusOr<std::unique_ptr<Server>> server =
      Server::Start(options, &handler_);
  ASSERT_TRUE(server.ok()) << server.status();
  SslCtxPtr ctx = ClientContext();
  auto client = TestClient::Connect((*server)->port(), "", ctx.get());
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->SendFrame("MSH|x"));
  EXPECT_THAT((*client)->ReadFrame(), Optional(std::string("ACK:MSH|x")));
}

TEST_F(TlsTest, StartFailsOnBadFiles) {
  auto start = [&](const TlsOptions& tls) {
    ServerOptions options;
    options.port = 0;
    options.tls = tls;
    return Server::Start(options, &handler_).status();
  };
  TlsOptions tls = ServerTls(false);
  tls.cert_file = PathOf("missing.crt");
  absl::Status status = start(tls);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("missing.crt"));

  tls = ServerTls(false);
  tls.key_file = PathOf("missing.key");
  EXPECT_EQ(start(tls).code(), absl::StatusCode::kFailedPrecondition);

  tls = ServerTls(true);
  tls.ca_file = PathOf("missing_ca.crt");
  EXPECT_EQ(start(tls).code(), absl::StatusCode::kFailedPrecondition);

  tls = ServerTls(false);
  tls.require_client_cert = true;  // Without ca_file.
  EXPECT_EQ(start(tls).code(), absl::StatusCode::kInvalidArgument);

  tls = ServerTls(false);
  tls.key_file = PathOf("client.key");  // Does not match server.crt.
  status = start(tls);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("tls.key_file"));

  tls = ServerTls(false);
  tls.cert_file = PathOf("openssl.cnf");  // Not a certificate.
  EXPECT_EQ(start(tls).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace appliance::mllp
