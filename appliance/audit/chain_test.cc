// Tamper evidence of the audit trail, on a real store written by the
// MessageStore: flipping a byte, deleting, swapping, inserting and
// truncating are each detected at the right sequence number.
#include "appliance/audit/chain.h"

#include <sys/stat.h>

#include <cstdlib>
#include <future>

#include "appliance/crypto/keys.h"
#include "appliance/intake/message_store.h"
#include "appliance/store/keys.h"
#include "gtest/gtest.h"

namespace appliance::audit {
namespace {

using intake::IntakeRequest;
using intake::MessageStore;
using intake::MessageStoreOptions;

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
    for (int i = 0; i < 5; ++i) {
      IntakeRequest r;
      r.raw = "raw";
      r.peer = "127.0.0.1:1";
      r.dedupe_key = intake::DedupeKey("A", "B", std::to_string(i));
      r.meta.set_control_id("C" + std::to_string(i));
      r.meta.set_ack_code(pb::ACK_CODE_ACCEPT);
      std::promise<bool> done;
      (*store)->Submit(std::move(r),
                       [&](auto res) { done.set_value(res.ok()); });
      ASSERT_TRUE(done.get_future().get());
    }
    store->reset();  // One Env per process and directory: close it first.
    // key created, started, 5 x (received, acknowledged), stopped = 13.
    auto key = crypto::KeyFile::Load(options_.key_file);
    ASSERT_TRUE(key.ok());
    hmac_key_ = std::string(key->audit_hmac_key());
    store::EnvOptions eo;
    eo.db_names = {"meta", "audit"};
    auto env = store::Env::Open(options_.data_dir, eo);
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(*env);
  }

  VerifyReport Check() {
    absl::StatusOr<VerifyReport> r = Verify(*env_, hmac_key_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : VerifyReport();
  }

  std::string Get(uint64_t seq) {
    auto txn = env_->BeginRead();
    auto dbi = env_->GetDbi("audit");
    return std::string(*txn->Get(*dbi, store::EncodeU64BE(seq)));
  }

  void Put(uint64_t seq, const std::string& value) {
    auto dbi = env_->GetDbi("audit");
    ASSERT_TRUE(store::RunInWriteTxn(*env_, [&](store::WriteTxn& txn) {
                  return txn.Put(*dbi, store::EncodeU64BE(seq), value);
                }).ok());
  }

  void Delete(uint64_t seq) {
    auto dbi = env_->GetDbi("audit");
    ASSERT_TRUE(store::RunInWriteTxn(*env_, [&](store::WriteTxn& txn) {
                  return txn.Delete(*dbi, store::EncodeU64BE(seq));
                }).ok());
  }

  FakeClock clock_;
  std::string dir_;
  MessageStoreOptions options_;
  std::string hmac_key_;
  std::unique_ptr<store::Env> env_;
};

TEST_F(ChainTest, IntactTrailVerifies) {
  VerifyReport r = Check();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.records, 13u);
  EXPECT_EQ(r.first_seq, 1u);
  EXPECT_EQ(r.last_seq, 13u);
  EXPECT_TRUE(r.checkpoint_checked);
  EXPECT_EQ(FormatReport(r).substr(0, 20), "OK: 13 audit records");
}

TEST_F(ChainTest, FlippedByteIsDetectedAtItsRecord) {
  std::string v = Get(6);
  v[v.size() / 2] ^= 0x01;
  Put(6, v);
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 6u) << r.problem;
}

TEST_F(ChainTest, RecordsAreStoredWithoutPrevHashButChained) {
  std::string prev;
  for (uint64_t seq = 1; seq <= 13; ++seq) {
    pb::AuditRecord rec;
    ASSERT_TRUE(rec.ParseFromString(Get(seq)));
    EXPECT_TRUE(rec.prev_hash().empty()) << seq;
    // The hash covers the previous record's hash all the same.
    rec.set_prev_hash(prev);
    EXPECT_EQ(RecordHash(rec), rec.hash()) << seq;
    prev = rec.hash();
  }
}

TEST_F(ChainTest, MixedTrailWithStoredLinksVerifies) {
  // Records written before schema version 4 carry prev_hash; a store
  // upgraded in the middle of its trail has both kinds.
  std::string prev;
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    pb::AuditRecord rec;
    ASSERT_TRUE(rec.ParseFromString(Get(seq)));
    rec.set_prev_hash(prev);
    prev = rec.hash();
    Put(seq, rec.SerializeAsString());
  }
  VerifyReport r = Check();
  EXPECT_TRUE(r.ok) << r.problem;
  // A stored link that does not match is found at its record.
  pb::AuditRecord rec;
  ASSERT_TRUE(rec.ParseFromString(Get(4)));
  rec.set_prev_hash(std::string(32, 'x'));
  rec.set_hash(RecordHash(rec));
  Put(4, rec.SerializeAsString());
  r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 4u) << r.problem;
}

TEST_F(ChainTest, AlteredAndRehashedRecordBreaksTheNextLink) {
  pb::AuditRecord before;
  ASSERT_TRUE(before.ParseFromString(Get(6)));
  pb::AuditRecord rec;
  ASSERT_TRUE(rec.ParseFromString(Get(7)));
  rec.set_detail("answered AR");  // Rewrite history...
  rec.set_prev_hash(before.hash());
  rec.set_hash(RecordHash(rec));  // ...and fix its own hash.
  Put(7, StoredRecord(rec));
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 8u) << r.problem;
}

TEST_F(ChainTest, DeletedRecordIsDetected) {
  Delete(9);
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 9u) << r.problem;
  EXPECT_NE(r.problem.find("missing"), std::string::npos);
}

TEST_F(ChainTest, SwappedRecordsAreDetected) {
  const std::string a = Get(4);
  const std::string b = Get(5);
  Put(4, b);
  Put(5, a);
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 4u) << r.problem;
}

TEST_F(ChainTest, TruncatedTailIsDetectedByTheCheckpoint) {
  Delete(13);
  Delete(12);
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 12u) << r.problem;
  EXPECT_NE(r.problem.find("truncated"), std::string::npos);
}

TEST_F(ChainTest, FullyRecomputedHistoryIsCaughtByTheHmac) {
  // An attacker with the database only: rewrites record 3 and recomputes
  // every later hash and link. The chain is consistent again...
  std::string prev;
  for (uint64_t seq = 1; seq <= 13; ++seq) {
    pb::AuditRecord rec;
    ASSERT_TRUE(rec.ParseFromString(Get(seq)));
    if (seq == 3) rec.set_actor("someone else");
    rec.set_prev_hash(prev);
    rec.set_hash(RecordHash(rec));
    prev = rec.hash();
    Put(seq, rec.SerializeAsString());
  }
  absl::StatusOr<VerifyReport> without_key = Verify(*env_, "");
  ASSERT_TRUE(without_key.ok());
  EXPECT_TRUE(without_key->ok);
  // ...but not the authenticated checkpoint.
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 13u) << r.problem;
  EXPECT_NE(r.problem.find("history rewritten"), std::string::npos);
}

TEST_F(ChainTest, ForgedCheckpointIsRefused) {
  auto meta = env_->GetDbi("meta");
  const pb::AuditCheckpoint fake =
      MakeCheckpoint(13, "not the hash", 1, "some other key");
  ASSERT_TRUE(store::RunInWriteTxn(*env_, [&](store::WriteTxn& txn) {
                return txn.Put(*meta, kCheckpointKey, fake.SerializeAsString());
              }).ok());
  VerifyReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("not authentic"), std::string::npos);
}

}  // namespace
}  // namespace appliance::audit
