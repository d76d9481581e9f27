#include "appliance/store/lmdb_env.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "appliance/store/keys.h"
#include "appliance/store/lmdb_status.h"
#include "appliance/store/test_util.h"
#include "gtest/gtest.h"

namespace appliance::store {
namespace {

using absl::StatusCode;
using testing::NewTestPath;

#define ASSERT_OK(expr)                          \
  do {                                           \
    const absl::Status _s = (expr);              \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s; \
  } while (false)

#define EXPECT_OK(expr)                          \
  do {                                           \
    const absl::Status _s = (expr);              \
    EXPECT_TRUE(_s.ok()) << #expr << ": " << _s; \
  } while (false)

constexpr uint64_t kKiB = 1024;

EnvOptions TestOptions() {
  EnvOptions options;
  options.db_names = {"alpha", "beta"};
  options.initial_map_size = 1024 * kKiB;
  options.max_map_size = 4096 * kKiB;
  return options;
}

std::unique_ptr<Env> OpenOrDie(const std::string& path,
                               EnvOptions options = TestOptions()) {
  absl::StatusOr<std::unique_ptr<Env>> env = Env::Open(path, options);
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? std::move(*env) : nullptr;
}

Dbi DbiOrDie(const Env& env, std::string_view name) {
  absl::StatusOr<Dbi> dbi = env.GetDbi(name);
  EXPECT_TRUE(dbi.ok()) << dbi.status();
  return dbi.ok() ? *dbi : Dbi();
}

// Value bytes derived from the key, so readers can check what they see.
std::string ValueFor(uint64_t key, size_t size) {
  std::string v(size, static_cast<char>('a' + key % 26));
  v.replace(0, kU64KeySize, EncodeU64BE(key));
  return v;
}

absl::Status PutOne(Env& env, Dbi dbi, std::string_view key,
                    std::string_view value) {
  absl::StatusOr<WriteTxn> txn = env.BeginWrite();
  if (!txn.ok()) return txn.status();
  absl::Status status = txn->Put(dbi, key, value);
  if (!status.ok()) return status;
  return txn->Commit();
}

// Reads `key` in a fresh read transaction, copying the value out.
absl::StatusOr<std::string> ReadOne(Env& env, Dbi dbi, std::string_view key) {
  absl::StatusOr<ReadTxn> txn = env.BeginRead();
  if (!txn.ok()) return txn.status();
  absl::StatusOr<std::string_view> value = txn->Get(dbi, key);
  if (!value.ok()) return value.status();
  return std::string(*value);
}

uint64_t CountOf(Env& env, Dbi dbi) {
  absl::StatusOr<ReadTxn> txn = env.BeginRead();
  EXPECT_TRUE(txn.ok()) << txn.status();
  if (!txn.ok()) return 0;
  absl::StatusOr<uint64_t> n = txn->Count(dbi);
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() ? *n : 0;
}

uint64_t MapSize(const Env& env) {
  absl::StatusOr<MapUsage> usage = env.Usage();
  EXPECT_TRUE(usage.ok()) << usage.status();
  return usage.ok() ? usage->map_size : 0;
}

// ---------------------------------------------------------------------------
// Opening

TEST(EnvTest, OpenCreatesDirectoryAndSubDatabases) {
  const std::string path = NewTestPath();
  std::unique_ptr<Env> env = OpenOrDie(path);
  ASSERT_NE(env, nullptr);
  EXPECT_TRUE(std::filesystem::is_directory(path));
  EXPECT_TRUE(std::filesystem::exists(path + "/data.mdb"));
  EXPECT_EQ(env->path(), path);
  ASSERT_EQ(env->dbis().size(), 2u);
  EXPECT_EQ(env->dbis()[0].name(), "alpha");
  EXPECT_EQ(env->dbis()[1].name(), "beta");
  EXPECT_EQ(env->GetDbi("gamma").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(env->stale_readers_cleared_at_open(), 0);
  struct stat st;
  ASSERT_EQ(stat((path + "/data.mdb").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(EnvTest, RejectsInconsistentOptions) {
  const std::string path = NewTestPath();
  EnvOptions o = TestOptions();
  o.max_map_size = o.initial_map_size - 1;
  EXPECT_EQ(Env::Open(path, o).status().code(), StatusCode::kInvalidArgument);
  o = TestOptions();
  o.db_names = {"a", "a"};
  EXPECT_EQ(Env::Open(path, o).status().code(), StatusCode::kInvalidArgument);
  o = TestOptions();
  o.db_names = {};
  EXPECT_EQ(Env::Open(path, o).status().code(), StatusCode::kInvalidArgument);
  o = TestOptions();
  o.db_names = {"a", ""};
  EXPECT_EQ(Env::Open(path, o).status().code(), StatusCode::kInvalidArgument);
  o = TestOptions();
  o.max_dbs = 1;
  EXPECT_EQ(Env::Open(path, o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Env::Open("", TestOptions()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(EnvTest, ReadOnlyOpenOfMissingDirectoryIsClearError) {
  const std::string path = NewTestPath();
  EnvOptions o = TestOptions();
  o.read_only = true;
  absl::StatusOr<std::unique_ptr<Env>> env = Env::Open(path, o);
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), StatusCode::kNotFound);
  const std::string message(env.status().message());
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(path));  // Not created.
}

TEST(EnvTest, MissingParentDirectoryIsNotFound) {
  const std::string path = NewTestPath() + "/no/such/dir";
  absl::StatusOr<std::unique_ptr<Env>> env = Env::Open(path, TestOptions());
  EXPECT_EQ(env.status().code(), StatusCode::kNotFound) << env.status();
}

TEST(EnvTest, CreateIfMissingFalseRequiresDirectory) {
  const std::string path = NewTestPath();
  EnvOptions o = TestOptions();
  o.create_if_missing = false;
  EXPECT_EQ(Env::Open(path, o).status().code(), StatusCode::kNotFound);
}

TEST(EnvTest, PathThatIsAFileIsFailedPrecondition) {
  const std::string path = NewTestPath();
  std::ofstream(path) << "not a directory";
  absl::StatusOr<std::unique_ptr<Env>> env = Env::Open(path, TestOptions());
  EXPECT_EQ(env.status().code(), StatusCode::kFailedPrecondition)
      << env.status();
}

TEST(EnvTest, UnwritableDirectoryIsPermissionDenied) {
  if (geteuid() == 0) {
    GTEST_SKIP() << "root ignores file permissions";
  }
  const std::string path = NewTestPath();
  OpenOrDie(path).reset();
  ASSERT_EQ(chmod((path + "/data.mdb").c_str(), 0400), 0);
  ASSERT_EQ(chmod((path + "/lock.mdb").c_str(), 0400), 0);
  ASSERT_EQ(chmod(path.c_str(), 0500), 0);
  absl::StatusOr<std::unique_ptr<Env>> env = Env::Open(path, TestOptions());
  EXPECT_EQ(env.status().code(), StatusCode::kPermissionDenied) << env.status();
  EXPECT_NE(std::string(env.status().message()).find("permissions"),
            std::string::npos)
      << env.status();
  chmod(path.c_str(), 0700);
  chmod((path + "/data.mdb").c_str(), 0600);
  chmod((path + "/lock.mdb").c_str(), 0600);
}

TEST(EnvTest, ReadOnlyEnvReadsButRefusesWrites) {
  const std::string path = NewTestPath();
  {
    std::unique_ptr<Env> env = OpenOrDie(path);
    ASSERT_OK(PutOne(*env, DbiOrDie(*env, "alpha"), "k", "v"));
  }
  EnvOptions o = TestOptions();
  o.read_only = true;
  std::unique_ptr<Env> env = OpenOrDie(path, o);
  ASSERT_NE(env, nullptr);
  absl::StatusOr<std::string> value =
      ReadOne(*env, DbiOrDie(*env, "alpha"), "k");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "v");
  absl::StatusOr<WriteTxn> txn = env->BeginWrite();
  EXPECT_EQ(txn.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(txn.status().message()).find("read-only"),
            std::string::npos);
  EXPECT_EQ(env->GrowMap().code(), StatusCode::kFailedPrecondition);

  // A read-only open does not create sub-databases.
  o.db_names = {"alpha", "never_created"};
  absl::StatusOr<std::unique_ptr<Env>> missing = Env::Open(path, o);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(std::string(missing.status().message()).find("never_created"),
            std::string::npos);
}

TEST(EnvTest, GarbageDataFileIsDataLoss) {
  const std::string path = NewTestPath();
  std::filesystem::create_directory(path);
  std::ofstream(path + "/data.mdb") << std::string(8192, '\xAB');
  absl::StatusOr<std::unique_ptr<Env>> env = Env::Open(path, TestOptions());
  EXPECT_EQ(env.status().code(), StatusCode::kDataLoss) << env.status();
}

// ---------------------------------------------------------------------------
// Transactions

TEST(EnvTest, AbortDiscardsWrites) {
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath());
  const Dbi alpha = DbiOrDie(*env, "alpha");
  {
    absl::StatusOr<WriteTxn> txn = env->BeginWrite();
    ASSERT_TRUE(txn.ok()) << txn.status();
    ASSERT_OK(txn->Put(alpha, "dropped", "by destructor"));
    // Visible inside the transaction...
    absl::StatusOr<std::string_view> inside = txn->Get(alpha, "dropped");
    ASSERT_TRUE(inside.ok());
    EXPECT_EQ(*inside, "by destructor");
  }  // ...and gone when it is destroyed uncommitted.
  {
    absl::StatusOr<WriteTxn> txn = env->BeginWrite();
    ASSERT_TRUE(txn.ok()) << txn.status();
    ASSERT_OK(txn->Put(alpha, "aborted", "explicitly"));
    txn->Abort();
    EXPECT_FALSE(txn->active());
    EXPECT_EQ(txn->Commit().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(txn->Put(alpha, "x", "y").code(),
              StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(ReadOne(*env, alpha, "dropped").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(ReadOne(*env, alpha, "aborted").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(CountOf(*env, alpha), 0u);
}

TEST(EnvTest, CommittedDataSurvivesReopen) {
  const std::string path = NewTestPath();
  {
    std::unique_ptr<Env> env = OpenOrDie(path);
    absl::StatusOr<WriteTxn> txn = env->BeginWrite();
    ASSERT_TRUE(txn.ok()) << txn.status();
    ASSERT_OK(txn->Put(DbiOrDie(*env, "alpha"), "a-key", "a-value"));
    ASSERT_OK(txn->Put(DbiOrDie(*env, "beta"), "b-key", std::string("\0x", 2)));
    ASSERT_OK(txn->Commit());
    EXPECT_FALSE(txn->active());
  }
  std::unique_ptr<Env> env = OpenOrDie(path);
  ASSERT_NE(env, nullptr);
  absl::StatusOr<std::string> a =
      ReadOne(*env, DbiOrDie(*env, "alpha"), "a-key");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, "a-value");
  absl::StatusOr<std::string> b =
      ReadOne(*env, DbiOrDie(*env, "beta"), "b-key");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*b, std::string("\0x", 2));
  // Sub-databases are separate key spaces.
  EXPECT_EQ(ReadOne(*env, DbiOrDie(*env, "beta"), "a-key").status().code(),
            StatusCode::kNotFound);
}

TEST(EnvTest, MissingKeyIsNotFound) {
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath());
  const Dbi alpha = DbiOrDie(*env, "alpha");
  absl::StatusOr<ReadTxn> txn = env->BeginRead();
  ASSERT_TRUE(txn.ok()) << txn.status();
  absl::StatusOr<std::string_view> value = txn->Get(alpha, "missing");
  EXPECT_EQ(value.status().code(), StatusCode::kNotFound);
  const std::string message(value.status().message());
  EXPECT_NE(message.find("mdb_get(alpha)"), std::string::npos) << message;
  EXPECT_NE(message.find("MDB_NOTFOUND"), std::string::npos) << message;

  absl::StatusOr<std::optional<std::string_view>> found =
      txn->Find(alpha, "missing");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_FALSE(found->has_value());
}

TEST(EnvTest, DeleteAndPutModes) {
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath());
  const Dbi alpha = DbiOrDie(*env, "alpha");
  absl::StatusOr<WriteTxn> txn = env->BeginWrite();
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_EQ(txn->Delete(alpha, "absent").code(), StatusCode::kNotFound);
  ASSERT_OK(txn->Put(alpha, EncodeU64BE(1), "s1", PutMode::kAppend));
  ASSERT_OK(txn->Put(alpha, EncodeU64BE(2), "s2", PutMode::kAppend));
  // Not above the last key.
  EXPECT_EQ(txn->Put(alpha, EncodeU64BE(1), "again", PutMode::kAppend).code(),
            StatusCode::kAlreadyExists);
  ASSERT_OK(txn->Put(alpha, "k", "one"));
  EXPECT_EQ(txn->Put(alpha, "k", "two", PutMode::kNoOverwrite).code(),
            StatusCode::kAlreadyExists);
  ASSERT_OK(txn->Put(alpha, "k", "three"));  // Upsert replaces.
  // "k" sorts after the 0x00-prefixed sequence keys.
  EXPECT_EQ(txn->Put(alpha, EncodeU64BE(3), "s3", PutMode::kAppend).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(txn->Put(alpha, "", "empty key").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(txn->Put(alpha, std::string(512, 'k'), "too long").code(),
            StatusCode::kInvalidArgument);
  ASSERT_OK(txn->Put(alpha, "gone", "soon"));
  ASSERT_OK(txn->Delete(alpha, "gone"));
  // None of those errors spoil the transaction.
  ASSERT_OK(txn->Commit());

  absl::StatusOr<std::string> k = ReadOne(*env, alpha, "k");
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(*k, "three");
  EXPECT_EQ(ReadOne(*env, alpha, "gone").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(CountOf(*env, alpha), 3u);
}

TEST(EnvTest, ReadTxnSeesItsSnapshot) {
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath());
  const Dbi alpha = DbiOrDie(*env, "alpha");
  ASSERT_OK(PutOne(*env, alpha, "k", "old"));
  absl::StatusOr<ReadTxn> reader = env->BeginRead();
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_OK(PutOne(*env, alpha, "k", "new"));
  absl::StatusOr<std::string_view> seen = reader->Get(alpha, "k");
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(*seen, "old");
  reader->Abort();
  EXPECT_EQ(reader->Get(alpha, "k").status().code(),
            StatusCode::kFailedPrecondition);
  absl::StatusOr<std::string> now = ReadOne(*env, alpha, "k");
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(*now, "new");
}

TEST(EnvTest, TxnsAreMovable) {
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath());
  const Dbi alpha = DbiOrDie(*env, "alpha");
  absl::StatusOr<WriteTxn> first = env->BeginWrite();
  ASSERT_TRUE(first.ok()) << first.status();
  WriteTxn moved = std::move(*first);
  EXPECT_FALSE(first->active());
  EXPECT_TRUE(moved.active());
  ASSERT_OK(moved.Put(alpha, "k", "v"));
  EXPECT_EQ(first->Put(alpha, "k2", "v").code(),
            StatusCode::kFailedPrecondition);
  ASSERT_OK(moved.Commit());

  absl::StatusOr<ReadTxn> r1 = env->BeginRead();
  absl::StatusOr<ReadTxn> r2 = env->BeginRead();  // Two at once (MDB_NOTLS).
  ASSERT_TRUE(r1.ok() && r2.ok());
  *r1 = std::move(*r2);  // Releases r1's snapshot.
  EXPECT_TRUE(r1->Get(alpha, "k").ok());
}

TEST(EnvTest, BadDbiIsInvalidArgument) {
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath());
  std::unique_ptr<Env> other = OpenOrDie(NewTestPath());
  absl::StatusOr<ReadTxn> txn = env->BeginRead();
  ASSERT_TRUE(txn.ok());
  EXPECT_EQ(txn->Get(Dbi(), "k").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(txn->Get(DbiOrDie(*other, "alpha"), "k").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(EnvTest, SecondWriteTxnOnSameThreadFailsInsteadOfDeadlocking) {
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath());
  absl::StatusOr<WriteTxn> txn = env->BeginWrite();
  ASSERT_TRUE(txn.ok());
  EXPECT_EQ(env->BeginWrite().status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(env->GrowMap().code(), StatusCode::kFailedPrecondition);
  txn->Abort();
  EXPECT_TRUE(env->BeginWrite().ok());
}

TEST(EnvTest, WriterInAnotherThreadWaitsForTheFirst) {
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath());
  const Dbi alpha = DbiOrDie(*env, "alpha");
  absl::StatusOr<WriteTxn> txn = env->BeginWrite();
  ASSERT_TRUE(txn.ok());
  std::atomic<bool> second_done{false};
  std::thread second([&] {
    EXPECT_OK(PutOne(*env, alpha, "k", "second"));
    second_done = true;
  });
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(second_done);
  ASSERT_OK(txn->Put(alpha, "k", "first"));
  ASSERT_OK(txn->Commit());
  second.join();
  absl::StatusOr<std::string> value = ReadOne(*env, alpha, "k");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, "second");
}

// ---------------------------------------------------------------------------
// Cursors

class CursorTest : public ::testing::Test {
 protected:
  // Keys inserted out of order; big-endian so byte order is numeric order.
  const std::vector<uint64_t> kKeys = {300, 1, 1ULL << 32, 255, 256, 70000};

  void SetUp() override {
    env_ = OpenOrDie(NewTestPath());
    ASSERT_NE(env_, nullptr);
    alpha_ = DbiOrDie(*env_, "alpha");
    absl::StatusOr<WriteTxn> txn = env_->BeginWrite();
    ASSERT_TRUE(txn.ok());
    for (uint64_t k : kKeys) {
      ASSERT_OK(txn->Put(alpha_, EncodeU64BE(k), ValueFor(k, 16)));
    }
    ASSERT_OK(txn->Commit());
  }

  static uint64_t KeyOf(const KeyValue& kv) {
    absl::StatusOr<uint64_t> k = DecodeU64BE(kv.key);
    EXPECT_TRUE(k.ok()) << k.status();
    return k.ok() ? *k : 0;
  }

  std::unique_ptr<Env> env_;
  Dbi alpha_;
};

TEST_F(CursorTest, ForwardScanIsNumericOrder) {
  absl::StatusOr<ReadTxn> txn = env_->BeginRead();
  ASSERT_TRUE(txn.ok());
  absl::StatusOr<Cursor> cursor = txn->OpenCursor(alpha_);
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  std::vector<uint64_t> seen;
  absl::StatusOr<KeyValue> kv = cursor->First();
  for (; kv.ok(); kv = cursor->Next()) {
    seen.push_back(KeyOf(*kv));
    EXPECT_EQ(kv->value, ValueFor(seen.back(), 16));
  }
  EXPECT_EQ(kv.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 255, 256, 300, 70000, 1ULL << 32}));
}

TEST_F(CursorTest, BackwardScan) {
  absl::StatusOr<ReadTxn> txn = env_->BeginRead();
  ASSERT_TRUE(txn.ok());
  absl::StatusOr<Cursor> cursor = txn->OpenCursor(alpha_);
  ASSERT_TRUE(cursor.ok());
  std::vector<uint64_t> seen;
  absl::StatusOr<KeyValue> kv = cursor->Last();
  for (; kv.ok(); kv = cursor->Prev()) seen.push_back(KeyOf(*kv));
  EXPECT_EQ(kv.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(seen, (std::vector<uint64_t>{1ULL << 32, 70000, 300, 256, 255, 1}));
}

TEST_F(CursorTest, SeekRangeScan) {
  absl::StatusOr<ReadTxn> txn = env_->BeginRead();
  ASSERT_TRUE(txn.ok());
  absl::StatusOr<Cursor> cursor = txn->OpenCursor(alpha_);
  ASSERT_TRUE(cursor.ok());
  // [256, 70000): exact hit at the start.
  std::vector<uint64_t> seen;
  for (absl::StatusOr<KeyValue> kv = cursor->Seek(EncodeU64BE(256));
       kv.ok() && KeyOf(*kv) < 70000; kv = cursor->Next()) {
    seen.push_back(KeyOf(*kv));
  }
  EXPECT_EQ(seen, (std::vector<uint64_t>{256, 300}));
  // Between keys: lands on the next one.
  absl::StatusOr<KeyValue> kv = cursor->Seek(EncodeU64BE(2));
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(KeyOf(*kv), 255u);
  absl::StatusOr<KeyValue> current = cursor->Current();
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(KeyOf(*current), 255u);
  // Past the end.
  EXPECT_EQ(cursor->Seek(EncodeU64BE((1ULL << 32) + 1)).status().code(),
            StatusCode::kNotFound);
}

TEST_F(CursorTest, EmptyDatabase) {
  absl::StatusOr<ReadTxn> txn = env_->BeginRead();
  ASSERT_TRUE(txn.ok());
  absl::StatusOr<Cursor> cursor = txn->OpenCursor(DbiOrDie(*env_, "beta"));
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(cursor->First().status().code(), StatusCode::kNotFound);
  EXPECT_EQ(cursor->Last().status().code(), StatusCode::kNotFound);
  EXPECT_EQ(cursor->Seek("a").status().code(), StatusCode::kNotFound);
}

TEST_F(CursorTest, DeleteCurrentWhileScanning) {
  {
    absl::StatusOr<WriteTxn> txn = env_->BeginWrite();
    ASSERT_TRUE(txn.ok());
    absl::StatusOr<Cursor> cursor = txn->OpenCursor(alpha_);
    ASSERT_TRUE(cursor.ok());
    // Delete every key below 300; keep scanning after each delete.
    std::vector<uint64_t> visited;
    absl::StatusOr<KeyValue> kv = cursor->First();
    for (; kv.ok(); kv = cursor->Next()) {
      visited.push_back(KeyOf(*kv));
      if (visited.back() < 300) ASSERT_OK(cursor->DeleteCurrent());
    }
    EXPECT_EQ(kv.status().code(), StatusCode::kNotFound);
    EXPECT_EQ(visited,
              (std::vector<uint64_t>{1, 255, 256, 300, 70000, 1ULL << 32}));
    ASSERT_OK(txn->Commit());
  }
  EXPECT_EQ(CountOf(*env_, alpha_), 3u);
  absl::StatusOr<ReadTxn> txn = env_->BeginRead();
  ASSERT_TRUE(txn.ok());
  absl::StatusOr<Cursor> cursor = txn->OpenCursor(alpha_);
  ASSERT_TRUE(cursor.ok());
  absl::StatusOr<KeyValue> first = cursor->First();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(KeyOf(*first), 300u);
  // Read transactions cannot delete.
  EXPECT_FALSE(cursor->DeleteCurrent().ok());
}

TEST_F(CursorTest, CursorOutlivingItsTxnFailsCleanly) {
  absl::StatusOr<WriteTxn> txn = env_->BeginWrite();
  ASSERT_TRUE(txn.ok());
  absl::StatusOr<Cursor> cursor = txn->OpenCursor(alpha_);
  ASSERT_TRUE(cursor.ok());
  ASSERT_TRUE(cursor->First().ok());
  ASSERT_OK(txn->Commit());  // LMDB frees write-txn cursors here.
  EXPECT_EQ(cursor->Next().status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(cursor->DeleteCurrent().code(), StatusCode::kFailedPrecondition);

  absl::StatusOr<ReadTxn> reader = env_->BeginRead();
  ASSERT_TRUE(reader.ok());
  absl::StatusOr<Cursor> read_cursor = reader->OpenCursor(alpha_);
  ASSERT_TRUE(read_cursor.ok());
  Cursor moved = std::move(*read_cursor);
  ASSERT_TRUE(moved.First().ok());
  reader->Abort();
  EXPECT_EQ(moved.Next().status().code(), StatusCode::kFailedPrecondition);
  // Destructors run after the transactions ended: ASan checks they are safe.
}

TEST_F(CursorTest, CursorClosedBeforeTxnEnds) {
  absl::StatusOr<ReadTxn> txn = env_->BeginRead();
  ASSERT_TRUE(txn.ok());
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Cursor> cursor = txn->OpenCursor(alpha_);
    ASSERT_TRUE(cursor.ok());
    ASSERT_TRUE(cursor->Last().ok());
  }
  absl::StatusOr<Cursor> a = txn->OpenCursor(alpha_);
  absl::StatusOr<Cursor> b = txn->OpenCursor(alpha_);
  ASSERT_TRUE(a.ok() && b.ok());
  *a = std::move(*b);  // Closes a's cursor.
  EXPECT_TRUE(a->First().ok());
}

// ---------------------------------------------------------------------------
// Map growth

EnvOptions SmallMapOptions() {
  EnvOptions o = TestOptions();
  o.initial_map_size = 128 * kKiB;
  o.max_map_size = 1024 * kKiB;
  return o;
}

constexpr size_t kBigValue = 4000;  // One overflow page each.

// Writes keys [first, first + n) in one transaction.
absl::Status WriteBatch(WriteTxn& txn, Dbi dbi, uint64_t first, int n) {
  for (int i = 0; i < n; ++i) {
    absl::Status status =
        txn.Put(dbi, EncodeU64BE(first + i), ValueFor(first + i, kBigValue));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

TEST(MapGrowthTest, MapFullIsResourceExhaustedAndGrowMapLetsRetrySucceed) {
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath(), SmallMapOptions());
  const Dbi alpha = DbiOrDie(*env, "alpha");
  EXPECT_EQ(MapSize(*env), 128 * kKiB);
  {
    absl::StatusOr<WriteTxn> txn = env->BeginWrite();
    ASSERT_TRUE(txn.ok());
    const absl::Status status = WriteBatch(*txn, alpha, 0, 64);
    EXPECT_EQ(status.code(), StatusCode::kResourceExhausted) << status;
    EXPECT_TRUE(IsMapFull(status)) << status;
    // LMDB refuses the failed transaction; the first error is not lost.
    EXPECT_TRUE(IsMapFull(txn->Put(alpha, "more", "data")));
    const absl::Status commit = txn->Commit();
    EXPECT_EQ(commit.code(), StatusCode::kResourceExhausted) << commit;
    EXPECT_TRUE(IsMapFull(commit)) << commit;
  }
  EXPECT_EQ(CountOf(*env, alpha), 0u);

  // The writer's loop: grow, retry the whole transaction.
  int grows = 0;
  for (;;) {
    absl::StatusOr<WriteTxn> txn = env->BeginWrite();
    ASSERT_TRUE(txn.ok());
    absl::Status status = WriteBatch(*txn, alpha, 0, 64);
    if (status.ok()) status = txn->Commit();
    if (status.ok()) break;
    ASSERT_TRUE(IsMapFull(status)) << status;
    txn->Abort();
    ASSERT_OK(env->GrowMap());
    ++grows;
    ASSERT_LT(grows, 10);
  }
  EXPECT_GE(grows, 1);
  EXPECT_EQ(MapSize(*env), (128 * kKiB) << grows);
  EXPECT_EQ(CountOf(*env, alpha), 64u);
  absl::StatusOr<std::string> v = ReadOne(*env, alpha, EncodeU64BE(63));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, ValueFor(63, kBigValue));
}

TEST(MapGrowthTest, RunInWriteTxnGrowsUntilTheCap) {
  const std::string path = NewTestPath();
  std::unique_ptr<Env> env = OpenOrDie(path, SmallMapOptions());
  const Dbi alpha = DbiOrDie(*env, "alpha");
  uint64_t next = 0;
  absl::Status status;
  int batches = 0;
  for (; batches < 100; ++batches) {
    status = RunInWriteTxn(
        *env, [&](WriteTxn& txn) { return WriteBatch(txn, alpha, next, 32); });
    if (!status.ok()) break;
    next += 32;
    absl::StatusOr<MapUsage> usage = env->Usage();
    ASSERT_TRUE(usage.ok());
    EXPECT_LE(usage->used_bytes, usage->map_size);
    EXPECT_GE(usage->used_bytes, next * kBigValue);
  }
  // The cap is reached and reported; the store stays usable and consistent.
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted) << status;
  EXPECT_FALSE(IsMapFull(status));  // GrowMap's verdict: nothing more to do.
  EXPECT_NE(std::string(status.message()).find("max_map_size"),
            std::string::npos)
      << status;
  EXPECT_GT(batches, 2);
  EXPECT_EQ(MapSize(*env), 1024 * kKiB);
  EXPECT_EQ(env->GrowMap().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(CountOf(*env, alpha), next);
  EXPECT_EQ(ReadOne(*env, alpha, EncodeU64BE(next)).status().code(),
            StatusCode::kNotFound);
  // Small writes still fit.
  EXPECT_OK(PutOne(*env, DbiOrDie(*env, "beta"), "small", "ok"));

  // The grown size is recorded in the file and kept on reopen, even with a
  // smaller initial size.
  env.reset();
  env = OpenOrDie(path, SmallMapOptions());
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(MapSize(*env), 1024 * kKiB);
  EXPECT_EQ(CountOf(*env, DbiOrDie(*env, "alpha")), next);
}

TEST(MapGrowthTest, RunInWriteTxnReturnsOtherErrorsAsIs) {
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath());
  const Dbi alpha = DbiOrDie(*env, "alpha");
  int runs = 0;
  const absl::Status status = RunInWriteTxn(*env, [&](WriteTxn& txn) {
    ++runs;
    EXPECT_OK(txn.Put(alpha, "k", "v"));
    return absl::InvalidArgumentError("bad message");
  });
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(CountOf(*env, alpha), 0u);  // Aborted.
}

TEST(MapGrowthTest, GrowMapWaitsForReadersInOtherThreads) {
  EnvOptions o = SmallMapOptions();
  o.grow_wait_timeout = absl::Seconds(30);
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath(), o);
  absl::Notification reading;
  std::atomic<bool> released{false};
  std::thread reader([&] {
    absl::StatusOr<ReadTxn> txn = env->BeginRead();
    ASSERT_TRUE(txn.ok());
    reading.Notify();
    absl::SleepFor(absl::Milliseconds(100));
    released = true;
  });
  reading.WaitForNotification();
  const absl::Status status = env->GrowMap();
  EXPECT_TRUE(released);
  reader.join();
  ASSERT_OK(status);
  EXPECT_EQ(MapSize(*env), 256 * kKiB);
}

TEST(MapGrowthTest, GrowMapGivesUpWhenTransactionsStayOpen) {
  EnvOptions o = SmallMapOptions();
  o.grow_wait_timeout = absl::Milliseconds(50);
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath(), o);
  {
    absl::StatusOr<ReadTxn> txn = env->BeginRead();
    ASSERT_TRUE(txn.ok());
    const absl::Status status = env->GrowMap();
    EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status;
    // New transactions are not held back after the failed attempt.
    EXPECT_TRUE(env->BeginRead().ok());
  }
  EXPECT_EQ(MapSize(*env), 128 * kKiB);
  ASSERT_OK(env->GrowMap());
}

// Readers keep reading while the writer grows the map under them: LMDB needs
// every transaction closed during mdb_env_set_mapsize(), and ASan/TSan see a
// remap under a live reader.
TEST(MapGrowthTest, ConcurrentReadersDuringGrowth) {
  EnvOptions o = SmallMapOptions();
  o.max_map_size = 16 * 1024 * kKiB;
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath(), o);
  const Dbi alpha = DbiOrDie(*env, "alpha");
  std::atomic<uint64_t> committed{0};
  std::atomic<bool> stop{false};
  std::atomic<int> bad_reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!stop) {
        const uint64_t n = committed.load();
        absl::StatusOr<ReadTxn> txn = env->BeginRead();
        if (!txn.ok()) {
          ++bad_reads;
          continue;
        }
        for (uint64_t k = n > 8 ? n - 8 : 0; k < n; ++k) {
          absl::StatusOr<std::string_view> v = txn->Get(alpha, EncodeU64BE(k));
          if (!v.ok() || *v != ValueFor(k, kBigValue)) ++bad_reads;
        }
      }
    });
  }
  const uint64_t kTotal = 600;
  for (uint64_t k = 0; k < kTotal; k += 4) {
    ASSERT_OK(RunInWriteTxn(
        *env, [&](WriteTxn& txn) { return WriteBatch(txn, alpha, k, 4); }));
    committed = k + 4;
  }
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad_reads, 0);
  EXPECT_EQ(CountOf(*env, alpha), kTotal);
  EXPECT_GT(MapSize(*env), 2048 * kKiB);
}

