#include "appliance/audit/retention.h"

#include <future>
#include <string>

#include "absl/strings/str_cat.h"
#include "appliance/audit/chain.h"
#include "appliance/base/test_util.h"
#include "appliance/crypto/keys.h"
#include "appliance/intake/intake.h"
#include "appliance/store/keys.h"
#include "gtest/gtest.h"

namespace appliance::audit {
namespace {

constexpr int64_t kDay = 86400LL * 1000000;

std::string Oru(const std::string& control_id) {
  return absl::StrCat(
      "MSH|^~\\&|LAB|HOSP|HL7APPLIANCE|GENHOSP|20261102081530||ORU^R01^ORU_R01|",
      control_id,
      "|P|2.5.1\rPID|1||MRN1^^^GENHOSP^MR||TESTPATIENT^SYNTH||19700101|F\r"
      "OBR|1||FIL1|2345-7^Glucose^LN|||20261102073000\r"
      "OBX|1|NM|2345-7^Glucose^LN||5.4|mmol/L|3.9-6.1|N|||F\r");
}

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_util::NewTempDir("retention");
    intake::MessageStoreOptions o;
    o.data_dir = dir_ + "/data";
    o.key_file = dir_ + "/hl7d.key";
    auto s = intake::MessageStore::Open(o, &clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    intake_ = std::make_unique<intake::Intake>(store_.get(), &clock_,
                                               intake::IntakeOptions());
    auto key = crypto::KeyFile::Load(dir_ + "/hl7d.key");
    ASSERT_TRUE(key.ok());
    audit_key_ = std::string(key->audit_hmac_key());
  }
  void TearDown() override {
    intake_.reset();
    store_->Stop();
  }

  void Send(const std::string& payload) {
    std::promise<void> p;
    intake_->OnMessage({"127.0.0.1:5000", ""}, payload,
                       [&](std::string, bool) { p.set_value(); });
    p.get_future().get();
  }

  // Sets message `seq` to `state` (as the pipeline stages do).
  void SetState(uint64_t seq, pb::MessageState state) {
    std::promise<absl::Status> p;
    store_->SubmitJob(
        [&](store::WriteTxn& txn, intake::AuditAppender&) -> absl::Status {
          auto messages = store_->Db("messages");
          auto pipeline = store_->Db("pipeline");
          const std::string key = store::EncodeU64BE(seq);
          auto v = txn.Get(*messages, key);
          pb::MessageMeta m;
          m.ParseFromArray(v->data(), static_cast<int>(v->size()));
          m.set_state(state);
          std::string out;
          m.SerializeToString(&out);
          auto s = txn.Put(*messages, key, out);
          if (!s.ok()) return s;
          auto e = txn.Find(*pipeline, key);
          if (e.ok() && e->has_value()) {
            pb::PipelineEntry entry;
            entry.ParseFromArray((*e)->data(), static_cast<int>((*e)->size()));
            entry.set_state(state);
            entry.SerializeToString(&out);
            return txn.Put(*pipeline, key, out);
          }
          return absl::OkStatus();
        },
        [&](absl::Status s) { p.set_value(s); });
    ASSERT_TRUE(p.get_future().get().ok());
  }

  VerifyReport Verify() {
    auto r = audit::Verify(store_->env(), audit_key_);
    EXPECT_TRUE(r.ok()) << r.status();
    return *r;
  }

  FakeClock clock_;
  std::string dir_;
  std::string audit_key_;
  std::unique_ptr<intake::MessageStore> store_;
  std::unique_ptr<intake::Intake> intake_;
};

TEST_F(RetentionTest, PrunesOldFinishedPayloadsAndAuditPrefixKeepingTheChainVerifiable) {
  Send(Oru("OLD-1"));  // seq 1: will be DELIVERED.
  Send(Oru("OLD-2"));  // seq 2: still PENDING (in processing).
  Send("this is not HL7");  // seq 3: REJECTED.
  SetState(1, pb::MESSAGE_STATE_DELIVERED);
  const uint64_t old_audit = store_->ReadAudit(0, 100000)->size();
  clock_.Advance(40 * kDay);
  Send(Oru("NEW-1"));  // seq 4: recent.
  SetState(4, pb::MESSAGE_STATE_DELIVERED);

  RetentionOptions o;
  o.payload_max_age = absl::Hours(24 * 30);
  o.audit_max_age = absl::Hours(24 * 30);
  o.max_per_step = 2;  // Several steps.
  auto r = Prune(store_.get(), &clock_, o, "retention");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->payloads_pruned, 2u);  // seq 1 and 3.
  EXPECT_EQ(r->audit_records_pruned, old_audit);
  EXPECT_GE(r->steps, 2u);

