#include "appliance/intake/message_store.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_format.h"
#include "appliance/base/status_macros.h"
#include "appliance/base/test_util.h"
#include "appliance/crypto/hash.h"
#include "appliance/store/keys.h"
#include "gtest/gtest.h"

namespace appliance::intake {
namespace {

MessageStoreOptions Options(const std::string& dir) {
  MessageStoreOptions o;
  o.data_dir = dir + "/data";
  o.key_file = dir + "/hl7d.key";
  return o;
}

IntakeRequest Request(const std::string& control_id, pb::AckCode code,
                      const std::string& raw) {
  IntakeRequest r;
  r.raw = raw;
  r.peer = "127.0.0.1:40000";
  r.dedupe_key = DedupeKey("LAB", "HOSP", control_id);
  r.meta.set_control_id(control_id);
  r.meta.set_message_type("ORU^R01");
  r.meta.set_ack_code(code);
  r.meta.set_received_at_us(1);
  const crypto::Sha256Digest d = crypto::Sha256(raw);
  r.meta.set_raw_sha256(std::string(crypto::AsBytes(d)));
  return r;
}

absl::StatusOr<IntakeResult> SubmitAndWait(MessageStore& store,
                                           IntakeRequest r) {
  std::promise<absl::StatusOr<IntakeResult>> p;
  store.Submit(std::move(r),
               [&](absl::StatusOr<IntakeResult> res) { p.set_value(res); });
  return p.get_future().get();
}

std::string FilesContent(const std::string& dir) {
  std::string all;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return all;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::ifstream in(dir + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    all += ss.str();
  }
  closedir(d);
  return all;
}

TEST(MessageStoreTest, StoresAcceptedMessageWithPipelineEntryAndAudit) {
  const std::string dir = test_util::NewTempDir("accept");
  FakeClock clock;
  auto store = MessageStore::Open(Options(dir), &clock);
  ASSERT_TRUE(store.ok()) << store.status();
  const std::string raw =
      "MSH|^~\\&|LAB|HOSP|||2026||ORU^R01|C1|P|2.5\rPID|1||X";
  absl::StatusOr<IntakeResult> r =
      SubmitAndWait(**store, Request("C1", pb::ACK_CODE_ACCEPT, raw));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->seq, 1u);
  EXPECT_FALSE(r->duplicate);
  EXPECT_EQ(r->ack_code, pb::ACK_CODE_ACCEPT);

  absl::StatusOr<pb::MessageMeta> meta = (*store)->GetMessage(1);
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->state(), pb::MESSAGE_STATE_PENDING);
  EXPECT_EQ(meta->control_id(), "C1");
  EXPECT_EQ(meta->raw_size(), raw.size());
  EXPECT_EQ(*(*store)->ReadPayload(1), raw);

  absl::StatusOr<StoreSummary> sum = (*store)->Summarize();
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->messages, 1u);
  EXPECT_EQ(sum->pipeline_entries, 1u);
  EXPECT_EQ(sum->by_state["PENDING"], 1u);
  EXPECT_EQ(sum->counters["received/ORU^R01"], 1u);
  EXPECT_EQ(sum->counters["ack/AA"], 1u);

  // Audit: key created, started, received, acknowledged; hash-chained.
  absl::StatusOr<std::vector<pb::AuditRecord>> audit =
      (*store)->ReadAudit(0, 100);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 4u);
  EXPECT_EQ((*audit)[0].type(), pb::AUDIT_KEY_CREATED);
  EXPECT_EQ((*audit)[1].type(), pb::AUDIT_APPLIANCE_STARTED);
  EXPECT_EQ((*audit)[2].type(), pb::AUDIT_MESSAGE_RECEIVED);
  EXPECT_EQ((*audit)[3].type(), pb::AUDIT_MESSAGE_ACKNOWLEDGED);
  EXPECT_EQ((*audit)[3].message_sha256(), meta->raw_sha256());
  std::string prev;
  for (const pb::AuditRecord& rec : *audit) {
    EXPECT_EQ(rec.prev_hash(), prev);
    pb::AuditRecord copy = rec;
    copy.clear_hash();
    std::string bytes;
    copy.SerializeToString(&bytes);
    EXPECT_EQ(rec.hash(), std::string(crypto::AsBytes(crypto::Sha256(bytes))));
    prev = rec.hash();
  }
}

