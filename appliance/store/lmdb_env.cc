#include "appliance/store/lmdb_env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/store/lmdb_status.h"

namespace appliance::store {
namespace internal {

// Heap-allocated so that cursors keep a stable pointer while the owning
// ReadTxn / WriteTxn object is moved.
struct TxnState {
  Env* env = nullptr;      // Not owned; outlives the transaction.
  MDB_txn* txn = nullptr;  // Owned; null once committed or aborted.
  bool write = false;
  // Open cursors. Each removes itself when destroyed; Txn::Finish() closes
  // and detaches the rest.
  std::vector<CursorState*> cursors;
  // Write transactions: the first error after which LMDB refuses the
  // transaction (MDB_BAD_TXN), reported again by later calls.
  absl::Status first_error;
};

struct CursorState {
  TxnState* txn = nullptr;       // Not owned; null once the transaction ended.
  MDB_cursor* cursor = nullptr;  // Owned; null once the transaction ended.
  Dbi dbi;
};

}  // namespace internal

namespace {

using internal::CursorState;
using internal::TxnState;

absl::string_view AV(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

MDB_val ToVal(std::string_view s) {
  MDB_val v;
  v.mv_size = s.size();
  v.mv_data = const_cast<char*>(s.data());
  return v;
}

std::string_view FromVal(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

absl::Status Finished() {
  return absl::FailedPreconditionError(
      "LMDB transaction already committed or aborted");
}

// Errors after which LMDB marks a write transaction failed.
bool PoisonsTxn(int rc) {
  return rc != MDB_NOTFOUND && rc != MDB_KEYEXIST && rc != MDB_BAD_VALSIZE &&
         rc != EINVAL && rc != MDB_BAD_TXN && rc != MDB_BAD_DBI;
}

// Converts a failed call `op` on sub-database `db` within transaction `s`.
absl::Status TxnError(TxnState& s, int rc, const char* op,
                      std::string_view db) {
  const std::string operation =
      db.empty() ? std::string(op) : absl::StrCat(op, "(", AV(db), ")");
  if (rc == MDB_BAD_TXN && !s.first_error.ok()) {
    absl::Status status(
        s.first_error.code(),
        absl::StrCat(operation, ": transaction failed earlier: ",
                     s.first_error.message()));
    s.first_error.ForEachPayload(
        [&status](absl::string_view url, const absl::Cord& payload) {
          status.SetPayload(url, payload);
        });
    return status;
  }
  absl::Status status = LmdbStatus(rc, operation);
  if (s.write && s.first_error.ok() && PoisonsTxn(rc)) s.first_error = status;
  return status;
}

uint64_t RoundUp(uint64_t n, uint64_t unit) {
  return (n + unit - 1) / unit * unit;
}

uint64_t PageSize() {
  const long page = sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<uint64_t>(page) : 4096;
}

}  // namespace

// ---------------------------------------------------------------------------
// Env

Env::Env(std::string path, EnvOptions options, MDB_env* env)
    : path_(std::move(path)), options_(std::move(options)), env_(env) {}

Env::~Env() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (active_txns_ != 0) {
      std::fprintf(stderr,
                   "FATAL: store::Env %s destroyed with %d open "
                   "transaction(s)\n",
                   path_.c_str(), active_txns_);
      std::abort();
    }
  }
  mdb_env_close(env_);
}

absl::StatusOr<std::unique_ptr<Env>> Env::Open(std::string_view path_view,
                                               EnvOptions options) {
  std::string path(path_view);
  if (path.empty()) {
    return absl::InvalidArgumentError("store path is empty");
  }
  if (options.db_names.empty()) {
    return absl::InvalidArgumentError(
        "store needs at least one named sub-database");
  }
  for (size_t i = 0; i < options.db_names.size(); ++i) {
    const std::string& name = options.db_names[i];
    if (name.empty()) {
      return absl::InvalidArgumentError("sub-database name is empty");
    }
    for (size_t j = 0; j < i; ++j) {
      if (options.db_names[j] == name) {
        return absl::InvalidArgumentError(
            absl::StrCat("sub-database name \"", name, "\" listed twice"));
      }
    }
  }
  if (options.max_dbs == 0) {
    options.max_dbs = static_cast<unsigned int>(options.db_names.size());
  }
  if (options.max_dbs < options.db_names.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_dbs ", options.max_dbs, " is less than the ",
                     options.db_names.size(), " sub-databases named"));
  }
  if (options.max_readers == 0) {
    return absl::InvalidArgumentError("max_readers must be at least 1");
  }
  if (options.initial_map_size == 0 ||
      options.max_map_size < options.initial_map_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("need 0 < initial_map_size (", options.initial_map_size,
                     ") <= max_map_size (", options.max_map_size, ")"));
  }
  const uint64_t page = PageSize();
  options.initial_map_size = RoundUp(options.initial_map_size, page);
  options.max_map_size = RoundUp(options.max_map_size, page);

  if (!options.read_only && options.create_if_missing &&
      mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return LmdbStatus(errno, absl::StrCat("mkdir(", path, ")"));
  }

  MDB_env* raw = nullptr;
  RETURN_IF_ERROR(LmdbStatus(mdb_env_create(&raw), "mdb_env_create"));
  // From here ~Env() closes `raw`, as LMDB requires even after a failed
  // mdb_env_open().
  std::unique_ptr<Env> env(new Env(path, std::move(options), raw));
  const EnvOptions& o = env->options_;
  RETURN_IF_ERROR(
      LmdbStatus(mdb_env_set_maxdbs(raw, o.max_dbs), "mdb_env_set_maxdbs"));
  RETURN_IF_ERROR(LmdbStatus(mdb_env_set_maxreaders(raw, o.max_readers),
                             "mdb_env_set_maxreaders"));
  // A new store starts at initial_map_size. For an existing one LMDB adopts
  // the size recorded in the file when none is set, so a map grown earlier
  // stays grown (and is raised to initial_map_size below if smaller).
  struct stat data_file;
  const bool exists =
      stat(absl::StrCat(path, "/data.mdb").c_str(), &data_file) == 0;
  if (!exists && !o.read_only) {
    RETURN_IF_ERROR(LmdbStatus(mdb_env_set_mapsize(raw, o.initial_map_size),
                               "mdb_env_set_mapsize"));
  }
  // Never MDB_NOSYNC / MDB_NOMETASYNC / MDB_MAPASYNC / MDB_WRITEMAP: a commit
  // must be durable when it returns. MDB_NOTLS: read transactions are not
  // bound to a thread (ReadTxn is movable).
  const unsigned int flags = MDB_NOTLS | (o.read_only ? MDB_RDONLY : 0u);
  RETURN_IF_ERROR(LmdbStatus(mdb_env_open(raw, path.c_str(), flags,
                                          static_cast<mdb_mode_t>(o.file_mode)),
                             absl::StrCat("mdb_env_open(", path, ")")));
  if (!o.read_only) {
    MDB_envinfo info;
    RETURN_IF_ERROR(LmdbStatus(mdb_env_info(raw, &info), "mdb_env_info"));
    if (info.me_mapsize < o.initial_map_size) {
      RETURN_IF_ERROR(
          LmdbStatus(mdb_env_set_mapsize(raw, o.initial_map_size),
                     absl::StrCat("mdb_env_set_mapsize(", path, ")")));
    }
  }
  int dead = 0;
  RETURN_IF_ERROR(LmdbStatus(mdb_reader_check(raw, &dead), "mdb_reader_check"));
  env->stale_readers_at_open_ = dead;
  RETURN_IF_ERROR(env->OpenDbis());
  return env;
}