  EXPECT_EQ(store_->ReadPayload(1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->ReadPayload(3).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->ReadPayload(2).ok());  // Still in processing.
  EXPECT_TRUE(store_->ReadPayload(4).ok());  // Recent.
  EXPECT_TRUE(store_->GetMessage(1)->payload_pruned());
  EXPECT_EQ(store_->GetMessage(1)->control_id(), "OLD-1");  // Metadata stays.

  VerifyReport v = Verify();
  EXPECT_TRUE(v.ok) << FormatReport(v);
  EXPECT_EQ(v.first_seq, old_audit + 1);
  EXPECT_EQ(v.anchored_from, old_audit + 1);
  EXPECT_NE(FormatReport(v).find("pruned (anchor)"), std::string::npos);
  int pruned_records = 0;
  const auto records = store_->ReadAudit(0, 100000);
  ASSERT_TRUE(records.ok());
  for (const auto& rec : *records) {
    if (rec.type() == pb::AUDIT_RETENTION_PRUNED) {
      ++pruned_records;
      EXPECT_EQ(rec.actor(), "retention");
    }
  }
  EXPECT_EQ(pruned_records, static_cast<int>(r->steps));

  // Pruning again finds nothing; once seq 2 finishes, it goes too.
  auto again = Prune(store_.get(), &clock_, o, "retention");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->payloads_pruned + again->audit_records_pruned, 0u);
  SetState(2, pb::MESSAGE_STATE_DELIVERED);
  again = Prune(store_.get(), &clock_, o, "retention");
  EXPECT_EQ(again->payloads_pruned, 1u);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(RetentionTest, WhenEveryRecordIsOldTheHeadStaysUntilANewerOne) {
  for (int i = 0; i < 3; ++i) Send(Oru(absl::StrCat("M", i)));
  const uint64_t newest = store_->ReadAudit(0, 1000)->back().seq();
  clock_.Advance(10 * kDay);  // Nothing since: every record is old.
  RetentionOptions o;
  o.audit_max_age = absl::Hours(24);
  ASSERT_TRUE(Prune(store_.get(), &clock_, o, "retention").ok());
  // The first step keeps the old head (the chain needs one) and appends its
  // pruning record; the next step removes the old head too.
  VerifyReport v = Verify();
  ASSERT_TRUE(v.ok) << FormatReport(v);
  EXPECT_EQ(v.first_seq, newest + 1);
  EXPECT_EQ(v.anchored_from, newest + 1);
  EXPECT_EQ(v.records, 2u);  // The two pruning records.
}

TEST_F(RetentionTest, TamperingAfterPruningIsDetected) {
  for (int i = 0; i < 3; ++i) Send(Oru(absl::StrCat("M", i)));
  clock_.Advance(10 * kDay);
  Send(Oru("RECENT"));
  RetentionOptions o;
  o.audit_max_age = absl::Hours(24);
  ASSERT_TRUE(Prune(store_.get(), &clock_, o, "retention").ok());
  VerifyReport v = Verify();
  ASSERT_TRUE(v.ok) << FormatReport(v);
  const uint64_t first = v.first_seq;
  store::Env& env = store_->env();
  auto meta = env.GetDbi("meta");
  // Where the first kept record is stored: the RECENT message's intake
  // records live in its MessageMeta.
  auto trail = OpenTrail(env);
  ASSERT_TRUE(trail.ok());
  store::Dbi holder;
  std::string holder_key;
  {
    auto txn = env.BeginRead();
    auto reader = TrailReader::Open(*txn, *trail, first);
    ASSERT_TRUE(reader.ok());
    auto e = reader->Next();
    ASSERT_TRUE(e.ok());
    ASSERT_EQ(e->seq, first);
    EXPECT_NE(e->message_key, 0u);
    holder = e->message_key != 0 ? trail->messages : trail->audit;
    holder_key = store::EncodeU64BE(e->message_key != 0 ? e->message_key : first);
  }

  // Removing the first kept record (as if more had been pruned, unsigned).
  std::string saved;
  ASSERT_TRUE(store::RunInWriteTxn(env, [&](store::WriteTxn& txn) -> absl::Status {
    saved = std::string(*txn.Get(holder, holder_key));
    return txn.Delete(holder, holder_key);
  }).ok());
  v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, first);
  ASSERT_TRUE(store::RunInWriteTxn(env, [&](store::WriteTxn& txn) {
    return txn.Put(holder, holder_key, saved);
  }).ok());
  EXPECT_TRUE(Verify().ok);