uint64_t CheckpointSeq(MessageStore& store) {
  auto txn = store.env().BeginRead();
  EXPECT_TRUE(txn.ok());
  auto meta = store.Db("meta");
  auto v = txn->Find(*meta, "audit_checkpoint");
  if (!v.ok() || !v->has_value()) return 0;
  pb::AuditCheckpoint c;
  c.ParseFromArray((*v)->data(), static_cast<int>((*v)->size()));
  return c.seq();
}

TEST(MessageStoreTest, CheckpointIsPeriodicOnTheAckPathAndCaughtUpWhenIdle) {
  const std::string dir = test_util::NewTempDir("checkpoint");
  FakeClock clock;  // Does not move: the ACK path never finds 1 s passed.
  auto store = MessageStore::Open(Options(dir), &clock);
  ASSERT_TRUE(store.ok());
  const uint64_t at_start = CheckpointSeq(**store);  // Forced by the start record.
  EXPECT_GT(at_start, 0u);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(SubmitAndWait(**store, Request(absl::StrFormat("CP-%d", i),
                                               pb::ACK_CODE_ACCEPT, "MSH|x"))
                    .ok());
  }
  // Committed, but the checkpoint was not rewritten with every commit.
  EXPECT_EQ(CheckpointSeq(**store), at_start);
  // Idle for the interval: the writer brings it up to date by itself.
  const uint64_t last = (*store)->ReadAudit(0, 1000)->back().seq();
  for (int i = 0; i < 50 && CheckpointSeq(**store) != last; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(CheckpointSeq(**store), last);
  // Stop writes its record and always checkpoints it.
  (*store)->Stop();
  EXPECT_EQ(CheckpointSeq(**store), last + 1);
}

