#include "appliance/crypto/keys.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "appliance/base/file_io.h"
#include "appliance/base/status_macros.h"
#include "appliance/crypto/hash.h"
#include "appliance/crypto/random.h"

namespace appliance::crypto {
namespace {

constexpr size_t kMagicSize = 8;
constexpr size_t kVersionOffset = kMagicSize;
constexpr size_t kKekOffset = kVersionOffset + 4;
constexpr size_t kHmacKeyOffset = kKekOffset + kKeyFileKeySize;
constexpr size_t kChecksumOffset = kHmacKeyOffset + kKeyFileKeySize;
static_assert(kChecksumOffset + kSha256Size == kKeyFileSize);
static_assert(sizeof(kKeyFileMagic) == kMagicSize + 1);

constexpr char kWrapLabel[] = "hl7-appliance data key v1";
constexpr size_t kWrappedKeySize = kAes256KeySize + kGcmOverhead;

std::string_view Magic() { return std::string_view(kKeyFileMagic, kMagicSize); }

void PutBigEndian32(uint32_t v, std::string* out) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

uint32_t GetBigEndian32(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Overwrites a secret before its memory is released.
void Wipe(std::string* s) {
  volatile char* p = s->data();
  for (size_t i = 0; i < s->size(); ++i) p[i] = 0;
  s->clear();
}

// Wipes a string holding a secret when it goes out of scope.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string* s) : s_(s) {}
  ~WipeOnExit() { Wipe(s_); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  std::string* s_;  // Not owned; outlives this object.
};

// Prefixes `status`'s message with the key file's path.
absl::Status WithPath(const absl::Status& status, const std::string& path) {
  return absl::Status(status.code(),
                      absl::StrCat("key file ", path, ": ", status.message()));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error close() may return.
  int Close() {
    const int rc = close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Moves `from` to `to` unless `to` exists (ALREADY_EXISTS then). Uses
// renameat2(RENAME_NOREPLACE), or link()+unlink() on file systems without it.
absl::Status RenameNoReplace(const std::string& from, const std::string& to) {
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(),
                RENAME_NOREPLACE) == 0) {
    return absl::OkStatus();
  }
  if (errno == EEXIST) return absl::AlreadyExistsError(to);
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
    return ErrnoError(errno, "cannot rename key file to", to);
  }
  if (link(from.c_str(), to.c_str()) != 0) {
    if (errno == EEXIST) return absl::AlreadyExistsError(to);
    return ErrnoError(errno, "cannot link key file to", to);
  }
  if (unlink(from.c_str()) != 0) {
    return ErrnoError(errno, "cannot remove", from);
  }
  return absl::OkStatus();
}

// Unlinks a temporary file unless Release()d.
class UnlinkOnExit {
 public:
  explicit UnlinkOnExit(std::string path) : path_(std::move(path)) {}
  ~UnlinkOnExit() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  UnlinkOnExit(const UnlinkOnExit&) = delete;
  UnlinkOnExit& operator=(const UnlinkOnExit&) = delete;
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

// Writes a new key file at `path` atomically. ALREADY_EXISTS if a file
// appeared there meanwhile.
absl::Status CreateKeyFile(const std::string& path) {
  std::string contents = KeyFile::Generate().Serialize();
  WipeOnExit wipe_contents(&contents);
  const std::string tmp = absl::StrCat(path, ".tmp-", ToHex(RandomString(8)));
  Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
             0600));
  if (fd.get() < 0) return ErrnoError(errno, "cannot create", tmp);
  UnlinkOnExit unlink_tmp(tmp);
  // The umask can only clear bits; set exactly 0600 regardless.
  if (fchmod(fd.get(), 0600) != 0) {
    return ErrnoError(errno, "cannot chmod", tmp);
  }
  RETURN_IF_ERROR(WriteAll(fd.get(), contents, tmp));
  if (fsync(fd.get()) != 0) return ErrnoError(errno, "cannot fsync", tmp);
  if (fd.Close() != 0) return ErrnoError(errno, "cannot close", tmp);
  RETURN_IF_ERROR(RenameNoReplace(tmp, path));
  unlink_tmp.Release();
  return FsyncDir(DirName(path));
}

absl::StatusOr<KeyFile> LoadExisting(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat(
          "key file ", path,
          " does not exist (allow creation to generate new keys)"));
    }
    return ErrnoError(errno, "cannot open key file", path);
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoError(errno, "cannot stat", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("key file ", path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "key file %s has mode %04o: it must not be accessible by group or "
        "others; fix with: chmod 600 %s",
        path, st.st_mode & 07777, path));
  }
  // Read one byte more than a valid file holds, to detect trailing data.
  std::string contents(kKeyFileSize + 1, '\0');
  WipeOnExit wipe_contents(&contents);
  size_t total = 0;
  while (total < contents.size()) {
    const ssize_t n =
        read(fd.get(), contents.data() + total, contents.size() - total);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "cannot read", path);
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  absl::StatusOr<KeyFile> key_file =
      KeyFile::Parse(std::string_view(contents.data(), total));
  if (!key_file.ok()) return WithPath(key_file.status(), path);
  return key_file;
}

