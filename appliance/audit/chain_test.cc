// Tamper evidence of the audit trail, on a real store written by the
// MessageStore: flipping a byte, deleting, swapping, inserting and
// truncating are each detected at the right sequence number, for records
// in the `audit` sub-database and for the intake's records kept in their
// MessageMeta (IntakeAudit in records.proto).
#include "appliance/audit/chain.h"

#include <sys/stat.h>

#include <cstdlib>
#include <future>

#include "appliance/crypto/keys.h"
#include "appliance/intake/message_store.h"
#include "appliance/store/keys.h"
#include "appliance/store/schema.h"
#include "gtest/gtest.h"

namespace appliance::audit {
namespace {

using intake::IntakeRequest;
using intake::MessageStore;
using intake::MessageStoreOptions;

// Records of the fixture's trail:
//   1 data key created, 2 started                     (`audit`)
//   3-4 message 1, 5-6 message 2, 7-8 message 3       (their MessageMeta)
//   9 repeat of message 2                             (`audit`)
//   10-11 message 4, 12-13 message 5                  (their MessageMeta)
//   14 stopped                                        (`audit`)
class ChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    dir_ = std::string(getenv("TEST_TMPDIR")) + "/chain" + std::to_string(++n);
    mkdir(dir_.c_str(), 0700);
    options_.data_dir = dir_ + "/data";
    options_.key_file = dir_ + "/hl7d.key";
    auto store = MessageStore::Open(options_, &clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    for (int i : {0, 1, 2, 1, 3, 4}) {
      IntakeRequest r;
      r.raw = "raw";
      r.peer = "127.0.0.1:1";
      r.dedupe_key = intake::DedupeKey("A", "B", std::to_string(i));
      r.meta.set_control_id("C" + std::to_string(i));
      r.meta.set_message_type("ORU^R01");
      r.meta.set_ack_code(i == 2 ? pb::ACK_CODE_REJECT : pb::ACK_CODE_ACCEPT);
      std::promise<bool> done;
      (*store)->Submit(std::move(r),
                       [&](auto res) { done.set_value(res.ok()); });
      ASSERT_TRUE(done.get_future().get());
      clock_.Advance(1000);
    }
    store->reset();  // One Env per process and directory: close it first.
    auto key = crypto::KeyFile::Load(options_.key_file);
    ASSERT_TRUE(key.ok());
    hmac_key_ = std::string(key->audit_hmac_key());
    store::EnvOptions eo;
    eo.db_names = {"meta", "audit", "messages"};
    auto env = store::Env::Open(options_.data_dir, eo);
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(*env);
    auto trail = OpenTrail(*env_);
    ASSERT_TRUE(trail.ok()) << trail.status();
    trail_ = *trail;
  }

