#include "appliance/pipeline/mapping_worker.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>

#include "appliance/audit/chain.h"
#include "appliance/base/test_util.h"
#include "appliance/crypto/keys.h"
#include "appliance/intake/intake.h"
#include <nlohmann/json.hpp>

#include "gtest/gtest.h"

namespace appliance::pipeline {
namespace {

// The Patient resource of a Bundle; null when it has none.
nlohmann::json PatientOf(const nlohmann::json& bundle) {
  for (const auto& e : bundle["entry"]) {
    if (e["resource"]["resourceType"] == "Patient") return e["resource"];
  }
  return nullptr;
}

namespace pb = ::hl7appliance::store::v1;

constexpr absl::Duration kWait = absl::Seconds(20);

// The hematology result with a local code (99LAB WBC) instead of LOINC.
std::string LocalCodeMessage() {
  std::string m = test_util::ReadHl7Corpus("oru_r01_v23_hematology.hl7");
  const std::string loinc = "6690-2^Leukocytes^LN";
  m.replace(m.find(loinc), loinc.size(), "WBC^Leukocytes^99LAB");
  return m;
}

std::shared_ptr<fhir::Terminology> FixedTerminology() {
  auto t = std::make_shared<fhir::Terminology>();
  t->AddCode("99LAB", "WBC", "",
             fhir::Coding{fhir::kLoincUri, "6690-2", "Leukocytes"});
  t->set_version(2);
  return t;
}

class MappingWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_util::NewTempDir("mapping");
    OpenStore();
  }
  void TearDown() override {
    if (worker_) worker_->Stop();
    worker_.reset();
    intake_.reset();
    if (store_) store_->Stop();
  }

  void OpenStore() {
    intake::MessageStoreOptions o;
    o.data_dir = dir_ + "/data";
    o.key_file = dir_ + "/hl7d.key";
    auto s = intake::MessageStore::Open(o, &clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    intake_ = std::make_unique<intake::Intake>(store_.get(), &clock_,
                                               intake::IntakeOptions());
  }

  void CloseStore() {
    if (worker_) worker_->Stop();
    worker_.reset();
    intake_.reset();
    store_->Stop();
    store_.reset();
  }

  void StartWorker(std::shared_ptr<const fhir::Terminology> terminology) {
    worker_ = std::make_unique<MappingWorker>(store_.get(), &clock_,
                                              std::move(terminology), options_);
    worker_->Start();
  }

  // Sends through the intake; returns MSA-1.
  std::string Send(const std::string& payload) {
    std::promise<std::string> p;
    intake_->OnMessage({"127.0.0.1:5000", ""}, payload,
                       [&](std::string ack, bool) { p.set_value(ack); });
    hl7::Message m;
    if (!m.ParseInto(p.get_future().get()).ok()) return "unparseable";
    return std::string(m.Get("MSA-1"));
  }

  // What the mapper gives for `raw` directly.
  std::string MapDirectly(const std::string& raw,
                          std::shared_ptr<const fhir::Terminology> t) {
    auto m = hl7::Message::Parse(raw);
    EXPECT_TRUE(m.ok()) << m.status();
    fhir::Mapper mapper(options_.mapper, std::move(t));
    fhir::MapResult r;
    EXPECT_TRUE(mapper.Map(*m, &r).ok());
    EXPECT_FALSE(r.hold) << r.hold_reason;
    return r.bundle;
  }

  pb::MessageState State(uint64_t seq) {
    auto meta = store_->GetMessage(seq);
    auto entry = store_->GetPipelineEntry(seq);
    EXPECT_TRUE(meta.ok()) << meta.status();
    EXPECT_TRUE(entry.ok()) << entry.status();
    EXPECT_EQ(meta->state(), entry->state()) << "message " << seq;
    return entry->state();
  }

  void ExpectAuditVerifies() {
    auto key = crypto::KeyFile::Load(dir_ + "/hl7d.key");
    ASSERT_TRUE(key.ok()) << key.status();
    auto report = audit::Verify(store_->env(), key->audit_hmac_key());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->ok) << audit::FormatReport(*report);
    EXPECT_TRUE(report->checkpoint_checked);
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

  FakeClock clock_;
  std::string dir_;
  MappingWorkerOptions options_;
  std::unique_ptr<intake::MessageStore> store_;
  std::unique_ptr<intake::Intake> intake_;
  std::unique_ptr<MappingWorker> worker_;
};

TEST_F(MappingWorkerTest, AcceptedMessagesBecomeMappedWithSealedBundles) {
  const std::vector<std::string> files = {"adt_a01_v25.hl7", "orm_o01_v24.hl7",
                                          "oru_r01_v251_chemistry.hl7",
                                          "oru_r01_bad_numeric.hl7"};
  EXPECT_EQ(Send(test_util::ReadHl7Corpus(files[0])), "AA");
  EXPECT_EQ(Send(test_util::ReadHl7Corpus(files[1])), "AA");
  EXPECT_EQ(Send(test_util::ReadHl7Corpus(files[2])), "CA");
  EXPECT_EQ(Send(test_util::ReadHl7Corpus(files[3])), "AE");  // Never queued.
  auto terminology = std::make_shared<const fhir::Terminology>();
  StartWorker(terminology);
  ASSERT_TRUE(worker_->WaitIdle(kWait));
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    SCOPED_TRACE(files[seq - 1]);
    EXPECT_EQ(State(seq), pb::MESSAGE_STATE_MAPPED);
    EXPECT_EQ(store_->GetPipelineEntry(seq)->attempts(), 1u);
    absl::StatusOr<std::string> bundle = store_->ReadBundle(seq);
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    EXPECT_EQ(*bundle,
              MapDirectly(test_util::ReadHl7Corpus(files[seq - 1]), terminology));
    EXPECT_EQ(CountAudit(pb::AUDIT_MESSAGE_MAPPED, seq), 1);
  }
  EXPECT_EQ(store_->GetMessage(4)->state(), pb::MESSAGE_STATE_ERROR);
  EXPECT_TRUE(absl::IsNotFound(store_->ReadBundle(4).status()));
  EXPECT_EQ(worker_->stats().mapped.load(), 3u);
  EXPECT_EQ(worker_->stats().held.load(), 0u);

