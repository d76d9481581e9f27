// An in-process appliance (store, intake, mapping and delivery workers, ops
// statistics, terminology) with the control plane on 127.0.0.1:0, and stubs
// over a real channel. For the control plane's tests.
#ifndef APPLIANCE_CONTROL_TEST_FIXTURE_H_
#define APPLIANCE_CONTROL_TEST_FIXTURE_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "api/control/v1/admin.grpc.pb.h"
#include "api/control/v1/audit.grpc.pb.h"
#include "api/control/v1/messages.grpc.pb.h"
#include "api/control/v1/queue.grpc.pb.h"
#include "api/control/v1/stats.grpc.pb.h"
#include "api/control/v1/terminology.grpc.pb.h"
#include "appliance/control/server.h"
#include "appliance/intake/intake.h"
#include "appliance/pipeline/destination.h"
#include "gtest/gtest.h"

namespace appliance::control::testing {

namespace api = ::hl7appliance::control::v1;
namespace spb = ::hl7appliance::store::v1;

// Delivers everything except the seqs told to fail (permanently, with an
// OperationOutcome, or retryably).
class TestDestination final : public pipeline::Destination {
 public:
  pipeline::AttemptResult Deliver(uint64_t seq, std::string_view) override;
  std::string name() const override { return "test:destination"; }
  void FailPermanently(uint64_t seq) {
    std::lock_guard<std::mutex> lock(mu_);
    permanent_.insert(seq);
  }
  void FailRetryably(uint64_t seq) {
    std::lock_guard<std::mutex> lock(mu_);
    retry_.insert(seq);
  }

 private:
  std::mutex mu_;
  std::set<uint64_t> permanent_, retry_;
};

// Principals of the fixture: name -> token (admin, operator, auditor,
// viewer).
extern const std::map<std::string, std::string> kTokens;
// The principal name of each role.
extern const char* const kAdmin;
extern const char* const kOperator;
extern const char* const kAuditor;
extern const char* const kViewer;

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts the store and everything on it, then the server with `config`'s
  // control section (the token principals above are added when
  // `add_principals`).
  void StartAll(bool add_principals = true);
  void StopAll();

  // Sends `raw` through the intake; returns its seq and the ACK code ("AA").
  uint64_t Send(const std::string& raw, std::string* ack_code = nullptr);
  // Waits until message `seq` is in one of `states`.
  bool WaitState(uint64_t seq, std::set<int> states);
  // A fresh context with "authorization: Bearer <token of principal>"; no
  // header for an empty name.
  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& principal);
  // Audit records of `type` (optionally only about `message_seq`).
  std::vector<spb::AuditRecord> Audit(spb::AuditEventType type,
                                      uint64_t message_seq = 0);

  std::string dir_;
  ::hl7appliance::config::v1::ApplianceConfig config_;
  // High: most tests count every refused call's record.
  int unauthenticated_audit_per_second_ = 100000;
  TestDestination destination_;
  std::unique_ptr<intake::MessageStore> store_;
  std::unique_ptr<intake::Intake> intake_;
  std::unique_ptr<terminology::TerminologyStore> terminology_;
  std::unique_ptr<pipeline::MappingWorker> mapper_;
  std::unique_ptr<pipeline::DeliveryWorker> delivery_;
  std::unique_ptr<ops::OpsService> ops_;
  std::unique_ptr<ControlServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<api::QueueService::Stub> queue_;
  std::unique_ptr<api::MessageService::Stub> messages_;
  std::unique_ptr<api::AuditService::Stub> audit_;
  std::unique_ptr<api::StatsService::Stub> stats_;
  std::unique_ptr<api::TerminologyService::Stub> terminology_stub_;
  std::unique_ptr<api::AdminService::Stub> admin_;
};

// An ADT^A01 with control id `control_id` (mapped under the strict policy).
std::string Adt(const std::string& control_id);
// An ORU with an unmapped local code: HELD under the strict policy.
std::string LocalCodeOru(const std::string& control_id);

}  // namespace appliance::control::testing

#endif  // APPLIANCE_CONTROL_TEST_FIXTURE_H_
