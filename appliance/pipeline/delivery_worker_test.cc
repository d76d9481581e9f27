#include "appliance/pipeline/delivery_worker.h"

#include <deque>
#include <future>
#include <map>
#include <set>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/audit/chain.h"
#include "appliance/base/test_util.h"
#include "appliance/crypto/keys.h"
#include "appliance/intake/intake.h"
#include "appliance/pipeline/mapping_worker.h"
#include "gtest/gtest.h"

namespace appliance::pipeline {
namespace {

namespace pb = ::hl7appliance::store::v1;

constexpr absl::Duration kWait = absl::Seconds(20);

// A destination whose answers a test scripts: by default every Bundle is
// delivered; `fail[seq]` answers with the given results first. Records each
// call in order. (The network destinations have their own tests; this one
// exercises the scheduling, persistence and audit of the worker.)
class ScriptedDestination final : public Destination {
 public:
  struct Call {
    uint64_t seq;
    absl::Time at;
  };
  AttemptResult Deliver(uint64_t seq, std::string_view bundle) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back({seq, absl::Now()});
    EXPECT_NE(bundle.find("\"resourceType\":\"Bundle\""), std::string::npos);
    AttemptResult r;
    r.latency = absl::Milliseconds(1);
    auto& script = script_[seq];
    if (!script.empty()) {
      r = script.front();
      script.pop_front();
    } else if (always_fail_) {
      r.disposition = Disposition::kRetry;
      r.error = "connection refused";
    } else {
      r.disposition = Disposition::kDelivered;
      r.http_status = 200;
    }
    return r;
  }
  std::string name() const override { return "test:scripted"; }

  void Script(uint64_t seq, AttemptResult r, int times = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < times; ++i) script_[seq].push_back(r);
  }
  void set_always_fail(bool f) {
    std::lock_guard<std::mutex> lock(mu_);
    always_fail_ = f;
  }
  std::vector<Call> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  int CallsFor(uint64_t seq) const {
    int n = 0;
    for (const Call& c : calls()) n += c.seq == seq;
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Call> calls_;
  std::map<uint64_t, std::deque<AttemptResult>> script_;
  bool always_fail_ = false;
};

AttemptResult Retryable(const std::string& error = "HTTP 503") {
  AttemptResult r;
  r.disposition = Disposition::kRetry;
  r.http_status = 503;
  r.error = error;
  return r;
}

// An ORU for patient `mrn` with control id `control_id`.
std::string Oru(const std::string& mrn, const std::string& control_id) {
  std::string m = test_util::ReadHl7Corpus("oru_r01_v251_chemistry.hl7");
  auto replace = [&](const std::string& from, const std::string& to) {
    const size_t at = m.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    m.replace(at, from.size(), to);
  };
  replace("CHEM000123", control_id);
  replace("MRN1000001", mrn);
  return m;
}

class DeliveryWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_util::NewTempDir("delivery");
    options_.retry.initial_backoff = absl::Milliseconds(5);
    options_.retry.max_backoff = absl::Milliseconds(20);
    options_.breaker_failures = 1000;  // Off unless a test turns it on.
    options_.poll_interval = absl::Milliseconds(20);
    OpenStore();
  }
  void TearDown() override { CloseStore(); }

  void OpenStore() {
    intake::MessageStoreOptions o;
    o.data_dir = dir_ + "/data";
    o.key_file = dir_ + "/hl7d.key";
    auto s = intake::MessageStore::Open(o, RealClock::Get());
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    intake_ = std::make_unique<intake::Intake>(store_.get(), RealClock::Get(),
                                               intake::IntakeOptions());
    MappingWorkerOptions mo;
    mo.poll_interval = absl::Milliseconds(10);
    mapper_ = std::make_unique<MappingWorker>(
        store_.get(), RealClock::Get(), std::make_shared<fhir::Terminology>(), mo);
    mapper_->Start();
  }

  void CloseStore() {
    if (worker_) worker_->Stop();
    worker_.reset();
    if (mapper_) mapper_->Stop();
    mapper_.reset();
    intake_.reset();
    if (store_) store_->Stop();
    store_.reset();
  }

  void StartWorker() {
    worker_ = std::make_unique<DeliveryWorker>(store_.get(), RealClock::Get(),
                                               &dest_, options_);
    ASSERT_TRUE(worker_->Start().ok());
  }

  // Sends through the intake and waits until the message is mapped; returns
  // its seq.
  uint64_t SendMapped(const std::string& payload) {
    std::promise<std::string> p;
    intake_->OnMessage({"127.0.0.1:5000", ""}, payload,
                       [&](std::string ack, bool) { p.set_value(ack); });
    const std::string ack = p.get_future().get();
    // Enhanced mode (MSH-15 AL): a commit accept.
    EXPECT_NE(ack.find("MSA|CA"), std::string::npos) << ack;
    auto sum = store_->Summarize();
    const uint64_t seq = sum->messages;
    mapper_->Notify();
    EXPECT_TRUE(WaitState(seq, {pb::MESSAGE_STATE_MAPPED, pb::MESSAGE_STATE_DELIVERED,
                                pb::MESSAGE_STATE_RETRYING}));
    return seq;
  }

  pb::PipelineEntry Entry(uint64_t seq) {
    auto e = store_->GetPipelineEntry(seq);
    EXPECT_TRUE(e.ok()) << e.status();
    auto meta = store_->GetMessage(seq);
    EXPECT_EQ(meta->state(), e->state()) << "message " << seq;
    return *e;
  }

  bool WaitState(uint64_t seq, std::vector<pb::MessageState> states,
                 absl::Duration timeout = kWait) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      auto e = store_->GetPipelineEntry(seq);
      if (e.ok()) {
        for (auto s : states) {
          if (e->state() == s) return true;
        }
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }

  int CountAudit(pb::AuditEventType type, uint64_t seq) {
    auto records = store_->ReadAudit(0, 100000);
    EXPECT_TRUE(records.ok());
    int n = 0;
    for (const pb::AuditRecord& r : *records) {
      if (r.type() == type && r.message_seq() == seq) ++n;
    }
    return n;
  }

  void ExpectAuditVerifies() {
    auto key = crypto::KeyFile::Load(dir_ + "/hl7d.key");
    ASSERT_TRUE(key.ok()) << key.status();
    auto report = audit::Verify(store_->env(), key->audit_hmac_key());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->ok) << audit::FormatReport(*report);
  }

  std::string dir_;
  DeliveryWorkerOptions options_;
  ScriptedDestination dest_;
  std::unique_ptr<intake::MessageStore> store_;
  std::unique_ptr<intake::Intake> intake_;
  std::unique_ptr<MappingWorker> mapper_;
  std::unique_ptr<DeliveryWorker> worker_;
};