std::string WrapAssociatedData(uint32_t id) {
  std::string aad = kWrapLabel;
  PutBigEndian32(id, &aad);
  return aad;
}

}  // namespace

// ---------------------------------------------------------------- KeyFile

KeyFile::KeyFile(KeyFile&& other) noexcept
    : kek_(std::move(other.kek_)),
      audit_hmac_key_(std::move(other.audit_hmac_key_)),
      created_(other.created_) {
  Wipe(&other.kek_);
  Wipe(&other.audit_hmac_key_);
}

KeyFile& KeyFile::operator=(KeyFile&& other) noexcept {
  if (this != &other) {
    Wipe(&kek_);
    Wipe(&audit_hmac_key_);
    kek_ = std::move(other.kek_);
    audit_hmac_key_ = std::move(other.audit_hmac_key_);
    created_ = other.created_;
    Wipe(&other.kek_);
    Wipe(&other.audit_hmac_key_);
  }
  return *this;
}

KeyFile::~KeyFile() {
  Wipe(&kek_);
  Wipe(&audit_hmac_key_);
}

KeyFile KeyFile::Generate() {
  return KeyFile(RandomString(kKeyFileKeySize), RandomString(kKeyFileKeySize));
}

absl::StatusOr<KeyFile> KeyFile::FromKeys(std::string_view kek,
                                          std::string_view audit_hmac_key) {
  if (kek.size() != kKeyFileKeySize ||
      audit_hmac_key.size() != kKeyFileKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("keys must be ", kKeyFileKeySize, " bytes, got ",
                     kek.size(), " and ", audit_hmac_key.size()));
  }
  return KeyFile(std::string(kek), std::string(audit_hmac_key));
}

std::string KeyFile::Serialize() const {
  std::string out;
  out.reserve(kKeyFileSize);
  out.append(Magic().data(), Magic().size());
  PutBigEndian32(kKeyFileVersion, &out);
  out.append(kek_);
  out.append(audit_hmac_key_);
  const Sha256Digest checksum = Sha256(out);
  out.append(AsBytes(checksum).data(), checksum.size());
  return out;
}

absl::StatusOr<KeyFile> KeyFile::Parse(std::string_view contents) {
  if (contents.empty()) return absl::DataLossError("empty key file");
  const std::string_view magic =
      contents.substr(0, std::min(contents.size(), kMagicSize));
  if (magic != Magic().substr(0, magic.size())) {
    return absl::InvalidArgumentError("not an appliance key file (bad magic)");
  }
  if (contents.size() < kKekOffset) {
    return absl::DataLossError(absl::StrCat("truncated: ", contents.size(),
                                            " of ", kKeyFileSize, " bytes"));
  }
  const uint32_t version = GetBigEndian32(contents.substr(kVersionOffset, 4));
  if (version != kKeyFileVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported key file version ", version, " (expected ",
                     kKeyFileVersion, ")"));
  }
  if (contents.size() != kKeyFileSize) {
    return absl::DataLossError(
        absl::StrCat(contents.size() < kKeyFileSize ? "truncated: " : "size ",
                     contents.size(), " bytes, expected ", kKeyFileSize));
  }
  const Sha256Digest checksum = Sha256(contents.substr(0, kChecksumOffset));
  if (!ConstantTimeEquals(AsBytes(checksum),
                          contents.substr(kChecksumOffset, kSha256Size))) {
    return absl::DataLossError("checksum mismatch (corrupted key file)");
  }
  return KeyFile(std::string(contents.substr(kKekOffset, kKeyFileKeySize)),
                 std::string(contents.substr(kHmacKeyOffset, kKeyFileKeySize)));
}

