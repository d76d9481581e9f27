// Unit tests of the permission table, the authenticator, the control
// configuration rules and the paging helpers (no sockets).
#include "appliance/control/auth.h"

#include "absl/strings/str_cat.h"
#include "appliance/config/config.h"
#include "appliance/control/convert.h"
#include "appliance/crypto/hash.h"
#include "gtest/gtest.h"

namespace appliance::control {
namespace {

namespace cfg = ::hl7appliance::config::v1;

TEST(AuthTest, RolesAndPermissions) {
  EXPECT_TRUE(RoleAllows(cfg::ROLE_ADMIN, Permission::kAdmin));
  EXPECT_FALSE(RoleAllows(cfg::ROLE_OPERATOR, Permission::kAdmin));
  EXPECT_TRUE(RoleAllows(cfg::ROLE_OPERATOR, Permission::kPhiRead));
  EXPECT_FALSE(RoleAllows(cfg::ROLE_OPERATOR, Permission::kAuditRead));
  EXPECT_TRUE(RoleAllows(cfg::ROLE_AUDITOR, Permission::kAuditRead));
  EXPECT_FALSE(RoleAllows(cfg::ROLE_AUDITOR, Permission::kPhiRead));
  EXPECT_FALSE(RoleAllows(cfg::ROLE_VIEWER, Permission::kQueueWrite));
  EXPECT_TRUE(RoleAllows(cfg::ROLE_VIEWER, Permission::kStatsRead));
  EXPECT_FALSE(RoleAllows(cfg::ROLE_UNSPECIFIED, Permission::kWhoAmI));
  EXPECT_EQ(MethodPermission("/hl7appliance.control.v1.QueueService/Discard"),
            Permission::kQueueWrite);
  EXPECT_FALSE(MethodPermission("/hl7appliance.control.v1.QueueService/Nope"));
  EXPECT_FALSE(MethodPermission("/other.QueueService/Discard"));
  EXPECT_TRUE(IsPhiMethod("/hl7appliance.control.v1.MessageService/GetBundle"));
  EXPECT_FALSE(
      IsPhiMethod("/hl7appliance.control.v1.MessageService/GetMessage"));
}

TEST(AuthTest, Authenticator) {
  cfg::ControlConfig c;
  auto* a = c.add_principals();
  a->set_name("ada");
  a->set_role(cfg::ROLE_ADMIN);
  a->set_token_sha256(crypto::ToHex(crypto::Sha256("secret")));
  auto* b = c.add_principals();
  b->set_name("bob");
  b->set_role(cfg::ROLE_VIEWER);
  b->set_cert_subject("CN=bob");
  Authenticator auth(c);
  auto p = auth.Authenticate(std::string("secret"), std::nullopt);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "ada");
  EXPECT_EQ(p->authenticated_by, "token");
  p = auth.Authenticate(std::nullopt, std::string("CN=bob"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "bob");
  // A wrong token is refused even with a good certificate.
  EXPECT_TRUE(absl::IsUnauthenticated(
      auth.Authenticate(std::string("wrong"), std::string("CN=bob")).status()));
  EXPECT_TRUE(absl::IsUnauthenticated(
      auth.Authenticate(std::nullopt, std::string("CN=eve")).status()));
  EXPECT_TRUE(absl::IsUnauthenticated(
      auth.Authenticate(std::nullopt, std::nullopt).status()));
}

cfg::ControlConfig Loopback() {
  cfg::ControlConfig c;
  c.set_bind("127.0.0.1");
  return c;
}

TEST(ControlConfigTest, PlainTextOnlyOnLoopback) {
  EXPECT_TRUE(config::ValidateControl(Loopback()).ok());
  cfg::ControlConfig c = Loopback();
  c.set_bind("0.0.0.0");
  absl::Status s = config::ValidateControl(c);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("loopback"), std::string::npos);
  c.mutable_tls()->set_cert_file("/c.pem");
  c.mutable_tls()->set_key_file("/k.pem");
  EXPECT_TRUE(config::ValidateControl(c).ok());
  // Through the whole config loading: exit 78 in hl7d (FAILED_PRECONDITION).
  config::FlagMap flags = {{"grpc_bind", "0.0.0.0"}};
  EXPECT_TRUE(absl::IsFailedPrecondition(config::LoadConfig(flags).status()));
}

TEST(ControlConfigTest, PrincipalsAreChecked) {
  cfg::ControlConfig c = Loopback();
  auto* p = c.add_principals();
  p->set_name("ada");
  p->set_role(cfg::ROLE_ADMIN);
  EXPECT_TRUE(absl::IsInvalidArgument(config::ValidateControl(c)));  // No id.
  p->set_token_sha256("ABC");
  absl::Status s = config::ValidateControl(c);
  EXPECT_NE(s.message().find("control.principals[0].token_sha256"),
            std::string::npos)
      << s;
  p->set_token_sha256(std::string(64, 'f'));
  EXPECT_TRUE(config::ValidateControl(c).ok());
  auto* q = c.add_principals();
  *q = *p;
  s = config::ValidateControl(c);
  EXPECT_NE(s.message().find("control.principals[1].name"), std::string::npos)
      << s;
  q->set_name("bob");
  q->clear_token_sha256();
  q->set_cert_subject("CN=bob");
  s = config::ValidateControl(c);  // Needs a CA file.
  EXPECT_NE(s.message().find("ca_file"), std::string::npos) << s;
  q->set_role(cfg::ROLE_UNSPECIFIED);
  s = config::ValidateControl(c);
  EXPECT_NE(s.message().find("control.principals[1].role"), std::string::npos)
      << s;
}

TEST(ControlConfigTest, AdminTokenFlag) {
  config::FlagMap flags = {{"grpc_admin_token_sha256", std::string(64, '0')},
                           {"grpc_port", "0"}};
  auto c = config::LoadConfig(flags);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->control().principals_size(), 1);
  EXPECT_EQ(c->control().principals(0).role(), cfg::ROLE_ADMIN);
  EXPECT_EQ(c->control().bind(), "127.0.0.1");
  flags["grpc_admin_token_sha256"] = "not-hex";
  EXPECT_FALSE(config::LoadConfig(flags).ok());
}

TEST(PagingTest, TokensAndSizes) {
  EXPECT_EQ(EffectivePageSize(0), kDefaultPageSize);
  EXPECT_EQ(EffectivePageSize(5), 5u);
  EXPECT_EQ(EffectivePageSize(100000), kMaxPageSize);
  const std::string t = EncodePageToken("queue", 42);
  EXPECT_EQ(*DecodePageToken("queue", t), 42u);
  EXPECT_EQ(*DecodePageToken("queue", ""), 0u);
  EXPECT_TRUE(absl::IsInvalidArgument(DecodePageToken("audit", t).status()));
  EXPECT_TRUE(
      absl::IsInvalidArgument(DecodePageToken("queue", "%%%").status()));
  EXPECT_EQ(t.find("42"), std::string::npos);  // Opaque.
}

}  // namespace
}  // namespace appliance::control