  // A message arriving later is mapped after Notify() too.
  std::string later = test_util::ReadHl7Corpus("adt_a08_v231_nulls.hl7");
  EXPECT_EQ(Send(later), "AA");
  worker_->Notify();
  ASSERT_TRUE(worker_->WaitIdle(kWait));
  EXPECT_EQ(State(5), pb::MESSAGE_STATE_MAPPED);
  EXPECT_EQ(*store_->ReadBundle(5), MapDirectly(later, terminology));
  ExpectAuditVerifies();
}

TEST_F(MappingWorkerTest, AdtUpdateKeepsEmptyFieldsAndRemovesNulls) {
  // A01 with the full PID, then an A08 that changes the name, sends `""` for
  // the sex (remove) and leaves birth date, address and phones empty
  // (unchanged).
  EXPECT_EQ(Send(test_util::ReadHl7Corpus("adt_a01_v25.hl7")), "AA");
  const std::string a08 =
      "MSH|^~\\&|ADTSYS|GENHOSP|HL7APPLIANCE|GENHOSP|20261102151000||ADT^A08|A08-MERGE|P|2.5\r"
      "EVN|A08|20261102150900\r"
      "PID|1||MRN1000013^^^GENHOSP^MR||TESTPATIENT^LIMA^M^^^^L|||\"\"\r"
      "PV1|1|I|WARD2^202^B^GENHOSP\r";
  EXPECT_EQ(Send(a08), "AA");
  StartWorker(std::make_shared<const fhir::Terminology>());
  ASSERT_TRUE(worker_->WaitIdle(kWait));
  ASSERT_EQ(State(2), pb::MESSAGE_STATE_MAPPED);
  const nlohmann::json patient =
      PatientOf(nlohmann::json::parse(*store_->ReadBundle(2)));
  ASSERT_TRUE(patient.is_object());
  EXPECT_EQ(patient["name"][0]["given"][0], "LIMA");        // Replaced.
  EXPECT_FALSE(patient.contains("gender"));                  // "" removed.
  EXPECT_EQ(patient["birthDate"], "1945-12-31");             // Kept.
  EXPECT_EQ(patient["address"][0]["city"], "TESTVILLE");     // Kept.
  EXPECT_EQ(patient["telecom"].size(), 2u);                  // Kept.
  // Mapped alone, the A08 would have erased them.
  const nlohmann::json alone = PatientOf(nlohmann::json::parse(
      MapDirectly(a08, std::make_shared<const fhir::Terminology>())));
  ASSERT_TRUE(alone.is_object());
  EXPECT_FALSE(alone.contains("birthDate"));
  EXPECT_FALSE(alone.contains("address"));
  // The next update merges onto the merged one: the sex comes back, the rest
  // stays.
  const std::string a08b =
      "MSH|^~\\&|ADTSYS|GENHOSP|HL7APPLIANCE|GENHOSP|20261102152000||ADT^A08|A08-MERGE-2|P|2.5\r"
      "EVN|A08|20261102151900\r"
      "PID|1||MRN1000013^^^GENHOSP^MR||TESTPATIENT^LIMA^M^^^^L|||F\r"
      "PV1|1|I|WARD2^202^B^GENHOSP\r";
  EXPECT_EQ(Send(a08b), "AA");
  worker_->Notify();
  ASSERT_TRUE(worker_->WaitIdle(kWait));
  ASSERT_EQ(State(3), pb::MESSAGE_STATE_MAPPED);
  const nlohmann::json third =
      PatientOf(nlohmann::json::parse(*store_->ReadBundle(3)));
  ASSERT_TRUE(third.is_object());
  EXPECT_EQ(third["gender"], "female");
  EXPECT_EQ(third["name"][0]["given"][0], "LIMA");
  EXPECT_EQ(third["birthDate"], "1945-12-31");
  ExpectAuditVerifies();
}