absl::Status Env::OpenDbis() {
  const bool ro = options_.read_only;
  MDB_txn* txn = nullptr;
  RETURN_IF_ERROR(
      LmdbStatus(mdb_txn_begin(env_, nullptr, ro ? MDB_RDONLY : 0, &txn),
                 absl::StrCat("mdb_txn_begin(", path_, ")")));
  std::vector<Dbi> dbis;
  for (const std::string& name : options_.db_names) {
    MDB_dbi dbi = 0;
    const int rc = mdb_dbi_open(txn, name.c_str(), ro ? 0 : MDB_CREATE, &dbi);
    if (rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      if (rc == MDB_NOTFOUND) {
        return absl::NotFoundError(
            absl::StrCat("sub-database \"", name, "\" does not exist in ",
                         path_, " (opened read-only, so it is not created)"));
      }
      return LmdbStatus(rc, absl::StrCat("mdb_dbi_open(", name, ")"));
    }
    dbis.push_back(Dbi(this, dbi, &name));
  }
  // Committing (even a read-only transaction) makes the handles permanent.
  RETURN_IF_ERROR(LmdbStatus(mdb_txn_commit(txn),
                             absl::StrCat("mdb_txn_commit(", path_, ")")));
  dbis_ = std::move(dbis);
  return absl::OkStatus();
}