TEST(MessageStoreTest, DuplicateGetsFirstCodeAndNoSecondPipelineEntry) {
  const std::string dir = test_util::NewTempDir("dup");
  FakeClock clock;
  auto store = MessageStore::Open(Options(dir), &clock);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(
      SubmitAndWait(**store, Request("D1", pb::ACK_CODE_ACCEPT, "m1")).ok());
  // The repeat: even if this copy would be answered differently, the first
  // answer stands.
  absl::StatusOr<IntakeResult> again =
      SubmitAndWait(**store, Request("D1", pb::ACK_CODE_ERROR, "m1"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->seq, 1u);
  EXPECT_EQ(again->ack_code, pb::ACK_CODE_ACCEPT);
  absl::StatusOr<StoreSummary> sum = (*store)->Summarize();
  EXPECT_EQ(sum->messages, 1u);
  EXPECT_EQ(sum->pipeline_entries, 1u);
  EXPECT_EQ(sum->counters["duplicates"], 1u);
  EXPECT_EQ((*store)->GetMessage(1)->duplicates(), 1u);
  // Another sender with the same control id is not a duplicate.
  IntakeRequest other = Request("D1", pb::ACK_CODE_ACCEPT, "m2");
  other.dedupe_key = DedupeKey("OTHERLAB", "HOSP", "D1");
  absl::StatusOr<IntakeResult> r3 = SubmitAndWait(**store, std::move(other));
  EXPECT_FALSE(r3->duplicate);
  EXPECT_EQ(r3->seq, 2u);
}

// Opens the data directory of a stopped store directly (all sub-databases).
std::unique_ptr<store::Env> OpenRawEnv(const std::string& dir) {
  store::EnvOptions o;
  o.db_names = {"meta",     "keys",     "messages", "payloads",
                "dedupe",   "pipeline", "audit",    "counters",
                "bundles",  "terminology", "patients"};
  o.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<store::Env>> env =
      store::Env::Open(dir + "/data", o);
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? std::move(*env) : nullptr;
}

// The `dedupe` entry of `control_id` (sender LAB/HOSP) and the meta key
// "dedupe_indexed_seq", as stored.
std::pair<std::optional<uint64_t>, std::optional<uint64_t>> StoredDedupe(
    store::Env& env, const std::string& control_id) {
  std::pair<std::optional<uint64_t>, std::optional<uint64_t>> out;
  auto txn = env.BeginRead();
  EXPECT_TRUE(txn.ok());
  auto found = txn->Find(*env.GetDbi("dedupe"),
                         DedupeKey("LAB", "HOSP", control_id));
  if (found.ok() && found->has_value()) out.first = *store::DecodeU64BE(**found);
  auto indexed = txn->Find(*env.GetDbi("meta"), "dedupe_indexed_seq");
  if (indexed.ok() && indexed->has_value()) {
    out.second = *store::DecodeU64BE(**indexed);
  }
  return out;
}

TEST(MessageStoreTest, DedupeIndexIsWrittenBehindTheIntake) {
  const std::string dir = test_util::NewTempDir("dedupe_index");
  FakeClock clock;
  {
    auto store = MessageStore::Open(Options(dir), &clock);
    ASSERT_TRUE(store.ok());
    for (int i = 1; i <= 3; ++i) {
      ASSERT_TRUE(SubmitAndWait(**store, Request("I" + std::to_string(i),
                                                 pb::ACK_CODE_ACCEPT, "raw"))
                      .ok());
    }
    // The key is kept with the message, for a rebuild after a crash.
    EXPECT_EQ((*store)->GetMessage(2)->dedupe_key(),
              DedupeKey("LAB", "HOSP", "I2"));
    // The index job runs once the intake has been quiet for a moment.
    std::optional<uint64_t> indexed;
    for (int i = 0; i < 200 && indexed.value_or(0) < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      indexed = StoredDedupe((*store)->env(), "I3").second;
    }
    EXPECT_EQ(indexed, std::optional<uint64_t>(3));
  }
  std::unique_ptr<store::Env> env = OpenRawEnv(dir);
  ASSERT_NE(env, nullptr);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(StoredDedupe(*env, "I" + std::to_string(i)).first,
              std::optional<uint64_t>(i));
  }
}

TEST(MessageStoreTest, RepeatsWithinOneBatchAreDuplicates) {
  const std::string dir = test_util::NewTempDir("dup_batch");
  FakeClock clock;
  auto store = MessageStore::Open(Options(dir), &clock);
  ASSERT_TRUE(store.ok());
  // Submitted without waiting: most land in the same group commit.
  constexpr int kCopies = 20;
  std::vector<std::promise<absl::StatusOr<IntakeResult>>> done(kCopies);
  for (int i = 0; i < kCopies; ++i) {
    (*store)->Submit(Request("B1", pb::ACK_CODE_ACCEPT, "same"),
                     [&done, i](absl::StatusOr<IntakeResult> r) {
                       done[i].set_value(std::move(r));
                     });
  }
  int duplicates = 0;
  for (int i = 0; i < kCopies; ++i) {
    absl::StatusOr<IntakeResult> r = done[i].get_future().get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->seq, 1u);
    duplicates += r->duplicate;
  }
  EXPECT_EQ(duplicates, kCopies - 1);
  EXPECT_EQ((*store)->Summarize()->messages, 1u);
  EXPECT_EQ((*store)->GetMessage(1)->duplicates(), kCopies - 1u);
}

