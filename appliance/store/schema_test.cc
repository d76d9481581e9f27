#include "appliance/store/schema.h"

#include <memory>
#include <string>
#include <vector>

#include "appliance/store/keys.h"
#include "appliance/store/lmdb_env.h"
#include "appliance/store/lmdb_status.h"
#include "appliance/store/test_util.h"
#include "gtest/gtest.h"

namespace appliance::store {
namespace {

using absl::StatusCode;
using testing::NewTestPath;

EnvOptions Options() {
  EnvOptions options;
  options.db_names = {kMetaDbName, "records"};
  options.initial_map_size = 256 * 1024;
  options.max_map_size = 8 * 1024 * 1024;
  return options;
}

std::unique_ptr<Env> OpenOrDie(const std::string& path,
                               EnvOptions options = Options()) {
  absl::StatusOr<std::unique_ptr<Env>> env = Env::Open(path, options);
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? std::move(*env) : nullptr;
}

absl::StatusOr<uint32_t> StoredVersion(Env& env) {
  absl::StatusOr<ReadTxn> txn = env.BeginRead();
  if (!txn.ok()) return txn.status();
  absl::StatusOr<Dbi> meta = env.GetDbi(kMetaDbName);
  if (!meta.ok()) return meta.status();
  return ReadSchemaVersion(*txn, *meta);
}

absl::Status PutRecord(WriteTxn& txn, std::string_view key,
                       std::string_view value) {
  absl::StatusOr<Dbi> records = txn.env().GetDbi("records");
  if (!records.ok()) return records.status();
  return txn.Put(*records, key, value);
}

// Migrations that log their order and leave a trace in the data.
std::vector<Migration> Chain(std::vector<uint32_t>* log, int n) {
  std::vector<Migration> chain;
  for (int i = 0; i < n; ++i) {
    const uint32_t from = static_cast<uint32_t>(i + 1);
    chain.push_back(
        {from, "step " + std::to_string(from), [log, from](WriteTxn& txn) {
           log->push_back(from);
           return PutRecord(txn, "migrated-" + std::to_string(from), "yes");
         }});
  }
  return chain;
}

TEST(SchemaTest, FreshStoreIsCreatedAtLatestWithoutMigrating) {
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath());
  std::vector<uint32_t> log;
  absl::StatusOr<SchemaState> state = OpenSchema(*env, Chain(&log, 3));
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(state->created);
  EXPECT_EQ(state->version, 4u);
  EXPECT_EQ(state->found_version, 0u);
  EXPECT_EQ(state->migrations_run, 0);
  EXPECT_TRUE(log.empty());
  absl::StatusOr<uint32_t> stored = StoredVersion(*env);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(*stored, 4u);

  // Stored as a big-endian uint32 under "schema_version".
  absl::StatusOr<ReadTxn> txn = env->BeginRead();
  ASSERT_TRUE(txn.ok());
  absl::StatusOr<std::string_view> raw =
      txn->Get(*env->GetDbi(kMetaDbName), kSchemaVersionKey);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*raw, EncodeU32BE(4));
}

