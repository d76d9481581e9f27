#include "appliance/control/test_fixture.h"

#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/base/test_util.h"
#include "appliance/crypto/hash.h"

namespace appliance::control::testing {

namespace cfg = ::hl7appliance::config::v1;

const char* const kAdmin = "ada";
const char* const kOperator = "otto";
const char* const kAuditor = "audrey";
const char* const kViewer = "vera";
const std::map<std::string, std::string> kTokens = {
    {"ada", "token-admin-0123456789"},
    {"otto", "token-operator-0123456789"},
    {"audrey", "token-auditor-0123456789"},
    {"vera", "token-viewer-0123456789"},
};

pipeline::AttemptResult TestDestination::Deliver(uint64_t seq,
                                                 std::string_view) {
  std::lock_guard<std::mutex> lock(mu_);
  pipeline::AttemptResult r;
  r.latency = absl::Milliseconds(1);
  if (permanent_.count(seq)) {
    r.disposition = pipeline::Disposition::kPermanent;
    r.http_status = 422;
    r.error = "HTTP 422";
    r.outcome =
        R"({"resourceType":"OperationOutcome","issue":[{"severity":"error"}]})";
  } else if (retry_.count(seq)) {
    r.disposition = pipeline::Disposition::kRetry;
    r.http_status = 503;
    r.error = "HTTP 503";
  } else {
    r.disposition = pipeline::Disposition::kDelivered;
    r.http_status = 200;
  }
  return r;
}

std::string Adt(const std::string& control_id) {
  std::string m = test_util::ReadHl7Corpus("adt_a01_v25.hl7");
  const std::string id = "ADT-A01-1";
  m.replace(m.find(id), id.size(), control_id);
  return m;
}

std::string LocalCodeOru(const std::string& control_id) {
  std::string m = test_util::ReadHl7Corpus("oru_r01_v23_hematology.hl7");
  const std::string loinc = "6690-2^Leukocytes^LN";
  m.replace(m.find(loinc), loinc.size(), "WBC^Leukocytes^99LAB");
  // MSH-10 is the 10th field.
  size_t pos = 0;
  for (int i = 0; i < 9; ++i) pos = m.find('|', pos) + 1;
  const size_t end = m.find('|', pos);
  m.replace(pos, end - pos, control_id);
  return m;
}

void ControlTest::SetUp() {
  dir_ = test_util::NewTempDir("control");
  config_.set_grpc_port(0);
  config_.mutable_store()->set_data_dir(dir_ + "/data");
  config_.mutable_store()->set_key_file(dir_ + "/hl7d.key");
  config_.mutable_control()->set_bind("127.0.0.1");
  config_.mutable_ops()->set_viewer_token_sha256(std::string(64, 'a'));
}

void ControlTest::TearDown() { StopAll(); }

void ControlTest::StartAll(bool add_principals) {
  if (add_principals) {
    const std::map<std::string, cfg::ControlRole> roles = {
        {kAdmin, cfg::ROLE_ADMIN},
        {kOperator, cfg::ROLE_OPERATOR},
        {kAuditor, cfg::ROLE_AUDITOR},
        {kViewer, cfg::ROLE_VIEWER}};
    for (const auto& [name, role] : roles) {
      auto* p = config_.mutable_control()->add_principals();
      p->set_name(name);
      p->set_role(role);
      p->set_token_sha256(crypto::ToHex(crypto::Sha256(kTokens.at(name))));
    }
  }
  intake::MessageStoreOptions o;
  o.data_dir = config_.store().data_dir();
  o.key_file = config_.store().key_file();
  o.heartbeat_interval = std::chrono::milliseconds(0);
  auto store = intake::MessageStore::Open(o, RealClock::Get());
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = std::move(*store);
  auto t = terminology::TerminologyStore::Open(store_.get(), RealClock::Get());
  ASSERT_TRUE(t.ok()) << t.status();
  terminology_ = std::move(*t);

  pipeline::DeliveryWorkerOptions d;
  d.retry.initial_backoff = absl::Seconds(30);  // RETRYING stays RETRYING.
  d.retry.max_backoff = absl::Seconds(60);
  d.breaker_failures = 1000;
  d.poll_interval = absl::Milliseconds(20);
  delivery_ = std::make_unique<pipeline::DeliveryWorker>(
      store_.get(), RealClock::Get(), &destination_, d);
  pipeline::MappingWorkerOptions m;
  m.poll_interval = absl::Milliseconds(10);
  m.mapper.unmapped_policy = fhir::UnmappedPolicy::kHold;
  m.on_mapped = [this](uint64_t seq) { delivery_->Notify(seq); };
  mapper_ = std::make_unique<pipeline::MappingWorker>(
      store_.get(), RealClock::Get(), terminology_->Current(), m);
  terminology_->OnChange([this](std::shared_ptr<const fhir::Terminology> t) {
    mapper_->SetTerminology(std::move(t));
  });
  mapper_->Start();
  ASSERT_TRUE(delivery_->Start().ok());
  intake::IntakeOptions io;
  io.on_accepted = [this] { mapper_->Notify(); };
  intake_ =
      std::make_unique<intake::Intake>(store_.get(), RealClock::Get(), io);
  ops::OpsOptions oo;
  oo.data_dir = o.data_dir;
  oo.stats_cache = std::chrono::milliseconds(0);
  ops_ = std::make_unique<ops::OpsService>(store_.get(), RealClock::Get(), oo);

  ControlDeps deps;
  deps.store = store_.get();
  deps.clock = RealClock::Get();
  deps.delivery = delivery_.get();
  deps.mapper = mapper_.get();
  deps.ops = ops_.get();
  deps.terminology = terminology_.get();
  auto server = ControlServer::Start(
      ControlServerOptions{config_, unauthenticated_audit_per_second_}, deps);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = std::move(*server);
  ASSERT_GT(server_->port(), 0);
  channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                 grpc::InsecureChannelCredentials());
  queue_ = api::QueueService::NewStub(channel_);
  messages_ = api::MessageService::NewStub(channel_);
  audit_ = api::AuditService::NewStub(channel_);
  stats_ = api::StatsService::NewStub(channel_);
  terminology_stub_ = api::TerminologyService::NewStub(channel_);
  admin_ = api::AdminService::NewStub(channel_);
}