absl::StatusOr<Dbi> Env::GetDbi(std::string_view name) const {
  for (const Dbi& dbi : dbis_) {
    if (dbi.name() == name) return dbi;
  }
  return absl::NotFoundError(
      absl::StrCat("no sub-database \"", AV(name), "\" in store ", path_));
}

absl::Status Env::RegisterTxn(bool write) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !growing_; });
  if (write && writer_open_ && writer_thread_ == std::this_thread::get_id()) {
    return absl::FailedPreconditionError(
        "this thread already has the write transaction open (LMDB allows "
        "one; nesting would deadlock)");
  }
  ++active_txns_;
  return absl::OkStatus();
}

void Env::WriterStarted() {
  std::lock_guard<std::mutex> lock(mu_);
  writer_open_ = true;
  writer_thread_ = std::this_thread::get_id();
}

void Env::UnregisterTxn(bool write) {
  std::lock_guard<std::mutex> lock(mu_);
  --active_txns_;
  if (write) writer_open_ = false;
  cv_.notify_all();  // GrowMap() may wait for the last one.
}

absl::StatusOr<ReadTxn> Env::BeginRead() {
  RETURN_IF_ERROR(RegisterTxn(/*write=*/false));
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc == MDB_READERS_FULL) {
    // Slots of crashed processes are only reclaimed by a check.
    int dead = 0;
    if (mdb_reader_check(env_, &dead) == MDB_SUCCESS && dead > 0) {
      rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    }
  }
  if (rc != MDB_SUCCESS) {
    UnregisterTxn(/*write=*/false);
    return LmdbStatus(rc, "mdb_txn_begin(read)");
  }
  auto state = std::make_unique<TxnState>();
  state->env = this;
  state->txn = txn;
  state->write = false;
  return ReadTxn(std::move(state));
}

absl::StatusOr<WriteTxn> Env::BeginWrite() {
  if (options_.read_only) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store ", path_, " is open read-only: no write transactions"));
  }
  RETURN_IF_ERROR(RegisterTxn(/*write=*/true));
  MDB_txn* txn = nullptr;
  // Blocks while another thread holds the write transaction.
  const int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != MDB_SUCCESS) {
    UnregisterTxn(/*write=*/false);  // Never became the writer.
    return LmdbStatus(rc, "mdb_txn_begin(write)");
  }
  WriterStarted();
  auto state = std::make_unique<TxnState>();
  state->env = this;
  state->txn = txn;
  state->write = true;
  return WriteTxn(std::move(state));
}

absl::Status Env::GrowMap() {
  if (options_.read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat("GrowMap: store ", path_, " is open read-only"));
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (writer_open_ && writer_thread_ == std::this_thread::get_id()) {
    return absl::FailedPreconditionError(
        "GrowMap: abort this thread's write transaction first, then retry it "
        "after the map has grown");
  }
  cv_.wait(lock, [&] { return !growing_; });
  growing_ = true;  // Holds back new transactions.
  absl::Status result;
  if (!cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.grow_wait_timeout),
                    [&] { return active_txns_ == 0; })) {
    result = absl::UnavailableError(absl::StrCat(
        "GrowMap: ", active_txns_, " transaction(s) still open after ",
        absl::FormatDuration(options_.grow_wait_timeout),
        "; LMDB can resize the map only when none is open"));
  } else {
    MDB_envinfo info;
    result = LmdbStatus(mdb_env_info(env_, &info), "mdb_env_info");
    if (result.ok()) {
      const uint64_t current = info.me_mapsize;
      const uint64_t cap = options_.max_map_size;
      if (current >= cap) {
        result = absl::ResourceExhaustedError(
            absl::StrCat("store ", path_, " is full: map size ", current,
                         " bytes has reached max_map_size ", cap, " bytes"));
      } else {
        const uint64_t next =
            current > cap / 2 ? cap
                              : std::min(cap, RoundUp(current * 2, PageSize()));
        result = LmdbStatus(mdb_env_set_mapsize(env_, next),
                            absl::StrCat("mdb_env_set_mapsize(", next, ")"));
      }
    }
  }
  growing_ = false;
  cv_.notify_all();  // Transactions held back may start.
  return result;
}