  VerifyReport Check() {
    absl::StatusOr<VerifyReport> r = Verify(*env_, hmac_key_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : VerifyReport();
  }

  std::string Get(store::Dbi dbi, uint64_t key) {
    auto txn = env_->BeginRead();
    auto v = txn->Get(dbi, store::EncodeU64BE(key));
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? std::string(*v) : std::string();
  }
  void Put(store::Dbi dbi, uint64_t key, const std::string& value) {
    ASSERT_TRUE(store::RunInWriteTxn(*env_, [&](store::WriteTxn& txn) {
                  return txn.Put(dbi, store::EncodeU64BE(key), value);
                }).ok());
  }
  void Delete(store::Dbi dbi, uint64_t key) {
    ASSERT_TRUE(store::RunInWriteTxn(*env_, [&](store::WriteTxn& txn) {
                  return txn.Delete(dbi, store::EncodeU64BE(key));
                }).ok());
  }

  // Records stored in `audit`.
  std::string Get(uint64_t seq) { return Get(trail_.audit, seq); }
  void Put(uint64_t seq, const std::string& value) {
    Put(trail_.audit, seq, value);
  }
  void Delete(uint64_t seq) { Delete(trail_.audit, seq); }

  // Message records.
  pb::MessageMeta Message(uint64_t seq) {
    pb::MessageMeta m;
    EXPECT_TRUE(m.ParseFromString(Get(trail_.messages, seq)));
    return m;
  }
  void PutMessage(uint64_t seq, const pb::MessageMeta& m) {
    Put(trail_.messages, seq, m.SerializeAsString());
  }

  // Every record, prev_hash filled in, as readers see them.
  std::vector<pb::AuditRecord> All(uint64_t from_seq = 0) {
    std::vector<pb::AuditRecord> out;
    auto txn = env_->BeginRead();
    absl::Status s = ForEachRecord(*txn, trail_, from_seq, [&](pb::AuditRecord r) {
      out.push_back(std::move(r));
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  FakeClock clock_;
  std::string dir_;
  MessageStoreOptions options_;
  std::string hmac_key_;
  std::unique_ptr<store::Env> env_;
  Trail trail_;
};

TEST_F(ChainTest, IntactTrailVerifies) {
  VerifyReport r = Check();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.records, 14u);
  EXPECT_EQ(r.first_seq, 1u);
  EXPECT_EQ(r.last_seq, 14u);
  EXPECT_TRUE(r.checkpoint_checked);
  EXPECT_EQ(FormatReport(r).substr(0, 20), "OK: 14 audit records");
}

TEST_F(ChainTest, IntakeRecordsLiveInTheirMessageAndReadInOrder) {
  auto txn = env_->BeginRead();
  EXPECT_EQ(*txn->Count(trail_.audit), 4u);  // 1, 2, 9, 14.
  EXPECT_EQ(Message(2).intake_audit().seq(), 5u);
  EXPECT_EQ(Message(4).intake_audit().seq(), 10u);

  const std::vector<pb::AuditRecord> all = All();
  ASSERT_EQ(all.size(), 14u);
  const pb::AuditEventType types[] = {
      pb::AUDIT_KEY_CREATED,       pb::AUDIT_APPLIANCE_STARTED,
      pb::AUDIT_MESSAGE_RECEIVED,  pb::AUDIT_MESSAGE_ACKNOWLEDGED,
      pb::AUDIT_MESSAGE_RECEIVED,  pb::AUDIT_MESSAGE_ACKNOWLEDGED,
      pb::AUDIT_MESSAGE_RECEIVED,  pb::AUDIT_MESSAGE_REJECTED,
      pb::AUDIT_MESSAGE_DUPLICATE, pb::AUDIT_MESSAGE_RECEIVED,
      pb::AUDIT_MESSAGE_ACKNOWLEDGED, pb::AUDIT_MESSAGE_RECEIVED,
      pb::AUDIT_MESSAGE_ACKNOWLEDGED, pb::AUDIT_APPLIANCE_STOPPED};
  std::string prev;
  for (size_t i = 0; i < all.size(); ++i) {
    const pb::AuditRecord& r = all[i];
    EXPECT_EQ(r.seq(), i + 1);
    EXPECT_EQ(r.type(), types[i]) << r.seq();
    EXPECT_EQ(r.prev_hash(), prev) << r.seq();
    EXPECT_EQ(RecordHash(r), r.hash()) << r.seq();
    prev = r.hash();
  }
  EXPECT_EQ(all[4].control_id(), "C1");
  EXPECT_EQ(all[4].actor(), "127.0.0.1:1");
  EXPECT_EQ(all[4].message_seq(), 2u);
  EXPECT_EQ(all[4].detail(), "ORU^R01, 3 bytes");
  EXPECT_EQ(all[7].detail(), "answered AR");
  EXPECT_EQ(all[7].outcome(), pb::AUDIT_OUTCOME_SERIOUS_FAILURE);
  EXPECT_EQ(all[8].message_seq(), 2u);  // The repeat names the first one.

  // Read from the middle, in either place, the link comes along.
  for (uint64_t from : {5u, 6u, 9u, 10u, 14u}) {
    const std::vector<pb::AuditRecord> tail = All(from);
    ASSERT_EQ(tail.size(), 15 - from) << from;
    EXPECT_EQ(tail.front().seq(), from);
    EXPECT_EQ(tail.front().prev_hash(), all[from - 2].hash()) << from;
  }
  auto found = FindRecord(*txn, trail_, 11);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->hash(), all[10].hash());
  auto bounds = Bounds(*txn, trail_);
  ASSERT_TRUE(bounds.ok() && bounds->has_value());
  EXPECT_EQ((*bounds)->first_seq, 1u);
  EXPECT_EQ((*bounds)->last_seq, 14u);
  EXPECT_EQ((*bounds)->last_hash, all[13].hash());
}

TEST(IntakeRecordsTest, ReusedRecordsKeepNothingOfTheLastMessage) {
  pb::MessageMeta a;
  a.set_seq(7);
  a.set_peer("10.0.0.1:5000");
  a.set_tls_subject("CN=analyzer-1");
  a.set_control_id("A1");
  a.set_message_type("ORU^R01");
  a.set_ack_code(pb::ACK_CODE_ERROR);
  pb::Finding* f = a.add_findings();
  f->set_code(102);
  f->set_location("OBX-5");
  a.mutable_intake_audit()->set_seq(40);
  a.mutable_intake_audit()->set_received_hash(std::string(32, 'r'));
  a.mutable_intake_audit()->set_answered_hash(std::string(32, 'a'));
  pb::MessageMeta b;
  b.set_seq(8);
  b.set_peer("10.0.0.2:5000");
  b.set_ack_code(pb::ACK_CODE_ACCEPT);
  b.mutable_intake_audit()->set_answered_at_us(99);

  std::array<pb::AuditRecord, 2> records;
  IntakeRecords(a, &records);
  EXPECT_EQ(records[0].actor(), "10.0.0.1:5000 CN=analyzer-1");
  EXPECT_EQ(records[1].detail(), "answered AE, first finding 102 at OBX-5");
  EXPECT_EQ(records[1].outcome(), pb::AUDIT_OUTCOME_MINOR_FAILURE);
  EXPECT_EQ(records[1].seq(), 41u);
  EXPECT_EQ(records[1].hash(), std::string(32, 'a'));
  IntakeRecords(b, &records);
  const std::array<pb::AuditRecord, 2> fresh = IntakeRecords(b);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(records[i].SerializeAsString(), fresh[i].SerializeAsString()) << i;
  }
  EXPECT_EQ(records[0].actor(), "10.0.0.2:5000");
  EXPECT_EQ(records[0].detail(), "unknown, 0 bytes");
  EXPECT_EQ(records[1].detail(), "answered AA");
  EXPECT_EQ(records[1].time_us(), 99);
  EXPECT_EQ(records[1].seq(), 0u);  // Not linked yet.
  EXPECT_TRUE(records[1].hash().empty());
}

TEST_F(ChainTest, FlippedByteIsDetectedAtItsRecord) {
  std::string v = Get(9);
  v[v.size() / 2] ^= 0x01;
  Put(9, v);
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 9u) << r.problem;
}

TEST_F(ChainTest, ChangedMessageFieldIsDetectedAtItsRecord) {
  pb::MessageMeta m = Message(2);
  m.set_control_id("C9");  // In both records of message 2: 5 is first.
  PutMessage(2, m);
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 5u) << r.problem;
  EXPECT_NE(r.problem.find("message record 2"), std::string::npos) << r.problem;
  m.set_control_id("C1");
  PutMessage(2, m);
  EXPECT_TRUE(Check().ok);