TEST_F(DeliveryWorkerTest, DeliversEveryMappedMessageOnceAndAuditsIt) {
  StartWorker();
  std::vector<uint64_t> seqs;
  for (int i = 0; i < 6; ++i) {
    seqs.push_back(SendMapped(Oru(absl::StrCat("MRN", i), absl::StrCat("C", i))));
    worker_->Notify(seqs.back());
  }
  ASSERT_TRUE(worker_->WaitDrained(kWait));
  for (uint64_t seq : seqs) {
    const pb::PipelineEntry e = Entry(seq);
    EXPECT_EQ(e.state(), pb::MESSAGE_STATE_DELIVERED) << seq;
    EXPECT_EQ(e.attempts(), 1u);
    EXPECT_EQ(e.last_http_status(), 200);
    EXPECT_EQ(e.destination(), "test:scripted");
    EXPECT_GT(e.delivered_at_us(), 0);
    EXPECT_EQ(e.order_key().size(), 16u);  // A pseudonym, not the MRN.
    EXPECT_EQ(dest_.CallsFor(seq), 1);
    EXPECT_EQ(CountAudit(pb::AUDIT_DELIVERY_SUCCEEDED, seq), 1);
  }
  auto sum = store_->Summarize();
  EXPECT_EQ(sum->counters["delivery/delivered"], 6u);
  EXPECT_EQ(sum->counters["delivered/ORU^R01"], 6u);
  EXPECT_EQ(worker_->stats().delivered.load(), 6u);
  ExpectAuditVerifies();
}