absl::StatusOr<MapUsage> Env::Usage() const {
  std::lock_guard<std::mutex> lock(mu_);  // Not while GrowMap() remaps.
  MDB_envinfo info;
  RETURN_IF_ERROR(LmdbStatus(mdb_env_info(env_, &info), "mdb_env_info"));
  MDB_stat stat;
  RETURN_IF_ERROR(LmdbStatus(mdb_env_stat(env_, &stat), "mdb_env_stat"));
  MapUsage usage;
  usage.page_size = stat.ms_psize;
  usage.used_bytes = (static_cast<uint64_t>(info.me_last_pgno) + 1) *
                     static_cast<uint64_t>(stat.ms_psize);
  usage.map_size = info.me_mapsize;
  usage.max_map_size = options_.max_map_size;
  usage.max_readers = info.me_maxreaders;
  usage.readers_used = info.me_numreaders;
  return usage;
}

absl::StatusOr<int> Env::CheckReaders() {
  int dead = 0;
  RETURN_IF_ERROR(
      LmdbStatus(mdb_reader_check(env_, &dead), "mdb_reader_check"));
  return dead;
}

absl::Status Env::CopyCompact(std::string_view dest_dir) {
  const std::string dir(dest_dir);
  if (dir.empty()) {
    return absl::InvalidArgumentError("CopyCompact: destination is empty");
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return LmdbStatus(errno, absl::StrCat("mkdir(", dir, ")"));
  }
  // mdb_env_copy2() would create data.mdb with mode 0666 & ~umask and not
  // fsync it; open it ourselves and hand LMDB the descriptor instead.
  const std::string file = absl::StrCat(dir, "/data.mdb");
  const int fd =
      open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return LmdbStatus(errno, absl::StrCat("open(", file, ")"));

  absl::Status status = RegisterTxn(/*write=*/false);  // The copy reads.
  if (status.ok()) {
    const int rc = mdb_env_copyfd2(env_, fd, MDB_CP_COMPACT);
    UnregisterTxn(/*write=*/false);
    status = LmdbStatus(rc, absl::StrCat("mdb_env_copyfd2(", file, ")"));
  }
  if (status.ok() && fsync(fd) != 0) {
    status = LmdbStatus(errno, absl::StrCat("fsync(", file, ")"));
  }
  if (close(fd) != 0 && status.ok()) {
    status = LmdbStatus(errno, absl::StrCat("close(", file, ")"));
  }
  if (!status.ok()) {
    unlink(file.c_str());
    return status;
  }
  // Make the new directory entry durable too.
  const int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return LmdbStatus(errno, absl::StrCat("open(", dir, ")"));
  if (fsync(dir_fd) != 0) status = LmdbStatus(errno, "fsync(dir)");
  close(dir_fd);
  return status;
}

// ---------------------------------------------------------------------------
// Txn

Txn::Txn(std::unique_ptr<TxnState> state) : state_(std::move(state)) {}

Txn::Txn(Txn&& other) noexcept = default;

Txn& Txn::operator=(Txn&& other) noexcept {
  if (this != &other) {
    if (active()) Finish(/*commit=*/false).IgnoreError();
    state_ = std::move(other.state_);
  }
  return *this;
}

Txn::~Txn() {
  if (active()) Finish(/*commit=*/false).IgnoreError();
}

bool Txn::active() const { return state_ != nullptr && state_->txn != nullptr; }

Env& Txn::env() const { return *state_->env; }

MDB_txn* Txn::raw() const { return active() ? state_->txn : nullptr; }

