// RAII wrappers over LMDB: an environment with its named sub-databases,
// read and write transactions that abort unless committed, and cursors.
//
//   EnvOptions options;
//   options.db_names = {"meta", "messages"};
//   ASSIGN_OR_RETURN(std::unique_ptr<Env> env, Env::Open(dir, options));
//   ASSIGN_OR_RETURN(Dbi messages, env->GetDbi("messages"));
//   RETURN_IF_ERROR(RunInWriteTxn(*env, [&](WriteTxn& txn) {
//     return txn.Put(messages, EncodeU64BE(seq), record);
//   }));
//
// Durability: every commit is fsync'ed. The environment is always opened
// without MDB_NOSYNC, MDB_NOMETASYNC, MDB_MAPASYNC and MDB_WRITEMAP (there is
// no way to ask for them), so WriteTxn::Commit() returning OK means the data
// is on disk.
//
// Threads: Env is thread-safe. One write transaction exists at a time
// (LMDB's rule; the appliance has a single writer thread); any number of read
// transactions run beside it. A Txn and its Cursors are used by one thread at
// a time; a WriteTxn must end (commit, abort or destruction) on the thread
// that began it. Read transactions are not tied to threads (MDB_NOTLS), but
// each open one holds a reader slot: keep them short.
//
// Lifetimes: every Txn and Cursor must be destroyed before their Env. A
// Cursor may outlive its Txn (it then fails with FAILED_PRECONDITION), but
// views returned by Get()/Find()/Cursor are valid only while the transaction
// that produced them is open, and in a WriteTxn only until its next Put() or
// Delete(). Copy the bytes out to keep them.
#ifndef APPLIANCE_STORE_LMDB_ENV_H_
#define APPLIANCE_STORE_LMDB_ENV_H_

#include <lmdb.h>

#include <condition_variable>
#include <mutex>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace appliance::store {

class Cursor;
class Env;
class ReadTxn;
class WriteTxn;

namespace internal {
struct TxnState;
struct CursorState;
}  // namespace internal

struct EnvOptions {
  // Named sub-databases, opened once by Env::Open() (and created there unless
  // read_only). Handles come from Env::GetDbi(). Keys compare as bytes: use
  // the big-endian helpers of keys.h for integers.
  std::vector<std::string> db_names;
  // Map size for a new store, and the floor for an existing one (a store
  // whose map grew earlier keeps its recorded size). Rounded up to the page
  // size.
  uint64_t initial_map_size = uint64_t{64} << 20;
  // Cap for GrowMap(). Must be >= initial_map_size.
  uint64_t max_map_size = uint64_t{64} << 30;
  // Maximum named sub-databases; 0 means db_names.size().
  unsigned int max_dbs = 0;
  // Maximum concurrent read transactions (reader slots), process-wide.
  unsigned int max_readers = 126;
  // Opens with MDB_RDONLY: no write transactions; sub-databases must exist.
  bool read_only = false;
  // Creates the data directory (one level, mode 0700) when it is missing.
  // Ignored when read_only.
  bool create_if_missing = true;
  // Mode of data.mdb and lock.mdb when LMDB creates them.
  unsigned int file_mode = 0600;
  // How long GrowMap() waits for open transactions to end.
  absl::Duration grow_wait_timeout = absl::Seconds(10);
};

// A named sub-database handle, valid for the lifetime of the Env it came
// from. Cheap to copy. A default-constructed Dbi is invalid and every
// operation given one fails with INVALID_ARGUMENT.
class Dbi {
 public:
  Dbi() = default;

  bool valid() const { return env_ != nullptr; }
  std::string_view name() const {
    return name_ == nullptr ? std::string_view() : std::string_view(*name_);
  }
  MDB_dbi handle() const { return handle_; }

 private:
  friend class Env;
  friend class Txn;
  Dbi(const Env* env, MDB_dbi handle, const std::string* name)
      : env_(env), handle_(handle), name_(name) {}

  const Env* env_ = nullptr;  // Not owned; outlives every use of this Dbi.
  MDB_dbi handle_ = 0;
  const std::string* name_ = nullptr;  // Owned by *env_.
};

// Map occupancy, for metrics and the operator's "store N% full".
struct MapUsage {
  // Bytes up to the highest page in use after the last commit. Freed pages
  // below it are reused by later writes, so this is a high-water mark.
  uint64_t used_bytes = 0;
  uint64_t map_size = 0;      // Current map size.
  uint64_t max_map_size = 0;  // The GrowMap() cap.
  uint32_t page_size = 0;
  unsigned int max_readers = 0;
  unsigned int readers_used = 0;  // Reader slots ever used (LMDB's count).
};

// An open LMDB environment. Create with Open(); not copyable or movable
// (transactions point at it).
class Env {
 public:
  // Opens (creating when allowed) the store in directory `path`, opens every
  // sub-database in options.db_names, and clears reader slots left by dead
  // processes (mdb_reader_check). Errors:
  //   INVALID_ARGUMENT    inconsistent options
  //   NOT_FOUND           missing directory (read_only or !create_if_missing)
  //                       or, read_only, a missing sub-database
  //   PERMISSION_DENIED   the directory or files are not accessible
  //   DATA_LOSS           data.mdb is damaged or not an LMDB file
  static absl::StatusOr<std::unique_ptr<Env>> Open(std::string_view path,
                                                   EnvOptions options);

