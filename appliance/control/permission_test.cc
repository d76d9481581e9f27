// The full permission matrix through real stubs over a real channel: every
// control-plane method x every role (allowed or PERMISSION_DENIED) and
// without credentials (UNAUTHENTICATED), each refusal audited with the actor.
#include <google/protobuf/descriptor.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/control/auth.h"
#include "appliance/control/test_fixture.h"

namespace appliance::control::testing {
namespace {

// A call of `method` on a stub with a default (empty) request.
template <typename Stub, typename Req, typename Resp>
std::function<grpc::Status(grpc::ClientContext*)> Unary(
    Stub* stub,
    grpc::Status (Stub::*fn)(grpc::ClientContext*, const Req&, Resp*)) {
  return [stub, fn](grpc::ClientContext* ctx) {
    Req req;
    Resp resp;
    return (stub->*fn)(ctx, req, &resp);
  };
}

struct Case {
  std::string method;  // Full method name.
  // Roles allowed: a = admin, o = operator, u = auditor, v = viewer.
  std::string allowed;
  std::function<grpc::Status(grpc::ClientContext*)> call;
};

class PermissionTest : public ControlTest {
 protected:
  std::vector<Case> Cases() {
    using QS = api::QueueService::Stub;
    using MS = api::MessageService::Stub;
    using AS = api::AuditService::Stub;
    using SS = api::StatsService::Stub;
    using TS = api::TerminologyService::Stub;
    using AdS = api::AdminService::Stub;
    auto* q = queue_.get();
    auto* m = messages_.get();
    auto* a = audit_.get();
    auto* s = stats_.get();
    auto* t = terminology_stub_.get();
    auto* ad = admin_.get();
    auto name = [](const char* service, const char* method) {
      return absl::StrCat("/hl7appliance.control.v1.", service, "/", method);
    };
    // THE expected matrix, written independently of auth.cc's table.
    return {
        {name("AdminService", "WhoAmI"), "aouv", Unary(ad, &AdS::WhoAmI)},
        {name("AdminService", "RotateDataKey"), "a",
         Unary(ad, &AdS::RotateDataKey)},
        {name("AdminService", "GetConfig"), "a", Unary(ad, &AdS::GetConfig)},
        {name("AdminService", "Backup"), "a", Unary(ad, &AdS::Backup)},
        {name("StatsService", "GetStats"), "aouv", Unary(s, &SS::GetStats)},
        {name("QueueService", "ListQueue"), "aouv", Unary(q, &QS::ListQueue)},
        {name("QueueService", "GetQueueItem"), "aouv",
         Unary(q, &QS::GetQueueItem)},
        {name("QueueService", "GetDeliveryState"), "aouv",
         Unary(q, &QS::GetDeliveryState)},
        {name("QueueService", "GetOperationOutcome"), "ao",
         Unary(q, &QS::GetOperationOutcome)},
        {name("QueueService", "RetryNow"), "ao", Unary(q, &QS::RetryNow)},
        {name("QueueService", "Remap"), "ao", Unary(q, &QS::Remap)},
        {name("QueueService", "Discard"), "ao", Unary(q, &QS::Discard)},
        {name("QueueService", "SetDeliveryPaused"), "ao",
         Unary(q, &QS::SetDeliveryPaused)},
        {name("MessageService", "SearchMessages"), "aouv",
         Unary(m, &MS::SearchMessages)},
        {name("MessageService", "GetMessage"), "aouv",
         Unary(m, &MS::GetMessage)},
        {name("MessageService", "GetRawMessage"), "ao",
         Unary(m, &MS::GetRawMessage)},
        {name("MessageService", "GetBundle"), "ao", Unary(m, &MS::GetBundle)},
        {name("AuditService", "QueryAudit"), "au", Unary(a, &AS::QueryAudit)},
        {name("AuditService", "VerifyAudit"), "au", Unary(a, &AS::VerifyAudit)},
        {name("AuditService", "ExportAudit"), "au",
         [a](grpc::ClientContext* ctx) {
           api::ExportAuditRequest req;
           api::ExportAuditChunk chunk;
           auto reader = a->ExportAudit(ctx, req);
           while (reader->Read(&chunk)) {
           }
           return reader->Finish();
         }},
        {name("TerminologyService", "ListVersions"), "aouv",
         Unary(t, &TS::ListVersions)},
        {name("TerminologyService", "ListMaps"), "aouv",
         Unary(t, &TS::ListMaps)},
        {name("TerminologyService", "GetRows"), "aouv", Unary(t, &TS::GetRows)},
        {name("TerminologyService", "Lookup"), "aouv", Unary(t, &TS::Lookup)},
        {name("TerminologyService", "DiffVersions"), "aouv",
         Unary(t, &TS::DiffVersions)},
        {name("TerminologyService", "ExportCsv"), "aouv",
         Unary(t, &TS::ExportCsv)},
        {name("TerminologyService", "UpsertRows"), "ao",
         Unary(t, &TS::UpsertRows)},
        {name("TerminologyService", "DeleteRows"), "ao",
         Unary(t, &TS::DeleteRows)},
        {name("TerminologyService", "ImportCsv"), "ao",
         Unary(t, &TS::ImportCsv)},
    };
  }
};

// Every method of every service in the package is in the matrix and in the
// server's permission table (a new RPC cannot be forgotten).
TEST_F(PermissionTest, MatrixCoversEveryMethod) {
  StartAll();
  std::set<std::string> in_matrix;
  for (const Case& c : Cases()) in_matrix.insert(c.method);
  const std::vector<std::string> known = KnownMethods();
  const std::set<std::string> in_table(known.begin(), known.end());
  std::set<std::string> in_protos;
  for (const char* service : {api::QueueService::service_full_name(),
                              api::MessageService::service_full_name(),
                              api::AuditService::service_full_name(),
                              api::StatsService::service_full_name(),
                              api::TerminologyService::service_full_name(),
                              api::AdminService::service_full_name()}) {
    const auto* sd =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            service);
    ASSERT_NE(sd, nullptr) << service;
    const auto* file = sd->file();
    for (int i = 0; i < file->service_count(); ++i) {
      const auto* sd = file->service(i);
      for (int j = 0; j < sd->method_count(); ++j) {
        in_protos.insert(
            absl::StrCat("/", sd->full_name(), "/", sd->method(j)->name()));
      }
    }
  }
  EXPECT_EQ(in_matrix, in_protos);
  EXPECT_EQ(in_table, in_protos);
}

TEST_F(PermissionTest, EveryMethodTimesEveryRole) {
  StartAll();
  const std::vector<std::pair<std::string, char>> roles = {{kAdmin, 'a'},
                                                           {kOperator, 'o'},
                                                           {kAuditor, 'u'},
                                                           {kViewer, 'v'},
                                                           {"", '-'}};
  for (const Case& c : Cases()) {
    const std::string short_method = c.method.substr(c.method.rfind('.') + 1);
    for (const auto& [principal, letter] : roles) {
      SCOPED_TRACE(absl::StrCat(c.method, " as ",
                                principal.empty() ? "nobody" : principal));
      const size_t refused_before = Audit(spb::AUDIT_ACCESS_REFUSED).size();
      const size_t calls_before = Audit(spb::AUDIT_CONTROL_CALL).size() +
                                  Audit(spb::AUDIT_PHI_READ).size();
      const grpc::Status status = c.call(Ctx(principal).get());
      const auto refused = Audit(spb::AUDIT_ACCESS_REFUSED);
      const size_t calls_after = Audit(spb::AUDIT_CONTROL_CALL).size() +
                                 Audit(spb::AUDIT_PHI_READ).size();
      if (principal.empty()) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
            << status.error_message();
      } else if (c.allowed.find(letter) == std::string::npos) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << status.error_message();
      } else {
        EXPECT_NE(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << status.error_message();
        EXPECT_NE(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
        // Exactly one record for the allowed call, none refused.
        EXPECT_EQ(calls_after, calls_before + 1);
        EXPECT_EQ(refused.size(), refused_before);
        continue;
      }
      // Refused: exactly one AUDIT_ACCESS_REFUSED naming actor and method.
      ASSERT_EQ(refused.size(), refused_before + 1);
      EXPECT_EQ(calls_after, calls_before);
      const spb::AuditRecord& r = refused.back();
      EXPECT_EQ(r.actor(), principal.empty() ? "unauthenticated" : principal);
      EXPECT_TRUE(absl::StartsWith(r.detail(), short_method)) << r.detail();
      EXPECT_EQ(r.outcome(), spb::AUDIT_OUTCOME_MINOR_FAILURE);
    }
  }
}

TEST_F(PermissionTest, UnknownAndMalformedTokensAreUnauthenticated) {
  StartAll();
  for (const std::string header :
       {"Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer", "token-admin"}) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", header);
    api::WhoAmIResponse resp;
    const grpc::Status s = admin_->WhoAmI(&ctx, api::WhoAmIRequest(), &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << header;
  }
}

TEST_F(PermissionTest, UnauthenticatedRefusalsAreRecordedAtARateButAllCounted) {
  // Anyone who reaches the port can make these; each record is a commit.
  unauthenticated_audit_per_second_ = 3;
  StartAll();
  constexpr int kCalls = 12;
  for (int i = 0; i < kCalls; ++i) {
    api::WhoAmIResponse resp;
    EXPECT_EQ(admin_->WhoAmI(Ctx("").get(), api::WhoAmIRequest(), &resp)
                  .error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  const size_t recorded = Audit(spb::AUDIT_ACCESS_REFUSED).size();
  EXPECT_GE(recorded, 3u);
  EXPECT_LT(recorded, static_cast<size_t>(kCalls));
  // A principal's calls and refusals are not limited.
  for (int i = 0; i < 5; ++i) {
    api::WhoAmIResponse resp;
    ASSERT_TRUE(
        admin_->WhoAmI(Ctx(kViewer).get(), api::WhoAmIRequest(), &resp).ok());
  }
  // The next refusal recorded (a second later) says how many were not.
  absl::SleepFor(absl::Milliseconds(1100));
  api::WhoAmIResponse resp;
  EXPECT_EQ(
      admin_->WhoAmI(Ctx("").get(), api::WhoAmIRequest(), &resp).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  const auto refused = Audit(spb::AUDIT_ACCESS_REFUSED);
  ASSERT_EQ(refused.size(), recorded + 1);
  uint64_t left_out = 0;
  for (const spb::AuditRecord& r : refused) {
    const size_t at = r.detail().find(" more not recorded one by one");
    if (at == std::string::npos) continue;
    const size_t open = r.detail().rfind('(', at);
    ASSERT_NE(open, std::string::npos) << r.detail();
    left_out += std::stoull(r.detail().substr(open + 1, at - open - 1));
  }
  // Every call is accounted for: recorded, or counted in a later record.
  EXPECT_EQ(left_out, kCalls - recorded);
}

TEST_F(PermissionTest, NoPrincipalsRefusesEveryone) {
  StartAll(/*add_principals=*/false);
  api::WhoAmIResponse resp;
  EXPECT_EQ(
      admin_->WhoAmI(Ctx("").get(), api::WhoAmIRequest(), &resp).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer token-admin-0123456789");
  EXPECT_EQ(admin_->WhoAmI(&ctx, api::WhoAmIRequest(), &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(PermissionTest, WhoAmIShowsRoleAndPermissions) {
  StartAll();
  api::WhoAmIResponse resp;
  ASSERT_TRUE(
      admin_->WhoAmI(Ctx(kAuditor).get(), api::WhoAmIRequest(), &resp).ok());
  EXPECT_EQ(resp.name(), kAuditor);
  EXPECT_EQ(resp.role(), "auditor");
  EXPECT_EQ(resp.authenticated_by(), "token");
  const std::set<std::string> perms(resp.permissions().begin(),
                                    resp.permissions().end());
  EXPECT_TRUE(perms.count("audit.read"));
  EXPECT_FALSE(perms.count("phi.read"));
}

}  // namespace
}  // namespace appliance::control::testing