TEST_F(DeliveryWorkerTest, BacklogBeyondMaxLoadedWaitsInTheStoreAndKeepsOrder) {
  options_.max_loaded = 4;
  std::vector<uint64_t> seqs;
  for (int i = 0; i < 12; ++i) {
    // Three patients, four messages each.
    seqs.push_back(SendMapped(Oru(absl::StrCat("MRN", i % 3), absl::StrCat("C", i))));
  }
  dest_.set_always_fail(true);  // Nothing leaves: the loader must stop at 4.
  StartWorker();
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(worker_->snapshot().queued, 4u);
  dest_.set_always_fail(false);
  ASSERT_TRUE(worker_->WaitDrained(kWait));
  for (uint64_t seq : seqs) EXPECT_EQ(Entry(seq).state(), pb::MESSAGE_STATE_DELIVERED);
  // Each patient's messages were first attempted in increasing seq order.
  std::map<int, uint64_t> last_first_attempt;
  std::set<uint64_t> seen;
  for (const auto& c : dest_.calls()) {
    if (!seen.insert(c.seq).second) continue;
    const int patient = static_cast<int>((c.seq - 1) % 3);
    EXPECT_GT(c.seq, last_first_attempt[patient]) << "patient " << patient;
    last_first_attempt[patient] = c.seq;
  }
}

TEST_F(DeliveryWorkerTest, RetriesWithPersistedAttemptsThenDelivers) {
  // Scripted before the message exists (the worker polls): it will be seq 1.
  dest_.Script(1, Retryable("HTTP 503"), 2);
  StartWorker();
  const uint64_t seq = SendMapped(Oru("MRN1", "C1"));
  ASSERT_EQ(seq, 1u);
  worker_->Notify(seq);
  ASSERT_TRUE(worker_->WaitDrained(kWait));
  const pb::PipelineEntry e = Entry(seq);
  EXPECT_EQ(e.state(), pb::MESSAGE_STATE_DELIVERED);
  EXPECT_EQ(e.attempts(), 3u);
  EXPECT_EQ(e.last_error(), "");
  EXPECT_EQ(CountAudit(pb::AUDIT_DELIVERY_FAILED, seq), 2);
  EXPECT_EQ(CountAudit(pb::AUDIT_DELIVERY_SUCCEEDED, seq), 1);
  EXPECT_EQ(worker_->stats().failed.load(), 2u);
  ExpectAuditVerifies();
}

TEST_F(DeliveryWorkerTest, PermanentRefusalDeadLettersOnlyThatMessageWithItsOutcome) {
  const uint64_t bad = SendMapped(Oru("MRN1", "C1"));
  const uint64_t good = SendMapped(Oru("MRN1", "C2"));  // Same patient.
  const uint64_t other = SendMapped(Oru("MRN2", "C3"));
  AttemptResult refused;
  refused.disposition = Disposition::kPermanent;
  refused.http_status = 422;
  refused.error = "HTTP 422: the EHR refused the Bundle";
  refused.outcome = R"({"resourceType":"OperationOutcome","issue":[]})";
  dest_.Script(bad, refused);
  StartWorker();
  ASSERT_TRUE(worker_->WaitDrained(kWait));
  const pb::PipelineEntry e = Entry(bad);
  EXPECT_EQ(e.state(), pb::MESSAGE_STATE_DEAD_LETTER);
  EXPECT_EQ(e.attempts(), 1u);
  EXPECT_EQ(e.last_http_status(), 422);
  EXPECT_EQ(e.last_error(), "HTTP 422: the EHR refused the Bundle");
  // The OperationOutcome is kept, sealed (it may quote PHI).
  ASSERT_FALSE(e.sealed_outcome().empty());
  EXPECT_EQ(e.sealed_outcome().find("OperationOutcome"), std::string::npos);
  auto opened = store_->keys()->Open(e.sealed_outcome(), absl::StrCat("outcome/", bad));
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, refused.outcome);
  EXPECT_EQ(CountAudit(pb::AUDIT_MESSAGE_DEAD_LETTERED, bad), 1);
  EXPECT_EQ(Entry(good).state(), pb::MESSAGE_STATE_DELIVERED);
  EXPECT_EQ(Entry(other).state(), pb::MESSAGE_STATE_DELIVERED);
  EXPECT_EQ(store_->Summarize()->counters["delivery/dead_letter"], 1u);
  // A refusal is an answer: the destination counts as reachable.
  EXPECT_GE(worker_->stats().last_reached_us.load(),
            worker_->stats().last_unreachable_us.load());
  EXPECT_GT(worker_->stats().last_reached_us.load(), 0);
  // The dashboard's error rate counts the dead letter as a failed message.
  auto hourly = store_->ReadCounters("h/");
  ASSERT_TRUE(hourly.ok());
  uint64_t failed = 0, delivered = 0;
  for (const auto& [key, n] : *hourly) {
    if (key.size() > 4 && key.substr(key.size() - 7) == "/failed") failed += n;
    if (key.size() > 10 && key.substr(key.size() - 10) == "/delivered") delivered += n;
  }
  EXPECT_EQ(failed, 1u);
  EXPECT_EQ(delivered, 2u);
}