// ---------------------------------------------------------------------------
// Backup

TEST(CopyCompactTest, ProducesAUsableCompactCopy) {
  const std::string path = NewTestPath();
  const std::string backup = NewTestPath();
  std::unique_ptr<Env> env = OpenOrDie(path);
  const Dbi alpha = DbiOrDie(*env, "alpha");
  ASSERT_OK(RunInWriteTxn(
      *env, [&](WriteTxn& txn) { return WriteBatch(txn, alpha, 0, 200); }));
  ASSERT_OK(RunInWriteTxn(*env, [&](WriteTxn& txn) -> absl::Status {
    for (uint64_t k = 10; k < 200; ++k) {
      absl::Status s = txn.Delete(alpha, EncodeU64BE(k));
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }));
  ASSERT_OK(PutOne(*env, DbiOrDie(*env, "beta"), "b", "beta-value"));

  // A reader open during the backup does not disturb it.
  absl::StatusOr<ReadTxn> reader = env->BeginRead();
  ASSERT_TRUE(reader.ok());
  ASSERT_OK(env->CopyCompact(backup));
  reader->Abort();

  const auto original_size = std::filesystem::file_size(path + "/data.mdb");
  const auto copy_size = std::filesystem::file_size(backup + "/data.mdb");
  EXPECT_LT(copy_size, original_size / 4);
  struct stat st;
  ASSERT_EQ(stat((backup + "/data.mdb").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Copying over an existing backup is refused and leaves it intact.
  EXPECT_EQ(env->CopyCompact(backup).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(std::filesystem::file_size(backup + "/data.mdb"), copy_size);

  std::unique_ptr<Env> copy = OpenOrDie(backup);
  ASSERT_NE(copy, nullptr);
  const Dbi copy_alpha = DbiOrDie(*copy, "alpha");
  EXPECT_EQ(CountOf(*copy, copy_alpha), 10u);
  for (uint64_t k = 0; k < 10; ++k) {
    absl::StatusOr<std::string> v = ReadOne(*copy, copy_alpha, EncodeU64BE(k));
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(*v, ValueFor(k, kBigValue));
  }
  absl::StatusOr<std::string> b = ReadOne(*copy, DbiOrDie(*copy, "beta"), "b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, "beta-value");
  // The copy is writable, and the original carries on independently.
  EXPECT_OK(PutOne(*copy, copy_alpha, "only-in-copy", "x"));
  EXPECT_EQ(ReadOne(*env, alpha, "only-in-copy").status().code(),
            StatusCode::kNotFound);
  EXPECT_OK(PutOne(*env, alpha, "after-backup", "y"));
}

}  // namespace
}  // namespace appliance::store