TEST(SchemaTest, MigrationsRunInOrderExactlyOnceAndVersionPersists) {
  const std::string path = NewTestPath();
  {
    std::unique_ptr<Env> env = OpenOrDie(path);
    absl::StatusOr<SchemaState> v1 = OpenSchema(*env, {});  // Version 1.
    ASSERT_TRUE(v1.ok()) << v1.status();
    EXPECT_EQ(v1->version, 1u);
  }
  std::vector<uint32_t> log;
  {
    std::unique_ptr<Env> env = OpenOrDie(path);
    absl::StatusOr<SchemaState> state = OpenSchema(*env, Chain(&log, 3));
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_FALSE(state->created);
    EXPECT_EQ(state->found_version, 1u);
    EXPECT_EQ(state->version, 4u);
    EXPECT_EQ(state->migrations_run, 3);
  }
  EXPECT_EQ(log, (std::vector<uint32_t>{1, 2, 3}));
  {
    std::unique_ptr<Env> env = OpenOrDie(path);
    absl::StatusOr<SchemaState> state = OpenSchema(*env, Chain(&log, 3));
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_EQ(state->found_version, 4u);
    EXPECT_EQ(state->migrations_run, 0);
    EXPECT_EQ(log.size(), 3u);  // Nothing ran again.
    // One more migration in a later build: only it runs.
    state = OpenSchema(*env, Chain(&log, 4));
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_EQ(state->migrations_run, 1);
    EXPECT_EQ(log, (std::vector<uint32_t>{1, 2, 3, 4}));
    absl::StatusOr<ReadTxn> txn = env->BeginRead();
    ASSERT_TRUE(txn.ok());
    absl::StatusOr<uint64_t> records = txn->Count(*env->GetDbi("records"));
    ASSERT_TRUE(records.ok());
    EXPECT_EQ(*records, 4u);
  }
  std::unique_ptr<Env> env = OpenOrDie(path);
  absl::StatusOr<uint32_t> stored = StoredVersion(*env);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(*stored, 5u);
}

TEST(SchemaTest, FailedMigrationRollsBackAndKeepsEarlierSteps) {
  const std::string path = NewTestPath();
  std::unique_ptr<Env> env = OpenOrDie(path);
  ASSERT_TRUE(OpenSchema(*env, {}).ok());
  std::vector<uint32_t> log;
  std::vector<Migration> chain = Chain(&log, 3);
  chain[1].apply = [&log](WriteTxn& txn) -> absl::Status {
    log.push_back(2);
    absl::Status s = PutRecord(txn, "half-done", "must vanish");
    if (!s.ok()) return s;
    return absl::InternalError("disk on fire");
  };
  absl::StatusOr<SchemaState> state = OpenSchema(*env, chain);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), StatusCode::kInternal);
  const std::string message(state.status().message());
  EXPECT_NE(message.find("migration 2 -> 3 (step 2)"), std::string::npos)
      << message;
  EXPECT_NE(message.find("disk on fire"), std::string::npos) << message;
  EXPECT_EQ(log, (std::vector<uint32_t>{1, 2}));
  absl::StatusOr<uint32_t> stored = StoredVersion(*env);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, 2u);  // Step 1 committed, step 2 did not.
  {
    absl::StatusOr<ReadTxn> txn = env->BeginRead();
    ASSERT_TRUE(txn.ok());
    const Dbi records = *env->GetDbi("records");
    EXPECT_TRUE(txn->Get(records, "migrated-1").ok());
    EXPECT_EQ(txn->Get(records, "half-done").status().code(),
              StatusCode::kNotFound);
  }
  // A fixed build resumes at step 2.
  log.clear();
  state = OpenSchema(*env, Chain(&log, 3));
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->found_version, 2u);
  EXPECT_EQ(log, (std::vector<uint32_t>{2, 3}));
}

TEST(SchemaTest, NewerStoreIsRefused) {
  const std::string path = NewTestPath();
  std::unique_ptr<Env> env = OpenOrDie(path);
  std::vector<uint32_t> log;
  ASSERT_TRUE(OpenSchema(*env, Chain(&log, 5)).ok());  // Written at 6.
  absl::StatusOr<SchemaState> state = OpenSchema(*env, Chain(&log, 2));
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), StatusCode::kFailedPrecondition);
  const std::string message(state.status().message());
  EXPECT_NE(message.find("schema version 6"), std::string::npos) << message;
  EXPECT_NE(message.find("newer"), std::string::npos) << message;
  EXPECT_NE(message.find("(3)"), std::string::npos) << message;
  EXPECT_TRUE(log.empty());
  absl::StatusOr<uint32_t> stored = StoredVersion(*env);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, 6u);  // Untouched.
}

