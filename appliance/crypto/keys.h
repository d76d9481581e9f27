// The appliance's key file and envelope encryption of payloads at rest.
//
// Key hierarchy:
//
//   key file (0600, outside the data directory)
//     |- KEK: key-encryption key, 32 bytes
//     '- audit HMAC key, 32 bytes (authenticates the audit chain head)
//   data keys (32 bytes each, id 1, 2, ...), stored by the caller only in
//   wrapped form: AES-256-GCM under the KEK
//     '- payload blobs: AES-256-GCM under one data key
//
// Rotating data keys is cheap (Rotate(); old keys stay for decryption).
//
// Key file format, version 1 (binary, 108 bytes, all integers big-endian):
//
//   offset  size  field
//        0     8  magic "HL7AKEY\n" (48 4C 37 41 4B 45 59 0A)
//        8     4  version = 1
//       12    32  KEK
//       44    32  audit HMAC key
//       76    32  SHA-256 of bytes [0, 76)
//
// The checksum detects truncation and corruption (it is not a MAC: whoever can
// write the file can replace the keys anyway). The file must be a regular file
// with no group or other permission bits; it is created with mode 0600.
#ifndef APPLIANCE_CRYPTO_KEYS_H_
#define APPLIANCE_CRYPTO_KEYS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "appliance/crypto/aead.h"

namespace appliance::crypto {

inline constexpr size_t kKeyFileKeySize = 32;
inline constexpr char kKeyFileMagic[] = "HL7AKEY\n";  // 8 bytes, no NUL.
inline constexpr uint32_t kKeyFileVersion = 1;
inline constexpr size_t kKeyFileSize = 8 + 4 + 32 + 32 + 32;

struct KeyFileOptions {
  // Create the file with fresh random keys if it does not exist.
  bool create_if_missing = false;
};

// The two long-lived secrets. Move-only; the key bytes are wiped when the
// object is destroyed.
class KeyFile {
 public:
  // Reads and validates the key file at `path`. Errors:
  //  NOT_FOUND            no file and !create_if_missing;
  //  FAILED_PRECONDITION  not a regular file, or group/other permission bits
  //                       set (the message says how to fix it);
  //  INVALID_ARGUMENT     not a key file (bad magic) or unsupported version;
  //  DATA_LOSS            truncated, trailing bytes or checksum mismatch;
  //  other codes from the file system (errno mapped).
  // With create_if_missing, a missing file is created atomically: written to
  // a temporary file with mode 0600 in the same directory, fsynced, renamed
  // into place without replacing an existing file, and the directory fsynced.
  // If another process creates it first, that file is loaded instead. The
  // parent directory must exist.
  static absl::StatusOr<KeyFile> Load(const std::string& path,
                                      KeyFileOptions options = {});

  // Fresh random keys (not written anywhere).
  static KeyFile Generate();
  // From raw keys; each must be 32 bytes (INVALID_ARGUMENT otherwise).
  static absl::StatusOr<KeyFile> FromKeys(std::string_view kek,
                                          std::string_view audit_hmac_key);
  // Parses / produces the file format above (same errors as Load()).
  static absl::StatusOr<KeyFile> Parse(std::string_view contents);
  std::string Serialize() const;

  KeyFile(KeyFile&& other) noexcept;
  KeyFile& operator=(KeyFile&& other) noexcept;
  KeyFile(const KeyFile&) = delete;
  KeyFile& operator=(const KeyFile&) = delete;
  ~KeyFile();

  std::string_view kek() const { return kek_; }
  std::string_view audit_hmac_key() const { return audit_hmac_key_; }
  // True when Load() created the file (worth a LOG(WARNING): a new key file
  // next to an existing store means the old data can no longer be read).
  bool created() const { return created_; }

 private:
  KeyFile(std::string kek, std::string audit_hmac_key)
      : kek_(std::move(kek)), audit_hmac_key_(std::move(audit_hmac_key)) {}

  std::string kek_;
  std::string audit_hmac_key_;
  bool created_ = false;
};

// A data key in the form the store persists.
struct WrappedKey {
  uint32_t id = 0;
  // AES-256-GCM (aead.h format, 60 bytes) of the 32-byte data key under the
  // KEK, associated data "hl7-appliance data key v1" || big-endian id, so a
  // wrapped key cannot be moved to another id.
  std::string wrapped;