absl::StatusOr<KeyFile> KeyFile::Load(const std::string& path,
                                      KeyFileOptions options) {
  absl::StatusOr<KeyFile> existing = LoadExisting(path);
  if (!options.create_if_missing || existing.ok() ||
      !absl::IsNotFound(existing.status())) {
    return existing;
  }
  const absl::Status created = CreateKeyFile(path);
  // ALREADY_EXISTS: another process created it first; use theirs.
  if (!created.ok() && !absl::IsAlreadyExists(created)) return created;
  // Read back what is on disk, so the caller gets exactly what a restart will.
  ASSIGN_OR_RETURN(KeyFile key_file, LoadExisting(path));
  key_file.created_ = created.ok();
  return key_file;
}

// ------------------------------------------------------------ DataKeyRing

absl::StatusOr<std::unique_ptr<DataKeyRing>> DataKeyRing::Create(
    std::string_view kek) {
  if (kek.size() != kAes256KeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("key-encryption key must be ", kAes256KeySize,
                     " bytes, got ", kek.size()));
  }
  ASSIGN_OR_RETURN(Aes256Gcm cipher, Aes256Gcm::Create(kek));
  return std::unique_ptr<DataKeyRing>(new DataKeyRing(std::move(cipher)));
}

absl::StatusOr<DataKeyRing::Entry> DataKeyRing::Unwrap(
    const WrappedKey& key) const {
  if (key.id == 0) {
    return absl::InvalidArgumentError("data key id 0 is reserved");
  }
  if (key.wrapped.size() != kWrappedKeySize) {
    return absl::DataLossError(
        absl::StrCat("wrapped data key ", key.id, " has ", key.wrapped.size(),
                     " bytes, expected ", kWrappedKeySize));
  }
  absl::StatusOr<std::string> raw =
      kek_.Open(key.wrapped, WrapAssociatedData(key.id));
  if (!raw.ok()) {
    return absl::DataLossError(
        absl::StrCat("cannot unwrap data key ", key.id,
                     ": wrong key-encryption key or corrupted wrapped key"));
  }
  WipeOnExit wipe_raw(&*raw);
  if (raw->size() != kAes256KeySize) {
    return absl::DataLossError(
        absl::StrCat("data key ", key.id, " has the wrong size"));
  }
  ASSIGN_OR_RETURN(Aes256Gcm cipher, Aes256Gcm::Create(*raw));
  Entry entry;
  entry.wrapped = key.wrapped;
  entry.cipher = std::make_shared<const Aes256Gcm>(std::move(cipher));
  entry.key_digest = std::string(AsBytes(Sha256(*raw)));
  return entry;
}

absl::StatusOr<WrappedKey> DataKeyRing::NewKey() const {
  uint32_t last = 0;
  {
    std::shared_lock lock(mu_);
    if (!keys_.empty()) last = keys_.rbegin()->first;
  }
  if (last == std::numeric_limits<uint32_t>::max()) {
    return absl::ResourceExhaustedError("data key ids exhausted");
  }
  std::string raw = RandomString(kAes256KeySize);
  WipeOnExit wipe_raw(&raw);
  WrappedKey key;
  key.id = last + 1;
  ASSIGN_OR_RETURN(key.wrapped, kek_.Seal(raw, WrapAssociatedData(key.id)));
  return key;
}

absl::StatusOr<WrappedKey> DataKeyRing::Rotate() {
  // Held throughout so concurrent rotations get distinct ids. Rotation is
  // rare and the work under the lock is two small AES operations.
  std::unique_lock lock(mu_);
  const uint32_t last = keys_.empty() ? 0 : keys_.rbegin()->first;
  if (last == std::numeric_limits<uint32_t>::max()) {
    return absl::ResourceExhaustedError("data key ids exhausted");
  }
  std::string raw = RandomString(kAes256KeySize);
  WipeOnExit wipe_raw(&raw);
  WrappedKey key;
  key.id = last + 1;
  ASSIGN_OR_RETURN(key.wrapped, kek_.Seal(raw, WrapAssociatedData(key.id)));
  ASSIGN_OR_RETURN(Entry entry, Unwrap(key));
  keys_.emplace(key.id, std::move(entry));
  return key;
}