TEST(MessageStoreTest, RepeatOfAMessageNotYetIndexedIsFoundAfterACrash) {
  const std::string dir = test_util::NewTempDir("dup_crash");
  FakeClock clock;
  {
    auto store = MessageStore::Open(Options(dir), &clock);
    ASSERT_TRUE(store.ok());
    for (const char* id : {"K1", "K2", "K3"}) {
      ASSERT_TRUE(
          SubmitAndWait(**store, Request(id, pb::ACK_CODE_ACCEPT, "raw")).ok());
    }
  }
  {
    // The state of a crash after the intake commit of K2 and K3 and before
    // the job that indexes them: not in `dedupe`, indexed up to seq 1.
    std::unique_ptr<store::Env> env = OpenRawEnv(dir);
    ASSERT_NE(env, nullptr);
    ASSERT_TRUE(store::RunInWriteTxn(*env, [&](store::WriteTxn& txn) {
                  for (const char* id : {"K2", "K3"}) {
                    RETURN_IF_ERROR(txn.Delete(*env->GetDbi("dedupe"),
                                               DedupeKey("LAB", "HOSP", id)));
                  }
                  return txn.Put(*env->GetDbi("meta"), "dedupe_indexed_seq",
                                 store::EncodeU64BE(1));
                }).ok());
    EXPECT_EQ(StoredDedupe(*env, "K2").first, std::nullopt);
  }
  {
    auto store = MessageStore::Open(Options(dir), &clock);
    ASSERT_TRUE(store.ok()) << store.status();
    for (uint64_t seq : {3u, 1u, 2u}) {
      absl::StatusOr<IntakeResult> r = SubmitAndWait(
          **store, Request("K" + std::to_string(seq), pb::ACK_CODE_ACCEPT,
                           "raw"));
      ASSERT_TRUE(r.ok());
      EXPECT_TRUE(r->duplicate) << seq;
      EXPECT_EQ(r->seq, seq);
    }
    EXPECT_EQ((*store)->Summarize()->messages, 3u);
  }
  // The reopened store indexed them again.
  std::unique_ptr<store::Env> env = OpenRawEnv(dir);
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(StoredDedupe(*env, "K2").first, std::optional<uint64_t>(2));
  EXPECT_EQ(StoredDedupe(*env, "K3").first, std::optional<uint64_t>(3));
  EXPECT_EQ(StoredDedupe(*env, "K3").second, std::optional<uint64_t>(3));
}

TEST(MessageStoreTest, SchemaThreeStoreKeepsItsDedupeIndex) {
  const std::string dir = test_util::NewTempDir("dedupe_v3");
  FakeClock clock;
  {
    auto store = MessageStore::Open(Options(dir), &clock);
    ASSERT_TRUE(store.ok());
    for (const char* id : {"V1", "V2"}) {
      ASSERT_TRUE(
          SubmitAndWait(**store, Request(id, pb::ACK_CODE_ACCEPT, "raw")).ok());
    }
  }
  {
    // A store of schema version 3 indexed every message in its intake
    // commit and had no "dedupe_indexed_seq".
    std::unique_ptr<store::Env> env = OpenRawEnv(dir);
    ASSERT_NE(env, nullptr);
    ASSERT_TRUE(store::RunInWriteTxn(*env, [&](store::WriteTxn& txn) {
                  RETURN_IF_ERROR(txn.Delete(*env->GetDbi("meta"),
                                             "dedupe_indexed_seq"));
                  return txn.Put(*env->GetDbi("meta"), "schema_version",
                                 store::EncodeU32BE(3));
                }).ok());
  }
  {
    std::unique_ptr<store::Env> env = OpenRawEnv(dir);
    EXPECT_EQ(StoredDedupe(*env, "V2").second, std::nullopt);
  }
  auto store = MessageStore::Open(Options(dir), &clock);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(StoredDedupe((*store)->env(), "V2").second,
            std::optional<uint64_t>(2));
  absl::StatusOr<IntakeResult> r =
      SubmitAndWait(**store, Request("V2", pb::ACK_CODE_ACCEPT, "raw"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->duplicate);
  EXPECT_EQ(r->seq, 2u);
}

TEST(MessageStoreTest, RejectedAndErrorMessagesAreStoredButNotQueued) {
  const std::string dir = test_util::NewTempDir("rej");
  FakeClock clock;
  auto store = MessageStore::Open(Options(dir), &clock);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(
      SubmitAndWait(**store, Request("R1", pb::ACK_CODE_REJECT, "x")).ok());
  ASSERT_TRUE(
      SubmitAndWait(**store, Request("E1", pb::ACK_CODE_ERROR, "y")).ok());
  EXPECT_EQ((*store)->GetMessage(1)->state(), pb::MESSAGE_STATE_REJECTED);
  EXPECT_EQ((*store)->GetMessage(2)->state(), pb::MESSAGE_STATE_ERROR);
  EXPECT_EQ((*store)->Summarize()->pipeline_entries, 0u);
  EXPECT_EQ(*(*store)->ReadPayload(1), "x");
}

TEST(MessageStoreTest, SurvivesReopenAndContinuesSequencesAndChain) {
  const std::string dir = test_util::NewTempDir("reopen");
  FakeClock clock;
  {
    auto store = MessageStore::Open(Options(dir), &clock);
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(SubmitAndWait(**store, Request("P" + std::to_string(i),
                                                 pb::ACK_CODE_ACCEPT, "raw"))
                      .ok());
    }
  }
  auto store = MessageStore::Open(Options(dir), &clock);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<IntakeResult> r =
      SubmitAndWait(**store, Request("P9", pb::ACK_CODE_ACCEPT, "raw"));
  EXPECT_EQ(r->seq, 4u);
  // The repeat of a message stored before the restart is still recognised.
  EXPECT_TRUE(SubmitAndWait(**store, Request("P1", pb::ACK_CODE_ACCEPT, "raw"))
                  ->duplicate);
  absl::StatusOr<std::vector<pb::AuditRecord>> audit =
      (*store)->ReadAudit(0, 1000);
  ASSERT_TRUE(audit.ok());
  for (size_t i = 1; i < audit->size(); ++i) {
    ASSERT_EQ((*audit)[i].prev_hash(), (*audit)[i - 1].hash()) << i;
    ASSERT_EQ((*audit)[i].seq(), (*audit)[i - 1].seq() + 1);
  }
  bool stopped = false;
  for (const auto& rec : *audit)
    stopped |= rec.type() == pb::AUDIT_APPLIANCE_STOPPED;
  EXPECT_TRUE(stopped);
}