TEST_F(DeliveryWorkerTest, SamePatientWaitsBehindARetryingMessageOthersFlow) {
  options_.retry.initial_backoff = absl::Milliseconds(30);
  options_.retry.max_backoff = absl::Milliseconds(30);
  const uint64_t first = SendMapped(Oru("MRN1", "C1"));
  const uint64_t second = SendMapped(Oru("MRN1", "C2"));
  const uint64_t other = SendMapped(Oru("MRN2", "C3"));
  dest_.Script(first, Retryable(), 4);
  StartWorker();
  ASSERT_TRUE(worker_->WaitDrained(kWait));
  const std::vector<ScriptedDestination::Call> calls = dest_.calls();
  // `second` went out only after `first` succeeded (its 5th call); `other`
  // did not wait for `first`.
  int first_calls = 0;
  bool other_before_first_done = false;
  for (const auto& c : calls) {
    if (c.seq == first) ++first_calls;
    if (c.seq == second) {
      EXPECT_EQ(first_calls, 5) << "second sent too early";
    }
    if (c.seq == other && first_calls < 5) other_before_first_done = true;
  }
  EXPECT_TRUE(other_before_first_done);
  EXPECT_EQ(dest_.CallsFor(second), 1);
  EXPECT_EQ(Entry(first).attempts(), 5u);
  EXPECT_EQ(Entry(second).state(), pb::MESSAGE_STATE_DELIVERED);
}

TEST_F(DeliveryWorkerTest, MaxAttemptsDeadLetters) {
  options_.retry.max_attempts = 3;
  const uint64_t seq = SendMapped(Oru("MRN1", "C1"));
  dest_.Script(seq, Retryable(), 10);
  StartWorker();
  ASSERT_TRUE(worker_->WaitDrained(kWait));
  const pb::PipelineEntry e = Entry(seq);
  EXPECT_EQ(e.state(), pb::MESSAGE_STATE_DEAD_LETTER);
  EXPECT_EQ(e.attempts(), 3u);
  EXPECT_EQ(e.last_error(), "HTTP 503 (gave up after 3 attempts)");
  EXPECT_EQ(dest_.CallsFor(seq), 3);
}

TEST_F(DeliveryWorkerTest, BreakerStopsHammeringAFailingDestination) {
  options_.breaker_failures = 3;
  options_.breaker_cooldown = absl::Milliseconds(300);
  options_.retry.initial_backoff = absl::Milliseconds(1);
  options_.retry.max_backoff = absl::Milliseconds(2);
  options_.concurrency = 1;
  dest_.set_always_fail(true);
  for (int i = 0; i < 5; ++i) SendMapped(Oru(absl::StrCat("MRN", i), absl::StrCat("C", i)));
  StartWorker();
  absl::SleepFor(absl::Milliseconds(450));
  // 3 failures open the breaker; in 450 ms at most one probe per cool-down
  // follows (the cool-down doubles after a failed probe): 3 + 1, maybe 2.
  const size_t calls = dest_.calls().size();
  EXPECT_GE(calls, 3u);
  EXPECT_LE(calls, 5u);
  EXPECT_TRUE(worker_->snapshot().breaker_open);
  EXPECT_EQ(worker_->stats().breaker_trips.load(), 1u);
  dest_.set_always_fail(false);
  ASSERT_TRUE(worker_->WaitDrained(kWait));
  EXPECT_FALSE(worker_->snapshot().breaker_open);
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    EXPECT_EQ(Entry(seq).state(), pb::MESSAGE_STATE_DELIVERED);
  }
}

