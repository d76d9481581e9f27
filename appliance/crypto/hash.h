// SHA-256 (one-shot and streaming), HMAC-SHA256, SHA-1 (for name-based UUIDs
// only, never for integrity) and constant-time comparison.
#ifndef APPLIANCE_CRYPTO_HASH_H_
#define APPLIANCE_CRYPTO_HASH_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace appliance::crypto {

inline constexpr size_t kSha256Size = 32;
using Sha256Digest = std::array<uint8_t, kSha256Size>;

// SHA-256 of `data`.
Sha256Digest Sha256(std::string_view data);

inline constexpr size_t kSha1Size = 20;
using Sha1Digest = std::array<uint8_t, kSha1Size>;

// SHA-1 of `data`. Only for identifiers that standards define over SHA-1
// (RFC 4122 version-5 UUIDs); SHA-1 is not collision resistant, so never use
// it for integrity or authentication.
Sha1Digest Sha1(std::string_view data);

// HMAC-SHA256 of `data` under `key` (any length; RFC 2104).
Sha256Digest HmacSha256(std::string_view key, std::string_view data);

// Incremental SHA-256. Not copyable. Update() may be called any number of
// times before Finish(); after Finish() the object must not be used again
// except through Reset().
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(std::string_view data);
  Sha256Digest Finish();
  void Reset();

 private:
  struct State;
  State* state_;  // Owned.
};

// Compares `a` and `b` in time that depends only on their lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Lower-case hex of `bytes`.
std::string ToHex(std::string_view bytes);
std::string ToHex(const Sha256Digest& digest);
std::string ToHex(const Sha1Digest& digest);
// Parses hex (either case). Errors on odd length or a non-hex character.
absl::StatusOr<std::string> FromHex(std::string_view hex);

// The digest's bytes as a string (for keys and concatenation).
inline std::string_view AsBytes(const Sha256Digest& d) {
  return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace appliance::crypto

#endif  // APPLIANCE_CRYPTO_HASH_H_