TEST(MessageStoreTest, PayloadIsNotInClearOnDisk) {
  const std::string dir = test_util::NewTempDir("clear");
  FakeClock clock;
  const std::string marker = "SYNTHETICPATIENTNAMEQXZ";
  {
    auto store = MessageStore::Open(Options(dir), &clock);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(SubmitAndWait(**store, Request("S1", pb::ACK_CODE_ACCEPT,
                                               "PID|1||1||" + marker))
                    .ok());
  }
  const std::string files = FilesContent(dir + "/data");
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files.find(marker), std::string::npos);
  EXPECT_NE(files.find("S1"), std::string::npos);  // Ids are in the clear.
}

TEST(MessageStoreTest, WrongKeyFileIsRefused) {
  const std::string dir = test_util::NewTempDir("wrongkey");
  FakeClock clock;
  ASSERT_TRUE(MessageStore::Open(Options(dir), &clock).ok());
  MessageStoreOptions o = Options(dir);
  o.key_file = dir + "/other.key";
  absl::StatusOr<std::unique_ptr<MessageStore>> s =
      MessageStore::Open(o, &clock);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.status().message()).find("wrong key file"),
            std::string::npos)
      << s.status();
  o.create_key_file = false;
  o.key_file = dir + "/missing.key";
  EXPECT_FALSE(MessageStore::Open(o, &clock).ok());
}

TEST(MessageStoreTest, FullStoreNeverAcknowledges) {
  const std::string dir = test_util::NewTempDir("full");
  FakeClock clock;
  MessageStoreOptions o = Options(dir);
  o.initial_map_bytes = 256 << 10;
  o.max_map_bytes = 512 << 10;
  auto store = MessageStore::Open(o, &clock);
  ASSERT_TRUE(store.ok()) << store.status();
  const std::string big(20000, 'x');
  int ok = 0;
  absl::Status last;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<IntakeResult> r = SubmitAndWait(
        **store, Request("F" + std::to_string(i), pb::ACK_CODE_ACCEPT, big));
    if (r.ok()) {
      ++ok;
    } else {
      last = r.status();
      break;
    }
  }
  EXPECT_GT(ok, 0);
  EXPECT_LT(ok, 100);
  EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted) << last;
  EXPECT_FALSE((*store)->healthy());
  // What was acknowledged is all there.
  EXPECT_EQ((*store)->Summarize()->messages, static_cast<uint64_t>(ok));
}