absl::Status DataKeyRing::Import(const std::vector<WrappedKey>& keys) {
  // Unwrap everything first (no lock needed: kek_ is immutable), so a bad key
  // leaves the ring unchanged.
  std::map<uint32_t, Entry> batch;
  for (const WrappedKey& key : keys) {
    ASSIGN_OR_RETURN(Entry entry, Unwrap(key));
    // try_emplace leaves `entry` untouched when the id is already there.
    auto [it, inserted] = batch.try_emplace(key.id, std::move(entry));
    if (!inserted && it->second.key_digest != entry.key_digest) {
      return absl::AlreadyExistsError(absl::StrCat(
          "data key ", key.id, " given twice with different keys"));
    }
  }
  std::unique_lock lock(mu_);
  for (const auto& [id, entry] : batch) {
    auto it = keys_.find(id);
    if (it != keys_.end() && it->second.key_digest != entry.key_digest) {
      return absl::AlreadyExistsError(
          absl::StrCat("data key ", id, " already present with another key"));
    }
  }
  // Existing entries win: the same key under another wrapping is a no-op.
  keys_.merge(batch);
  return absl::OkStatus();
}

std::vector<WrappedKey> DataKeyRing::Export() const {
  std::shared_lock lock(mu_);
  std::vector<WrappedKey> out;
  out.reserve(keys_.size());
  for (const auto& [id, entry] : keys_) out.push_back({id, entry.wrapped});
  return out;
}

uint32_t DataKeyRing::current_key_id() const {
  std::shared_lock lock(mu_);
  return keys_.empty() ? 0 : keys_.rbegin()->first;
}

size_t DataKeyRing::size() const {
  std::shared_lock lock(mu_);
  return keys_.size();
}

absl::Status DataKeyRing::CurrentCipher(
    uint32_t* id, std::shared_ptr<const Aes256Gcm>* cipher) const {
  std::shared_lock lock(mu_);
  if (keys_.empty()) {
    return absl::FailedPreconditionError(
        "no data key: call Rotate() or Import() first");
  }
  *id = keys_.rbegin()->first;
  *cipher = keys_.rbegin()->second.cipher;
  return absl::OkStatus();
}

absl::StatusOr<std::string> DataKeyRing::Seal(
    std::string_view plaintext, std::string_view associated_data) const {
  uint32_t id = 0;
  std::shared_ptr<const Aes256Gcm> cipher;
  RETURN_IF_ERROR(CurrentCipher(&id, &cipher));
  // Encrypt outside the lock; `cipher` keeps the key alive.
  ASSIGN_OR_RETURN(std::string sealed,
                   cipher->Seal(plaintext, associated_data));
  std::string blob;
  blob.reserve(kKeyIdSize + sealed.size());
  PutBigEndian32(id, &blob);
  blob.append(sealed);
  return blob;
}

absl::StatusOr<uint32_t> DataKeyRing::KeyIdOf(std::string_view blob) {
  if (blob.size() < kSealOverhead) {
    return absl::DataLossError(absl::StrCat(
        "sealed blob too short: ", blob.size(), " bytes < ", kSealOverhead));
  }
  return GetBigEndian32(blob);
}

absl::StatusOr<std::string> DataKeyRing::Open(
    std::string_view blob, std::string_view associated_data) const {
  ASSIGN_OR_RETURN(const uint32_t id, KeyIdOf(blob));
  std::shared_ptr<const Aes256Gcm> cipher;
  {
    std::shared_lock lock(mu_);
    auto it = keys_.find(id);
    if (it == keys_.end()) {
      return absl::NotFoundError(absl::StrCat("unknown data key id ", id));
    }
    cipher = it->second.cipher;
  }
  return cipher->Open(blob.substr(kKeyIdSize), associated_data);
}

}  // namespace appliance::crypto