  m = Message(3);
  m.set_ack_code(pb::ACK_CODE_ACCEPT);  // Only in the answer, record 8.
  PutMessage(3, m);
  r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 8u) << r.problem;
}

TEST_F(ChainTest, UnreadableMessageRecordIsReported) {
  Put(trail_.messages, 4, "\xff\xff\xff not a message");
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 10u) << r.problem;
  EXPECT_NE(r.problem.find("message record 4 does not parse"),
            std::string::npos) << r.problem;
}

TEST_F(ChainTest, RecordsAreStoredWithoutPrevHashButChained) {
  for (uint64_t seq : {1, 2, 9, 14}) {
    pb::AuditRecord rec;
    ASSERT_TRUE(rec.ParseFromString(Get(seq)));
    EXPECT_TRUE(rec.prev_hash().empty()) << seq;
  }
  // The hash covers the previous record's hash all the same.
  const std::vector<pb::AuditRecord> all = All();
  ASSERT_EQ(all.size(), 14u);
  pb::AuditRecord rec = all[8];
  rec.set_prev_hash(std::string(32, 'x'));
  EXPECT_NE(RecordHash(rec), rec.hash());
}

TEST_F(ChainTest, MixedTrailWithStoredLinksVerifies) {
  // Records written before schema version 4 carry prev_hash; a store
  // upgraded in the middle of its trail has both kinds.
  const std::vector<pb::AuditRecord> all = All();
  for (uint64_t seq : {1, 2}) Put(seq, all[seq - 1].SerializeAsString());
  VerifyReport r = Check();
  EXPECT_TRUE(r.ok) << r.problem;
  // A stored link that does not match is found at its record.
  pb::AuditRecord rec = all[8];
  rec.set_prev_hash(std::string(32, 'x'));
  rec.set_hash(RecordHash(rec));
  Put(9, rec.SerializeAsString());
  r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 9u) << r.problem;
}