  // Closes the environment. Every Txn and Cursor must already be destroyed;
  // a leftover transaction is a bug and crashes the process.
  ~Env();

  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  // The handle of sub-database `name`, which must be in options().db_names
  // (NOT_FOUND otherwise).
  absl::StatusOr<Dbi> GetDbi(std::string_view name) const;
  // Every sub-database, in options().db_names order.
  const std::vector<Dbi>& dbis() const { return dbis_; }

  // Begins a read transaction. On MDB_READERS_FULL clears stale reader slots
  // and tries once more. Blocks while GrowMap() is resizing the map.
  absl::StatusOr<ReadTxn> BeginRead();

  // Begins the write transaction, waiting for the one in another thread (if
  // any) to end. FAILED_PRECONDITION if the calling thread already has one
  // open (LMDB would deadlock) or the Env is read-only.
  absl::StatusOr<WriteTxn> BeginWrite();

  // Doubles the map size, up to options().max_map_size. For the writer
  // thread after a write failed with IsMapFull(): abort that transaction,
  // call GrowMap(), then run the whole transaction again (RunInWriteTxn()
  // does exactly this). Waits up to options().grow_wait_timeout for open
  // read transactions (in any thread) to end and holds new ones back
  // meanwhile, as LMDB requires. Errors:
  //   RESOURCE_EXHAUSTED   the map is already at the cap: the store is full
  //   FAILED_PRECONDITION  the calling thread has the write txn open
  //   UNAVAILABLE          transactions stayed open past the timeout
  // Must not be called by a thread holding a ReadTxn (it would wait for
  // itself until the timeout).
  absl::Status GrowMap();

  // Current map occupancy.
  absl::StatusOr<MapUsage> Usage() const;

  // Clears reader slots held by dead processes; returns how many.
  absl::StatusOr<int> CheckReaders();
  // Slots cleared by the check at Open().
  int stale_readers_cleared_at_open() const { return stale_readers_at_open_; }

  // Online, compacting backup (MDB_CP_COMPACT) of the last committed state
  // into directory `dest_dir` (created, mode 0700, if missing) as data.mdb,
  // mode 0600, fsync'ed. The copy opens as an ordinary store. Runs as a read
  // transaction beside the writer. ALREADY_EXISTS if dest_dir already holds
  // a data.mdb; a failed copy leaves no data.mdb behind. Like any reader it
  // holds back GrowMap() while it runs (see grow_wait_timeout).
  absl::Status CopyCompact(std::string_view dest_dir);

  const std::string& path() const { return path_; }
  const EnvOptions& options() const { return options_; }
  // For calls this wrapper does not cover. Keep the rules above.
  MDB_env* raw() const { return env_; }

 private:
  friend class Txn;
  friend class WriteTxn;

  Env(std::string path, EnvOptions options, MDB_env* env);

  absl::Status OpenDbis();
  // Transaction accounting for GrowMap(): Register blocks while the map is
  // being resized.
  absl::Status RegisterTxn(bool write);
  void WriterStarted();
  void UnregisterTxn(bool write);

  const std::string path_;
  const EnvOptions options_;
  MDB_env* const env_;              // Owned; closed by ~Env().
  std::vector<std::string> names_;  // Never resized after Open().
  std::vector<Dbi> dbis_;           // Parallel to names_.
  int stale_readers_at_open_ = 0;

  // std::mutex, not absl::Mutex: Debian's Abseil is not TSan-instrumented,
  // and ThreadSanitizer must see this lock (every store user goes through it).
  mutable std::mutex mu_;
  std::condition_variable cv_;  // Signalled when growing_/active_txns_ change.
  int active_txns_ = 0;         // Guarded by mu_.
  bool growing_ = false;        // Guarded by mu_.
  bool writer_open_ = false;    // Guarded by mu_.
  std::thread::id writer_thread_;  // Guarded by mu_.
};

struct KeyValue {
  std::string_view key;
  std::string_view value;
};

// Reads shared by ReadTxn and WriteTxn. A finished transaction (committed or
// aborted) fails every call with FAILED_PRECONDITION.
class Txn {
 public:
  // True until committed or aborted.
  bool active() const;

  // The value under `key`; NOT_FOUND if absent. The view is valid only while
  // this transaction is open (and, in a WriteTxn, until its next write).
  absl::StatusOr<std::string_view> Get(Dbi dbi, std::string_view key) const;
  // Like Get(), but absence is nullopt rather than an error (for lookups
  // that often miss, such as the dedupe index).
  absl::StatusOr<std::optional<std::string_view>> Find(
      Dbi dbi, std::string_view key) const;
  // Number of entries in `dbi`.
  absl::StatusOr<uint64_t> Count(Dbi dbi) const;
  // A cursor over `dbi`, unpositioned.
  absl::StatusOr<Cursor> OpenCursor(Dbi dbi) const;