  // Moving the anchor forward to hide that removal does not authenticate.
  std::string anchor_bytes;
  ASSERT_TRUE(store::RunInWriteTxn(env, [&](store::WriteTxn& txn) -> absl::Status {
    anchor_bytes = std::string(*txn.Get(*meta, kAnchorKey));
    pb::AuditAnchor a;
    a.ParseFromString(anchor_bytes);
    a.set_first_seq(a.first_seq() + 1);
    std::string out;
    a.SerializeToString(&out);
    auto s = txn.Put(*meta, kAnchorKey, out);
    if (!s.ok()) return s;
    return txn.Delete(holder, holder_key);
  }).ok());
  v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("anchor is not authentic"), std::string::npos) << v.problem;

  // Without any anchor, a missing prefix is reported at record 1.
  ASSERT_TRUE(store::RunInWriteTxn(env, [&](store::WriteTxn& txn) {
    return txn.Delete(*meta, kAnchorKey);
  }).ok());
  v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.bad_seq, 1u);
  EXPECT_NE(v.problem.find("no retention anchor"), std::string::npos) << v.problem;
}

TEST_F(RetentionTest, AMessagesIntakeRecordsArePrunedTogether) {
  // Records: 1 key created, 2 started, then two per message (kept in its
  // MessageMeta). Steps of three would split a message's pair: they take two.
  for (int i = 0; i < 3; ++i) Send(Oru(absl::StrCat("M", i)));
  clock_.Advance(10 * kDay);
  Send(Oru("RECENT"));
  ASSERT_EQ(store_->GetMessage(1)->intake_audit().seq(), 3u);
  RetentionOptions o;
  o.audit_max_age = absl::Hours(24);
  o.max_per_step = 3;
  auto r = Prune(store_.get(), &clock_, o, "retention");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->audit_records_pruned, 8u);  // 1..8: up to message 3.
  VerifyReport v = Verify();
  ASSERT_TRUE(v.ok) << FormatReport(v);
  EXPECT_EQ(v.anchored_from, 9u);
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    auto m = store_->GetMessage(seq);
    ASSERT_TRUE(m.ok());
    EXPECT_FALSE(m->has_intake_audit()) << seq;  // Removed with the records.
    EXPECT_EQ(m->control_id(), absl::StrCat("M", seq - 1));  // The rest stays.
  }
  EXPECT_EQ(store_->GetMessage(4)->intake_audit().seq(), 9u);
  const auto records = store_->ReadAudit(0, 1000);
  ASSERT_TRUE(records.ok());
  ASSERT_FALSE(records->empty());
  EXPECT_EQ(records->front().seq(), 9u);
  EXPECT_EQ(records->front().type(), pb::AUDIT_MESSAGE_RECEIVED);
  EXPECT_EQ(store_->Summarize()->audit_records, records->size());
}

TEST_F(RetentionTest, NothingConfiguredPrunesNothing) {
  Send(Oru("A"));
  clock_.Advance(1000 * kDay);
  auto r = Prune(store_.get(), &clock_, RetentionOptions(), "retention");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->steps, 0u);
  EXPECT_TRUE(store_->ReadPayload(1).ok());
}

}  // namespace
}  // namespace appliance::audit