TEST_F(ChainTest, IntakeRecordsInTheAuditDatabaseStillVerify) {
  // A store written before schema version 5 kept the intake's records in
  // `audit`; one upgraded in the middle has both.
  const std::vector<pb::AuditRecord> all = All();
  for (uint64_t message : {1, 2}) {
    pb::MessageMeta m = Message(message);
    const uint64_t first = m.intake_audit().seq();
    Put(first, StoredRecord(all[first - 1]));
    Put(first + 1, StoredRecord(all[first]));
    m.clear_intake_audit();
    PutMessage(message, m);
  }
  VerifyReport r = Check();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.records, 14u);
  const std::vector<pb::AuditRecord> again = All();
  ASSERT_EQ(again.size(), 14u);
  for (size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(again[i].SerializeAsString(), all[i].SerializeAsString()) << i;
  }
  auto txn = env_->BeginRead();
  auto bounds = Bounds(*txn, trail_);
  ASSERT_TRUE(bounds.ok() && bounds->has_value());
  EXPECT_EQ((*bounds)->count(), 14u);
  EXPECT_EQ(All(4).front().prev_hash(), all[2].hash());
}

TEST_F(ChainTest, AlteredAndRehashedRecordBreaksTheNextLink) {
  const std::vector<pb::AuditRecord> all = All();
  pb::AuditRecord rec = all[8];
  rec.set_detail("repeat of message 3");  // Rewrite history...
  rec.set_hash(RecordHash(rec));          // ...and fix its own hash.
  Put(9, StoredRecord(rec));
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 10u) << r.problem;
}

TEST_F(ChainTest, AlteredAndRehashedMessageBreaksItsAnswer) {
  const std::vector<pb::AuditRecord> all = All();
  pb::MessageMeta m = Message(2);
  m.set_peer("10.0.0.9:1");
  std::array<pb::AuditRecord, 2> records = IntakeRecords(m);
  records[0].set_prev_hash(all[3].hash());
  records[0].set_hash(std::string());
  m.mutable_intake_audit()->set_received_hash(RecordHash(records[0]));
  PutMessage(2, m);
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 6u) << r.problem;
}

TEST_F(ChainTest, DeletedRecordIsDetected) {
  Delete(9);
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 9u) << r.problem;
  EXPECT_NE(r.problem.find("missing"), std::string::npos);
}

TEST_F(ChainTest, DeletedMessageRecordIsDetected) {
  Delete(trail_.messages, 4);
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 10u) << r.problem;
  EXPECT_NE(r.problem.find("missing"), std::string::npos);
}