absl::Status Txn::CheckDbi(Dbi dbi) const {
  if (!active()) return Finished();
  if (dbi.env_ != state_->env) {
    return absl::InvalidArgumentError(
        dbi.valid() ? absl::StrCat("sub-database \"", AV(dbi.name()),
                                   "\" belongs to another store")
                    : std::string("invalid (default-constructed) Dbi"));
  }
  return absl::OkStatus();
}

absl::Status Txn::Finish(bool commit) {
  TxnState& s = *state_;
  for (CursorState* c : s.cursors) {
    mdb_cursor_close(c->cursor);
    c->cursor = nullptr;
    c->txn = nullptr;
  }
  s.cursors.clear();
  int rc = MDB_SUCCESS;
  if (commit) {
    rc = mdb_txn_commit(s.txn);  // Frees the transaction even on failure.
  } else {
    mdb_txn_abort(s.txn);
  }
  s.txn = nullptr;
  s.env->UnregisterTxn(s.write);
  if (rc != MDB_SUCCESS) return TxnError(s, rc, "mdb_txn_commit", "");
  return absl::OkStatus();
}

absl::StatusOr<std::string_view> Txn::Get(Dbi dbi, std::string_view key) const {
  RETURN_IF_ERROR(CheckDbi(dbi));
  MDB_val k = ToVal(key);
  MDB_val v;
  const int rc = mdb_get(state_->txn, dbi.handle(), &k, &v);
  if (rc != MDB_SUCCESS) return TxnError(*state_, rc, "mdb_get", dbi.name());
  return FromVal(v);
}

absl::StatusOr<std::optional<std::string_view>> Txn::Find(
    Dbi dbi, std::string_view key) const {
  RETURN_IF_ERROR(CheckDbi(dbi));
  MDB_val k = ToVal(key);
  MDB_val v;
  const int rc = mdb_get(state_->txn, dbi.handle(), &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc != MDB_SUCCESS) return TxnError(*state_, rc, "mdb_get", dbi.name());
  return std::optional<std::string_view>(FromVal(v));
}

absl::StatusOr<uint64_t> Txn::Count(Dbi dbi) const {
  RETURN_IF_ERROR(CheckDbi(dbi));
  MDB_stat stat;
  const int rc = mdb_stat(state_->txn, dbi.handle(), &stat);
  if (rc != MDB_SUCCESS) return TxnError(*state_, rc, "mdb_stat", dbi.name());
  return static_cast<uint64_t>(stat.ms_entries);
}

absl::StatusOr<Cursor> Txn::OpenCursor(Dbi dbi) const {
  RETURN_IF_ERROR(CheckDbi(dbi));
  MDB_cursor* cursor = nullptr;
  const int rc = mdb_cursor_open(state_->txn, dbi.handle(), &cursor);
  if (rc != MDB_SUCCESS) {
    return TxnError(*state_, rc, "mdb_cursor_open", dbi.name());
  }
  auto cs = std::make_unique<CursorState>();
  cs->txn = state_.get();
  cs->cursor = cursor;
  cs->dbi = dbi;
  state_->cursors.push_back(cs.get());
  return Cursor(std::move(cs));
}

// ---------------------------------------------------------------------------
// ReadTxn / WriteTxn

ReadTxn::ReadTxn(std::unique_ptr<TxnState> state) : Txn(std::move(state)) {}

WriteTxn::WriteTxn(std::unique_ptr<TxnState> state) : Txn(std::move(state)) {}

void ReadTxn::Abort() {
  if (active()) Finish(/*commit=*/false).IgnoreError();
}

absl::Status WriteTxn::Put(Dbi dbi, std::string_view key,
                           std::string_view value, PutMode mode) {
  RETURN_IF_ERROR(CheckDbi(dbi));
  unsigned int flags = 0;
  if (mode == PutMode::kNoOverwrite) flags = MDB_NOOVERWRITE;
  if (mode == PutMode::kAppend) flags = MDB_APPEND;
  MDB_val k = ToVal(key);
  MDB_val v = ToVal(value);
  const int rc = mdb_put(state_->txn, dbi.handle(), &k, &v, flags);
  if (rc != MDB_SUCCESS) return TxnError(*state_, rc, "mdb_put", dbi.name());
  return absl::OkStatus();
}