  bool operator==(const WrappedKey& o) const {
    return id == o.id && wrapped == o.wrapped;
  }
};

inline constexpr size_t kKeyIdSize = 4;
// Bytes Seal() adds to a plaintext: key id, nonce, tag.
inline constexpr size_t kSealOverhead = kKeyIdSize + kGcmOverhead;

// Data keys in memory, unwrapped once, used for envelope encryption.
//
// Key ids start at 1 and grow by one per new key; the key with the highest id
// is current and seals new data, the others only open old data. Nothing here
// touches disk: the caller persists the WrappedKey of every new key (in the
// same store the blobs live in) and passes them all to Import() on start.
//
// Thread-safe: Seal()/Open() may run concurrently with each other and with
// Rotate()/Import().
class DataKeyRing {
 public:
  // A ring with no keys under `kek` (32 bytes, INVALID_ARGUMENT otherwise).
  // Seal() fails until a key is added (Rotate() or Import()).
  static absl::StatusOr<std::unique_ptr<DataKeyRing>> Create(
      std::string_view kek);

  DataKeyRing(const DataKeyRing&) = delete;
  DataKeyRing& operator=(const DataKeyRing&) = delete;

  // Creates a random data key with the next id (current + 1, or 1), adds it,
  // makes it current and returns it wrapped. The caller must persist the
  // returned key before relying on data sealed with it; to persist first, use
  // NewKey() + Add(). RESOURCE_EXHAUSTED when ids are exhausted.
  absl::StatusOr<WrappedKey> Rotate();

  // Creates a wrapped random key with the next id without adding it.
  absl::StatusOr<WrappedKey> NewKey() const;

  // Unwraps and adds keys (e.g. loaded from the store at start). The highest
  // id among all keys becomes current. Errors, with nothing added on error:
  //  INVALID_ARGUMENT  id 0;
  //  DATA_LOSS         cannot unwrap (wrong KEK, or corrupted);
  //  ALREADY_EXISTS    an id already present with a different key (the same
  //                    key again is accepted).
  absl::Status Import(const std::vector<WrappedKey>& keys);
  absl::Status Add(const WrappedKey& key) { return Import({key}); }

  // All keys, wrapped, by ascending id.
  std::vector<WrappedKey> Export() const;

  // Id of the current key; 0 when the ring is empty.
  uint32_t current_key_id() const;
  size_t size() const;

  // Encrypts under the current key. Blob: big-endian key id (4 bytes) ||
  // Aes256Gcm sealed data (nonce, ciphertext, tag). `associated_data` (e.g.
  // the record's key) is authenticated, not stored: pass the same to Open().
  // FAILED_PRECONDITION when the ring is empty.
  absl::StatusOr<std::string> Seal(std::string_view plaintext,
                                   std::string_view associated_data) const;

  // Decrypts a Seal() blob with the key it names. NOT_FOUND for an unknown
  // key id; DATA_LOSS for a blob that is too short or fails authentication
  // (tampered, wrong associated data).
  absl::StatusOr<std::string> Open(std::string_view blob,
                                   std::string_view associated_data) const;

  // The key id a blob was sealed with (DATA_LOSS if too short), e.g. to find
  // records still under an old key.
  static absl::StatusOr<uint32_t> KeyIdOf(std::string_view blob);

 private:
  struct Entry {
    std::string wrapped;
    std::shared_ptr<const Aes256Gcm> cipher;
    std::string key_digest;  // SHA-256 of the data key, to compare imports.
  };

  explicit DataKeyRing(Aes256Gcm kek) : kek_(std::move(kek)) {}

  absl::StatusOr<Entry> Unwrap(const WrappedKey& key) const;
  // The current key's id and cipher; FAILED_PRECONDITION when empty.
  absl::Status CurrentCipher(uint32_t* id,
                             std::shared_ptr<const Aes256Gcm>* cipher) const;

  const Aes256Gcm kek_;
  // std::shared_mutex rather than absl::Mutex: Debian's libabsl is not built
  // with ThreadSanitizer, which then misses absl::Mutex's happens-before
  // edges and reports false races under --config=tsan; pthread rwlocks are
  // intercepted.
  mutable std::shared_mutex mu_;
  std::map<uint32_t, Entry> keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace appliance::crypto

#endif  // APPLIANCE_CRYPTO_KEYS_H_