TEST(MessageStoreTest, ConcurrentSubmittersGetDistinctSequences) {
  const std::string dir = test_util::NewTempDir("conc");
  FakeClock clock;
  auto store = MessageStore::Open(Options(dir), &clock);
  ASSERT_TRUE(store.ok());
  std::mutex mu;
  std::set<uint64_t> seqs;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto r = SubmitAndWait(
            **store, Request(std::to_string(t) + "-" + std::to_string(i),
                             pb::ACK_CODE_ACCEPT, "m"));
        ASSERT_TRUE(r.ok());
        std::lock_guard<std::mutex> l(mu);
        seqs.insert(r->seq);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(seqs.size(), 200u);
  EXPECT_EQ(*seqs.begin(), 1u);
  EXPECT_EQ(*seqs.rbegin(), 200u);
  EXPECT_LE((*store)->commits(), 200u + 0);
}

TEST(MessageStoreTest, ReadOnlyOpenSeesARunningStore) {
  const std::string dir = test_util::NewTempDir("ro");
  FakeClock clock;
  auto store = MessageStore::Open(Options(dir), &clock);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(
      SubmitAndWait(**store, Request("RO1", pb::ACK_CODE_ACCEPT, "m")).ok());
  MessageStoreOptions o = Options(dir);
  o.read_only = true;
  auto reader = MessageStore::Open(o, &clock);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->Summarize()->messages, 1u);
  EXPECT_EQ((*reader)->ListMessages(0, 10)->at(0).control_id(), "RO1");
  EXPECT_EQ((*reader)->ReadPayload(1).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(MessageStoreTest, SubmitAfterStopIsRefused) {
  const std::string dir = test_util::NewTempDir("stop");
  FakeClock clock;
  auto store = MessageStore::Open(Options(dir), &clock);
  ASSERT_TRUE(store.ok());
  (*store)->Stop();
  absl::StatusOr<IntakeResult> r =
      SubmitAndWait(**store, Request("X", pb::ACK_CODE_ACCEPT, "m"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}


absl::Status HeartbeatAndWait(MessageStore& store) {
  std::promise<absl::Status> p;
  store.Heartbeat([&](absl::Status s) { p.set_value(s); });
  return p.get_future().get();
}

TEST(MessageStoreStatsTest, HourBuckets) {
  EXPECT_EQ(HourBucket(1767225600000000), "2026010100");  // 2026-01-01 00:00.
  EXPECT_EQ(HourlyKey(1767225600000000 + 3599999999, "ack/AA"),
            "h/2026010100/ack/AA");
  // The last hour is remembered: moving to another hour and back is exact.
  EXPECT_EQ(HourBucket(1767225600000000 + 3600000000), "2026010101");
  EXPECT_EQ(HourBucket(1767225600000000 - 1), "2025123123");
  EXPECT_EQ(HourBucket(1767225600000000), "2026010100");
  EXPECT_EQ(LatencyBucketName(0), "latency/le/500");
  EXPECT_EQ(LatencyBucketName(501), "latency/le/1000");
  EXPECT_EQ(LatencyBucketName(99999999), "latency/le/inf");
}

TEST(MessageStoreStatsTest, WritesHourlyStatisticsAndSessions) {
  const std::string dir = test_util::NewTempDir("stats");
  FakeClock clock;  // 2026-01-01T00:00Z.
  const int64_t t0 = clock.NowMicros();
  MessageStoreOptions o = Options(dir);
  o.heartbeat_interval = std::chrono::milliseconds(0);
  {
    auto store = MessageStore::Open(o, &clock);
    ASSERT_TRUE(store.ok()) << store.status();
    auto req = [&](const std::string& id, pb::AckCode code) {
      IntakeRequest r = Request(id, code, "MSH|" + id);
      r.meta.set_received_at_us(clock.NowMicros());
      return r;
    };
    ASSERT_TRUE(SubmitAndWait(**store, req("A", pb::ACK_CODE_ACCEPT)).ok());
    ASSERT_TRUE(SubmitAndWait(**store, req("B", pb::ACK_CODE_REJECT)).ok());
    ASSERT_TRUE(SubmitAndWait(**store, req("A", pb::ACK_CODE_ACCEPT)).ok());
    clock.Advance(int64_t{3600} * 1000000);  // Next hour.
    ASSERT_TRUE(SubmitAndWait(**store, req("C", pb::ACK_CODE_ERROR)).ok());
    clock.Advance(60 * 1000000);
    ASSERT_TRUE(HeartbeatAndWait(**store).ok());  // Also flushes latencies.
    auto c = (*store)->ReadCounters("h/");
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ((*c)["h/2026010100/received/ORU^R01"], 2u);
    EXPECT_EQ((*c)["h/2026010100/outcome/AA"], 1u);
    EXPECT_EQ((*c)["h/2026010100/outcome/AR"], 1u);
    EXPECT_EQ((*c)["h/2026010100/ack/AA"], 2u);  // Duplicate answered again.
    EXPECT_EQ((*c)["h/2026010100/duplicates"], 1u);
    EXPECT_EQ((*c)["h/2026010101/outcome/AE"], 1u);
    EXPECT_EQ((*c)["h/2026010100/latency/count"], 3u);
    EXPECT_EQ((*c)["h/2026010101/latency/count"], 1u);
    auto last = (*store)->ReadCounters("last/");
    ASSERT_TRUE(last.ok());
    EXPECT_EQ((*last)["last/ORU^R01"],
              static_cast<uint64_t>(t0 + int64_t{3600} * 1000000));
    // Statistics keys stay out of the summary's counters.
    auto sum = (*store)->Summarize();
    ASSERT_TRUE(sum.ok());
    for (const auto& [name, n] : sum->counters) {
      EXPECT_NE(name.substr(0, 2), "h/") << name;
      EXPECT_NE(name.substr(0, 3), "up/") << name;
    }
    EXPECT_EQ(sum->counters["received/ORU^R01"], 3u);
    clock.Advance(60 * 1000000);
  }  // Clean stop.
  auto store = MessageStore::Open(o, &clock);
  ASSERT_TRUE(store.ok());
  auto up = (*store)->ReadCounters("up/");
  ASSERT_TRUE(up.ok());
  const std::string first = absl::StrFormat("up/%020d/", t0);
  EXPECT_EQ((*up)[first + "beat"],
            static_cast<uint64_t>(t0 + int64_t{3660} * 1000000));
  EXPECT_EQ((*up)[first + "stop"],
            static_cast<uint64_t>(t0 + int64_t{3720} * 1000000));
  EXPECT_EQ(up->size(), 3u);  // + the new session's start beat.
  EXPECT_EQ((*store)->session_start_us(), t0 + int64_t{3720} * 1000000);
  EXPECT_TRUE((*store)->WriterAlive(std::chrono::milliseconds(60000)));
}

TEST(MessageStoreStatsTest, PeriodicHeartbeat) {
  const std::string dir = test_util::NewTempDir("beat");
  FakeClock clock;
  MessageStoreOptions o = Options(dir);
  o.heartbeat_interval = std::chrono::milliseconds(20);
  auto store = MessageStore::Open(o, &clock);
  ASSERT_TRUE(store.ok());
  const std::string key =
      absl::StrFormat("up/%020d/beat", (*store)->session_start_us());
  clock.Advance(5000000);
  for (int i = 0; i < 200; ++i) {
    auto up = (*store)->ReadCounters("up/");
    ASSERT_TRUE(up.ok());
    if ((*up)[key] == static_cast<uint64_t>(clock.NowMicros())) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL() << "no heartbeat recorded";
}

}  // namespace
}  // namespace appliance::intake