TEST_F(MappingWorkerTest, StrictModeHoldsAndRemapAfterFixMaps) {
  options_.mapper.unmapped_policy = fhir::UnmappedPolicy::kHold;
  EXPECT_EQ(Send(test_util::ReadHl7Corpus("adt_a01_v25.hl7")), "AA");
  EXPECT_EQ(Send(LocalCodeMessage()), "AA");
  StartWorker(std::make_shared<const fhir::Terminology>());
  ASSERT_TRUE(worker_->WaitIdle(kWait));
  EXPECT_EQ(State(1), pb::MESSAGE_STATE_MAPPED);
  EXPECT_EQ(State(2), pb::MESSAGE_STATE_HELD);
  const std::string reason = store_->GetPipelineEntry(2)->last_error();
  EXPECT_NE(reason, "");
  EXPECT_EQ(reason.find("TESTPATIENT"), std::string::npos);
  EXPECT_TRUE(absl::IsNotFound(store_->ReadBundle(2).status()));
  EXPECT_EQ(CountAudit(pb::AUDIT_MESSAGE_HELD, 2), 1);
  EXPECT_EQ(worker_->stats().held.load(), 1u);

  // Only HELD messages can be re-mapped.
  EXPECT_TRUE(absl::IsFailedPrecondition(worker_->RemapHeld(1)));
  EXPECT_TRUE(absl::IsNotFound(worker_->RemapHeld(99)));

  // Re-mapping with the same terminology holds again.
  ASSERT_TRUE(worker_->RemapHeld(2).ok());
  ASSERT_TRUE(worker_->WaitIdle(kWait));
  EXPECT_EQ(State(2), pb::MESSAGE_STATE_HELD);
  EXPECT_EQ(store_->GetPipelineEntry(2)->attempts(), 2u);

  // After the terminology is fixed, it maps.
  const auto fixed = FixedTerminology();
  worker_->SetTerminology(fixed);
  ASSERT_TRUE(worker_->RemapHeld(2).ok());
  ASSERT_TRUE(worker_->WaitIdle(kWait));
  EXPECT_EQ(State(2), pb::MESSAGE_STATE_MAPPED);
  EXPECT_EQ(store_->GetPipelineEntry(2)->last_error(), "");
  absl::StatusOr<std::string> bundle = store_->ReadBundle(2);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(*bundle, MapDirectly(LocalCodeMessage(), fixed));
  EXPECT_NE(bundle->find("6690-2"), std::string::npos);
  EXPECT_EQ(CountAudit(pb::AUDIT_MESSAGE_REQUEUED, 2), 2);
  EXPECT_EQ(CountAudit(pb::AUDIT_MESSAGE_MAPPED, 2), 1);
  ExpectAuditVerifies();
}

