// AES-256-GCM authenticated encryption with random 96-bit nonces.
//
// Sealed format: nonce (12 bytes) || ciphertext || tag (16 bytes). The
// associated data is authenticated but not stored; the caller passes the same
// bytes to Open() (for records: the record's key, so a ciphertext moved to
// another key fails to open).
#ifndef APPLIANCE_CRYPTO_AEAD_H_
#define APPLIANCE_CRYPTO_AEAD_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace appliance::crypto {

inline constexpr size_t kAes256KeySize = 32;
inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;
inline constexpr size_t kGcmOverhead = kGcmNonceSize + kGcmTagSize;

class Aes256Gcm {
 public:
  // `key` must be exactly 32 bytes; INVALID_ARGUMENT otherwise.
  static absl::StatusOr<Aes256Gcm> Create(std::string_view key);

  // Encrypts `plaintext` under a fresh random nonce.
  absl::StatusOr<std::string> Seal(std::string_view plaintext,
                                   std::string_view associated_data) const;

  // Same, with the caller's nonce (12 bytes). A nonce must never be reused with
  // one key; outside known-answer tests use Seal().
  absl::StatusOr<std::string> SealWithNonce(
      std::string_view nonce, std::string_view plaintext,
      std::string_view associated_data) const;

  // Decrypts and authenticates. Any change to the nonce, ciphertext, tag or
  // associated data yields DATA_LOSS ("authentication failed").
  absl::StatusOr<std::string> Open(std::string_view sealed,
                                   std::string_view associated_data) const;

 private:
  explicit Aes256Gcm(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace appliance::crypto

#endif  // APPLIANCE_CRYPTO_AEAD_H_