TEST_F(ChainTest, SwappedRecordsAreDetected) {
  const std::string a = Get(1);
  const std::string b = Get(2);
  Put(1, b);
  Put(2, a);
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 1u) << r.problem;
}

TEST_F(ChainTest, SwappedMessageRecordsAreDetected) {
  const std::string a = Get(trail_.messages, 2);
  const std::string b = Get(trail_.messages, 3);
  Put(trail_.messages, 2, b);
  Put(trail_.messages, 3, a);
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 5u) << r.problem;
}

TEST_F(ChainTest, TruncatedTailIsDetectedByTheCheckpoint) {
  Delete(14);
  Delete(trail_.messages, 5);
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 12u) << r.problem;
  EXPECT_NE(r.problem.find("truncated"), std::string::npos);
}

TEST_F(ChainTest, FullyRecomputedHistoryIsCaughtByTheHmac) {
  // An attacker with the database only: rewrites message 1's peer (records 3
  // and 4) and recomputes every later hash and link. The chain is consistent
  // again...
  std::vector<std::pair<uint64_t, uint64_t>> places;  // seq -> message key.
  {
    auto txn = env_->BeginRead();
    auto reader = TrailReader::Open(*txn, trail_, 0);
    ASSERT_TRUE(reader.ok());
    for (auto e = reader->Next(); e.ok(); e = reader->Next()) {
      places.emplace_back(e->seq, e->answer ? ~0ull : e->message_key);
    }
  }
  ASSERT_EQ(places.size(), 14u);
  std::string prev;
  for (const auto& [seq, message] : places) {
    if (message == ~0ull) continue;  // An answer: done with its message.
    if (message == 0) {
      pb::AuditRecord rec;
      ASSERT_TRUE(rec.ParseFromString(Get(seq)));
      rec.set_prev_hash(prev);
      rec.set_hash(RecordHash(rec));
      prev = rec.hash();
      Put(seq, StoredRecord(rec));
      continue;
    }
    pb::MessageMeta m = Message(message);
    if (message == 1) m.set_peer("10.6.6.6:1");
    m.clear_intake_audit();
    m.mutable_intake_audit()->set_answered_at_us(
        Message(message).intake_audit().answered_at_us());
    std::array<pb::AuditRecord, 2> records = IntakeRecords(m);
    Link(seq - 1, prev, &records[0]);
    Link(seq, records[0].hash(), &records[1]);
    m.mutable_intake_audit()->set_seq(seq);
    m.mutable_intake_audit()->set_received_hash(records[0].hash());
    m.mutable_intake_audit()->set_answered_hash(records[1].hash());
    prev = records[1].hash();
    PutMessage(message, m);
  }
  EXPECT_EQ(All()[2].actor(), "10.6.6.6:1");
  absl::StatusOr<VerifyReport> without_key = Verify(*env_, "");
  ASSERT_TRUE(without_key.ok());
  EXPECT_TRUE(without_key->ok) << without_key->problem;
  // ...but not the authenticated checkpoint.
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 14u) << r.problem;
  EXPECT_NE(r.problem.find("history rewritten"), std::string::npos);
}

TEST_F(ChainTest, NewerStoreIsRefusedNotMisread) {
  ASSERT_TRUE(store::RunInWriteTxn(*env_, [&](store::WriteTxn& txn) {
                return store::WriteSchemaVersion(txn, trail_.meta,
                                                 kTrailSchemaVersion + 1);
              }).ok());
  absl::StatusOr<VerifyReport> r = Verify(*env_, hmac_key_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("newer than this build reads"),
            std::string::npos) << r.status();
}

TEST_F(ChainTest, ForgedCheckpointIsRefused) {
  const pb::AuditCheckpoint fake =
      MakeCheckpoint(14, "not the hash", 1, "some other key");
  ASSERT_TRUE(store::RunInWriteTxn(*env_, [&](store::WriteTxn& txn) {
                return txn.Put(trail_.meta, kCheckpointKey,
                               fake.SerializeAsString());
              }).ok());
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("not authentic"), std::string::npos);
}

}  // namespace
}  // namespace appliance::audit