TEST_F(MappingWorkerTest, PendingMessagesAreResumedAfterRestart) {
  EXPECT_EQ(Send(test_util::ReadHl7Corpus("adt_a01_v25.hl7")), "AA");
  EXPECT_EQ(Send(test_util::ReadHl7Corpus("orm_o01_v24.hl7")), "AA");
  StartWorker(std::make_shared<const fhir::Terminology>());
  ASSERT_TRUE(worker_->WaitIdle(kWait));
  // Accepted while no worker runs, then the appliance stops.
  worker_->Stop();
  EXPECT_EQ(Send(test_util::ReadHl7Corpus("oru_r01_v23_hematology.hl7")), "AA");
  EXPECT_EQ(Send(test_util::ReadHl7Corpus("oru_r01_utf8.hl7")), "AA");
  CloseStore();

  OpenStore();
  EXPECT_EQ(State(1), pb::MESSAGE_STATE_MAPPED);
  EXPECT_EQ(State(3), pb::MESSAGE_STATE_PENDING);
  EXPECT_EQ(State(4), pb::MESSAGE_STATE_PENDING);
  auto terminology = std::make_shared<const fhir::Terminology>();
  StartWorker(terminology);
  ASSERT_TRUE(worker_->WaitIdle(kWait));
  for (uint64_t seq = 1; seq <= 4; ++seq) {
    EXPECT_EQ(State(seq), pb::MESSAGE_STATE_MAPPED) << seq;
    EXPECT_EQ(CountAudit(pb::AUDIT_MESSAGE_MAPPED, seq), 1) << seq;
  }
  EXPECT_EQ(*store_->ReadBundle(3),
            MapDirectly(test_util::ReadHl7Corpus("oru_r01_v23_hematology.hl7"),
                        terminology));
  EXPECT_EQ(worker_->stats().mapped.load(), 2u);
  ExpectAuditVerifies();
}

TEST_F(MappingWorkerTest, IntakeWakesTheWorkerAndTerminologyVersionIsKept) {
  options_.poll_interval = absl::Hours(1);  // Only Notify() wakes it.
  options_.mapper.unmapped_policy = fhir::UnmappedPolicy::kHold;
  StartWorker(std::make_shared<const fhir::Terminology>());
  ASSERT_TRUE(worker_->WaitIdle(kWait));
  intake::IntakeOptions intake_options;
  intake_options.on_accepted = [this] { worker_->Notify(); };
  intake_ = std::make_unique<intake::Intake>(store_.get(), &clock_,
                                             intake_options);
  EXPECT_EQ(Send(LocalCodeMessage()), "AA");  // Held: unmapped code, v0.
  ASSERT_TRUE(worker_->WaitIdle(kWait));
  EXPECT_EQ(State(1), pb::MESSAGE_STATE_HELD);
  EXPECT_EQ(store_->GetPipelineEntry(1)->terminology_version(), 0);

  worker_->SetTerminology(FixedTerminology());  // Version 2.
  EXPECT_EQ(Send(test_util::ReadHl7Corpus("adt_a01_v25.hl7")), "AA");
  ASSERT_TRUE(worker_->WaitIdle(kWait));
  EXPECT_EQ(State(2), pb::MESSAGE_STATE_MAPPED);
  EXPECT_EQ(store_->GetPipelineEntry(2)->terminology_version(), 2);
  // Notifications coalesce: 1000 of them make far fewer rounds.
  for (int i = 0; i < 1000; ++i) worker_->Notify();
  ASSERT_TRUE(worker_->WaitIdle(kWait));
  ASSERT_TRUE(worker_->RemapHeld(1).ok());
  ASSERT_TRUE(worker_->WaitIdle(kWait));
  EXPECT_EQ(State(1), pb::MESSAGE_STATE_MAPPED);
  EXPECT_EQ(store_->GetPipelineEntry(1)->terminology_version(), 2);
  EXPECT_LT(worker_->stats().rounds.load(), 50u);
  ExpectAuditVerifies();
}

TEST_F(MappingWorkerTest, StoppedStoreFailsJobsWithoutLosingEntries) {
  EXPECT_EQ(Send(test_util::ReadHl7Corpus("adt_a01_v25.hl7")), "AA");
  store_->Stop();  // Jobs now fail at once with UNAVAILABLE.
  options_.poll_interval = absl::Milliseconds(10);
  StartWorker(std::make_shared<const fhir::Terminology>());
  absl::SleepFor(absl::Milliseconds(100));
  worker_->Stop();
  EXPECT_GT(worker_->stats().commit_failures.load(), 0u);
  EXPECT_EQ(worker_->stats().mapped.load(), 0u);
  EXPECT_EQ(store_->GetPipelineEntry(1)->state(), pb::MESSAGE_STATE_PENDING);
}

}  // namespace
}  // namespace appliance::pipeline