TEST(SchemaTest, MigrationCanGrowTheMap) {
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath());
  ASSERT_TRUE(OpenSchema(*env, {}).ok());
  int runs = 0;
  std::vector<Migration> chain = {
      {1, "bulk rewrite", [&runs](WriteTxn& txn) -> absl::Status {
         ++runs;
         // ~1 MiB: more than the 256 KiB map holds.
         for (uint64_t k = 0; k < 256; ++k) {
           absl::Status s =
               PutRecord(txn, EncodeU64BE(k), std::string(4000, 'x'));
           if (!s.ok()) return s;
         }
         return absl::OkStatus();
       }}};
  absl::StatusOr<SchemaState> state = OpenSchema(*env, chain);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->version, 2u);
  EXPECT_GT(runs, 1);  // Retried after growing.
  absl::StatusOr<MapUsage> usage = env->Usage();
  ASSERT_TRUE(usage.ok());
  EXPECT_GT(usage->map_size, 1024u * 1024u);
}

TEST(SchemaTest, BrokenChainIsInvalidArgument) {
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath());
  std::vector<uint32_t> log;
  std::vector<Migration> chain = Chain(&log, 3);
  chain[2].from_version = 4;
  EXPECT_EQ(OpenSchema(*env, chain).status().code(),
            StatusCode::kInvalidArgument);
  chain = Chain(&log, 2);
  chain[0].apply = nullptr;
  EXPECT_EQ(OpenSchema(*env, chain).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(StoredVersion(*env).status().code(), StatusCode::kNotFound);
}

TEST(SchemaTest, MissingMetaDatabaseIsFailedPrecondition) {
  EnvOptions options = Options();
  options.db_names = {"records"};
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath(), options);
  absl::StatusOr<SchemaState> state = OpenSchema(*env, {});
  EXPECT_EQ(state.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(state.status().message()).find("\"meta\""),
            std::string::npos);
}

TEST(SchemaTest, DataWithoutVersionIsDataLoss) {
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath());
  ASSERT_TRUE(RunInWriteTxn(*env, [](WriteTxn& txn) {
                return PutRecord(txn, "orphan", "record");
              }).ok());
  EXPECT_EQ(OpenSchema(*env, {}).status().code(), StatusCode::kDataLoss);
}

TEST(SchemaTest, MalformedVersionIsDataLoss) {
  std::unique_ptr<Env> env = OpenOrDie(NewTestPath());
  const Dbi meta = *env->GetDbi(kMetaDbName);
  ASSERT_TRUE(RunInWriteTxn(*env, [&](WriteTxn& txn) {
                return txn.Put(meta, kSchemaVersionKey, "7");
              }).ok());
  EXPECT_EQ(OpenSchema(*env, {}).status().code(), StatusCode::kDataLoss);
  ASSERT_TRUE(RunInWriteTxn(*env, [&](WriteTxn& txn) {
                return WriteSchemaVersion(txn, meta, 0);
              }).ok());
  EXPECT_EQ(OpenSchema(*env, {}).status().code(), StatusCode::kDataLoss);
}

TEST(SchemaTest, ReadOnlyStoreMustAlreadyBeCurrent) {
  const std::string path = NewTestPath();
  OpenOrDie(path).reset();  // Sub-databases exist, no schema yet.
  EnvOptions ro = Options();
  ro.read_only = true;
  std::vector<uint32_t> log;
  {
    std::unique_ptr<Env> env = OpenOrDie(path, ro);
    EXPECT_EQ(OpenSchema(*env, {}).status().code(),
              StatusCode::kFailedPrecondition);
  }
  {
    std::unique_ptr<Env> env = OpenOrDie(path);
    ASSERT_TRUE(OpenSchema(*env, {}).ok());
  }
  std::unique_ptr<Env> env = OpenOrDie(path, ro);
  EXPECT_TRUE(OpenSchema(*env, {}).ok());
  absl::StatusOr<SchemaState> state = OpenSchema(*env, Chain(&log, 1));
  EXPECT_EQ(state.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(state.status().message()).find("read-only"),
            std::string::npos);
  EXPECT_TRUE(log.empty());
}

}  // namespace
}  // namespace appliance::store