absl::Status WriteTxn::Delete(Dbi dbi, std::string_view key) {
  RETURN_IF_ERROR(CheckDbi(dbi));
  MDB_val k = ToVal(key);
  const int rc = mdb_del(state_->txn, dbi.handle(), &k, nullptr);
  if (rc != MDB_SUCCESS) return TxnError(*state_, rc, "mdb_del", dbi.name());
  return absl::OkStatus();
}

absl::Status WriteTxn::Commit() {
  if (!active()) return Finished();
  return Finish(/*commit=*/true);
}

void WriteTxn::Abort() {
  if (active()) Finish(/*commit=*/false).IgnoreError();
}

absl::Status RunInWriteTxn(Env& env,
                           absl::FunctionRef<absl::Status(WriteTxn&)> body) {
  for (;;) {
    ASSIGN_OR_RETURN(WriteTxn txn, env.BeginWrite());
    absl::Status status = body(txn);
    // A body that swallowed a map-full error still gets it from Commit().
    if (status.ok()) status = txn.Commit();
    if (status.ok() || !IsMapFull(status)) return status;
    txn.Abort();  // GrowMap() needs every transaction closed.
    RETURN_IF_ERROR(env.GrowMap());
  }
}

// ---------------------------------------------------------------------------
// Cursor

Cursor::Cursor(std::unique_ptr<CursorState> state) : state_(std::move(state)) {}

Cursor::Cursor(Cursor&& other) noexcept = default;

Cursor& Cursor::operator=(Cursor&& other) noexcept {
  if (this != &other) {
    Cursor discard(std::move(*this));
    state_ = std::move(other.state_);
  }
  return *this;
}

Cursor::~Cursor() {
  if (state_ == nullptr || state_->cursor == nullptr) return;
  mdb_cursor_close(state_->cursor);
  std::vector<CursorState*>& open = state_->txn->cursors;
  open.erase(std::find(open.begin(), open.end(), state_.get()));
}

absl::StatusOr<KeyValue> Cursor::Get(MDB_cursor_op op, const char* op_name,
                                     std::string_view key) {
  if (state_ == nullptr || state_->cursor == nullptr) {
    return absl::FailedPreconditionError(
        "LMDB cursor used after its transaction ended");
  }
  MDB_val k = ToVal(key);
  MDB_val v;
  v.mv_size = 0;
  v.mv_data = nullptr;
  const int rc = mdb_cursor_get(state_->cursor, &k, &v, op);
  if (rc != MDB_SUCCESS) {
    return TxnError(*state_->txn, rc, op_name, state_->dbi.name());
  }
  return KeyValue{FromVal(k), FromVal(v)};
}

absl::StatusOr<KeyValue> Cursor::First() {
  return Get(MDB_FIRST, "mdb_cursor_get[first]", {});
}
absl::StatusOr<KeyValue> Cursor::Last() {
  return Get(MDB_LAST, "mdb_cursor_get[last]", {});
}
absl::StatusOr<KeyValue> Cursor::Next() {
  return Get(MDB_NEXT, "mdb_cursor_get[next]", {});
}
absl::StatusOr<KeyValue> Cursor::Prev() {
  return Get(MDB_PREV, "mdb_cursor_get[prev]", {});
}
absl::StatusOr<KeyValue> Cursor::Seek(std::string_view key) {
  return Get(MDB_SET_RANGE, "mdb_cursor_get[seek]", key);
}
absl::StatusOr<KeyValue> Cursor::Current() {
  return Get(MDB_GET_CURRENT, "mdb_cursor_get[current]", {});
}

absl::Status Cursor::DeleteCurrent() {
  if (state_ == nullptr || state_->cursor == nullptr) {
    return absl::FailedPreconditionError(
        "LMDB cursor used after its transaction ended");
  }
  const int rc = mdb_cursor_del(state_->cursor, 0);
  if (rc != MDB_SUCCESS) {
    return TxnError(*state_->txn, rc, "mdb_cursor_del", state_->dbi.name());
  }
  return absl::OkStatus();
}

}  // namespace appliance::store