void ControlTest::StopAll() {
  if (server_) server_->Shutdown(absl::Seconds(1));
  server_.reset();
  ops_.reset();
  if (mapper_) mapper_->Stop();
  if (delivery_) delivery_->Stop();
  intake_.reset();
  if (store_) store_->Stop();
  mapper_.reset();
  delivery_.reset();
  terminology_.reset();
  store_.reset();
}

uint64_t ControlTest::Send(const std::string& raw, std::string* ack_code) {
  std::promise<std::string> p;
  intake_->OnMessage({"127.0.0.1:5000", ""}, raw,
                     [&](std::string ack, bool) { p.set_value(ack); });
  const std::string ack = p.get_future().get();
  const size_t msa = ack.find("MSA|");
  if (ack_code != nullptr && msa != std::string::npos) {
    *ack_code = ack.substr(msa + 4, 2);
  }
  auto list = store_->ListMessages(0, 1000000);
  return list.ok() && !list->empty() ? list->back().seq() : 0;
}

bool ControlTest::WaitState(uint64_t seq, std::set<int> states) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    auto m = store_->GetMessage(seq);
    if (m.ok() && states.count(m->state())) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

std::unique_ptr<grpc::ClientContext> ControlTest::Ctx(
    const std::string& principal) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(30));
  if (!principal.empty()) {
    ctx->AddMetadata("authorization",
                     absl::StrCat("Bearer ", kTokens.at(principal)));
  }
  return ctx;
}

std::vector<spb::AuditRecord> ControlTest::Audit(spb::AuditEventType type,
                                                 uint64_t message_seq) {
  std::vector<spb::AuditRecord> out;
  auto records = store_->ReadAudit(0, 10000000);
  EXPECT_TRUE(records.ok());
  for (const auto& r : *records) {
    if (r.type() == type &&
        (message_seq == 0 || r.message_seq() == message_seq)) {
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace appliance::control::testing