TEST_F(DeliveryWorkerTest, RestartResumesRetryingAndQueuedMessages) {
  // The retry is due 1 s after the failure: still waiting when the new
  // worker starts.
  options_.retry.initial_backoff = absl::Seconds(1);
  options_.retry.max_backoff = absl::Seconds(1);
  options_.uniform = [] { return 1.0; };
  const uint64_t a = SendMapped(Oru("MRN1", "C1"));
  const uint64_t b = SendMapped(Oru("MRN1", "C2"));
  dest_.Script(a, Retryable(), 1);
  StartWorker();
  ASSERT_TRUE(WaitState(a, {pb::MESSAGE_STATE_RETRYING}));
  worker_->Stop();
  worker_.reset();
  EXPECT_EQ(Entry(b).state(), pb::MESSAGE_STATE_MAPPED);  // Waited behind a.
  CloseStore();
  OpenStore();
  StartWorker();
  EXPECT_EQ(worker_->snapshot().queued, 2u);
  EXPECT_EQ(worker_->snapshot().retrying, 1u);
  ASSERT_TRUE(worker_->WaitDrained(kWait));
  EXPECT_EQ(Entry(a).state(), pb::MESSAGE_STATE_DELIVERED);
  EXPECT_EQ(Entry(a).attempts(), 2u);
  EXPECT_EQ(Entry(b).state(), pb::MESSAGE_STATE_DELIVERED);
  EXPECT_EQ(dest_.CallsFor(b), 1);
  ExpectAuditVerifies();
}

TEST_F(DeliveryWorkerTest, OperatorRetryReplayDiscardAndPause) {
  AttemptResult refused;
  refused.disposition = Disposition::kPermanent;
  refused.http_status = 400;
  refused.error = "HTTP 400";
  const uint64_t dead = SendMapped(Oru("MRN1", "C1"));
  const uint64_t to_discard = SendMapped(Oru("MRN2", "C2"));
  dest_.Script(dead, refused);
  dest_.Script(to_discard, refused);
  StartWorker();
  ASSERT_TRUE(worker_->WaitDrained(kWait));
  ASSERT_EQ(Entry(dead).state(), pb::MESSAGE_STATE_DEAD_LETTER);
  EXPECT_EQ(worker_->snapshot().dead_letters, 2u);

  // Replay of a dead letter: queued again with fresh attempts, delivered.
  ASSERT_TRUE(worker_->RetryNow(dead, "admin:alice").ok());
  ASSERT_TRUE(worker_->WaitDrained(kWait));
  EXPECT_EQ(Entry(dead).state(), pb::MESSAGE_STATE_DELIVERED);
  EXPECT_EQ(Entry(dead).attempts(), 1u);
  EXPECT_EQ(CountAudit(pb::AUDIT_MESSAGE_RETRIED, dead), 1);
  EXPECT_EQ(worker_->snapshot().dead_letters, 1u);

  // Discard needs a reason; then it is final and audited with the actor.
  EXPECT_EQ(worker_->Discard(to_discard, "", "admin:alice").code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(worker_->Discard(to_discard, "duplicate order, entered by hand", "admin:alice").ok());
  EXPECT_EQ(Entry(to_discard).state(), pb::MESSAGE_STATE_DISCARDED);
  EXPECT_EQ(worker_->snapshot().dead_letters, 0u);
  EXPECT_EQ(worker_->Discard(to_discard, "again", "admin:alice").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(worker_->RetryNow(to_discard, "admin:alice").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(worker_->RetryNow(999, "admin:alice").code(), absl::StatusCode::kNotFound);
  auto records = store_->ReadAudit(0, 100000);
  bool found = false;
  for (const auto& r : *records) {
    if (r.type() == pb::AUDIT_MESSAGE_DISCARDED) {
      found = true;
      EXPECT_EQ(r.actor(), "admin:alice");
      EXPECT_NE(r.detail().find("duplicate order"), std::string::npos);
    }
  }
  EXPECT_TRUE(found);

  // Pause holds new messages back, survives a restart, and resume sends them.
  ASSERT_TRUE(worker_->SetPaused(true, "admin:bob").ok());
  const uint64_t held_back = SendMapped(Oru("MRN3", "C3"));
  worker_->Notify(held_back);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(dest_.CallsFor(held_back), 0);
  worker_->Stop();
  worker_.reset();
  StartWorker();
  EXPECT_TRUE(worker_->snapshot().paused);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(dest_.CallsFor(held_back), 0);
  ASSERT_TRUE(worker_->SetPaused(false, "admin:bob").ok());
  ASSERT_TRUE(worker_->WaitDrained(kWait));
  EXPECT_EQ(Entry(held_back).state(), pb::MESSAGE_STATE_DELIVERED);
  ExpectAuditVerifies();
}

}  // namespace
}  // namespace appliance::pipeline