  Env& env() const;
  // nullptr once finished.
  MDB_txn* raw() const;

 protected:
  explicit Txn(std::unique_ptr<internal::TxnState> state);
  Txn(Txn&& other) noexcept;
  Txn& operator=(Txn&& other) noexcept;
  // Aborts if still active.
  ~Txn();

  absl::Status CheckDbi(Dbi dbi) const;
  // Closes the cursors and commits (`commit`) or aborts.
  absl::Status Finish(bool commit);

  std::unique_ptr<internal::TxnState> state_;
};

// A read-only snapshot of the last committed state. Aborted (released) when
// destroyed. Move-only.
class ReadTxn final : public Txn {
 public:
  ReadTxn(ReadTxn&&) noexcept = default;
  ReadTxn& operator=(ReadTxn&&) noexcept = default;

  // Releases the snapshot now (the destructor does this too).
  void Abort();

 private:
  friend class Env;
  explicit ReadTxn(std::unique_ptr<internal::TxnState> state);
};

enum class PutMode {
  kUpsert,       // Insert or replace.
  kNoOverwrite,  // ALREADY_EXISTS if the key is present.
  kAppend,       // Fast path for keys above every existing key (sequence
                 // numbers); ALREADY_EXISTS if the key does not sort last.
};

// The write transaction. Aborted when destroyed unless Commit() succeeded:
// an early return drops every change. Move-only, but must end on the thread
// that began it.
//
// After a failure other than NOT_FOUND / ALREADY_EXISTS (for example
// MDB_MAP_FULL) LMDB refuses further use of the transaction; later calls and
// Commit() then return that first error again, so it cannot be lost.
class WriteTxn final : public Txn {
 public:
  WriteTxn(WriteTxn&&) noexcept = default;
  WriteTxn& operator=(WriteTxn&&) noexcept = default;

  // Stores `value` under `key`. Keys are 1..511 bytes (INVALID_ARGUMENT
  // otherwise). RESOURCE_EXHAUSTED with IsMapFull() when the map is full.
  absl::Status Put(Dbi dbi, std::string_view key, std::string_view value,
                   PutMode mode = PutMode::kUpsert);
  // Removes `key`; NOT_FOUND if absent.
  absl::Status Delete(Dbi dbi, std::string_view key);

  // Commits durably (fsync) and ends the transaction, whatever the result.
  // Cursors opened in it stop working. On error nothing was committed.
  absl::Status Commit();
  // Discards every change now (the destructor does this too).
  void Abort();

 private:
  friend class Env;
  explicit WriteTxn(std::unique_ptr<internal::TxnState> state);
};

// Runs `body` in a new write transaction and commits it. When the body or
// the commit fails with IsMapFull(), aborts, grows the map (Env::GrowMap())
// and runs `body` again in a fresh transaction, until it commits or the map
// reaches its cap (RESOURCE_EXHAUSTED). `body` may therefore run more than
// once and must have no effects outside the transaction. Any other error
// from `body` aborts and is returned as is.
absl::Status RunInWriteTxn(Env& env,
                           absl::FunctionRef<absl::Status(WriteTxn&)> body);

// A position in one sub-database within one transaction. Move-only. The
// positioning calls return the entry there, or NOT_FOUND when there is none
// (empty database, before the first or past the last entry). Views are valid
// as for Txn::Get(). Scan idiom:
//
//   absl::StatusOr<KeyValue> kv = cursor.Seek(EncodeU64BE(from));
//   for (; kv.ok(); kv = cursor.Next()) { ... }
//   if (!absl::IsNotFound(kv.status())) return kv.status();
//
// After its transaction ends every call fails with FAILED_PRECONDITION.
class Cursor {
 public:
  Cursor(Cursor&& other) noexcept;
  Cursor& operator=(Cursor&& other) noexcept;
  ~Cursor();

  absl::StatusOr<KeyValue> First();
  absl::StatusOr<KeyValue> Last();
  // The next / previous entry. From an unpositioned cursor, Next() is
  // First() and Prev() is Last().
  absl::StatusOr<KeyValue> Next();
  absl::StatusOr<KeyValue> Prev();
  // The first entry whose key is >= `key` (MDB_SET_RANGE).
  absl::StatusOr<KeyValue> Seek(std::string_view key);
  // The entry under the cursor.
  absl::StatusOr<KeyValue> Current();
  // Deletes the entry under the cursor (write transactions only); a
  // following Next() returns the entry after it.
  absl::Status DeleteCurrent();

 private:
  friend class Txn;
  explicit Cursor(std::unique_ptr<internal::CursorState> state);

  absl::StatusOr<KeyValue> Get(MDB_cursor_op op, const char* op_name,
                               std::string_view key);

  std::unique_ptr<internal::CursorState> state_;
};

}  // namespace appliance::store

#endif  // APPLIANCE_STORE_LMDB_ENV_H_
