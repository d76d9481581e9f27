#include "appliance/crypto/hash.h"

// SHA-256 uses the low-level SHA256_* functions (deprecated in OpenSSL 3,
// present in BoringSSL): OpenSSL 3's EVP_Digest()/EVP_DigestInit_ex() with
// EVP_sha256() look the algorithm up again on every call, which cost more
// than hashing a short record (the store hashes two audit records, the dedupe
// key and the payload per message on the ACK path).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace appliance::crypto {
namespace {

// Failures of these calls mean memory exhaustion or a broken library: crash
// loudly rather than return a wrong digest.
void CheckOk(int rc, const char* what) {
  if (rc != 1) {
    fprintf(stderr, "FATAL: libcrypto %s failed\n", what);
    abort();
  }
}

}  // namespace

Sha256Digest Sha256(std::string_view data) {
  Sha256Digest out;
  SHA256_CTX ctx;
  CheckOk(SHA256_Init(&ctx), "SHA256_Init");
  CheckOk(SHA256_Update(&ctx, data.data(), data.size()), "SHA256_Update");
  CheckOk(SHA256_Final(out.data(), &ctx), "SHA256_Final");
  return out;
}

Sha1Digest Sha1(std::string_view data) {
  Sha1Digest out;
  unsigned int len = 0;
  CheckOk(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha1(),
                     nullptr),
          "EVP_Digest");
  return out;
}

Sha256Digest HmacSha256(std::string_view key, std::string_view data) {
  Sha256Digest out;
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const uint8_t*>(data.data()), data.size(),
           out.data(), &len) == nullptr ||
      len != out.size()) {
    CheckOk(0, "HMAC");
  }
  return out;
}

struct Sha256Hasher::State {
  SHA256_CTX ctx;
};

Sha256Hasher::Sha256Hasher() : state_(new State) { Reset(); }

Sha256Hasher::~Sha256Hasher() { delete state_; }

void Sha256Hasher::Reset() { CheckOk(SHA256_Init(&state_->ctx), "SHA256_Init"); }

void Sha256Hasher::Update(std::string_view data) {
  CheckOk(SHA256_Update(&state_->ctx, data.data(), data.size()), "SHA256_Update");
}

Sha256Digest Sha256Hasher::Finish() {
  Sha256Digest out;
  CheckOk(SHA256_Final(out.data(), &state_->ctx), "SHA256_Final");
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<uint8_t>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 0xf];
  }
  return out;
}

std::string ToHex(const Sha256Digest& digest) { return ToHex(AsBytes(digest)); }

std::string ToHex(const Sha1Digest& digest) {
  return ToHex(std::string_view(reinterpret_cast<const char*>(digest.data()),
                                digest.size()));
}

absl::StatusOr<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("hex string has odd length ", hex.size()));
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.resize(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "not a hex digit at offset ", hi < 0 ? 2 * i : 2 * i + 1));
    }
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

}  // namespace appliance::crypto
