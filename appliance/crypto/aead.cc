#include "appliance/crypto/aead.h"

#include <openssl/evp.h>

#include <climits>
#include <memory>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/crypto/random.h"

namespace appliance::crypto {
namespace {

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

const uint8_t* U8(std::string_view s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

absl::Status CheckLength(const char* what, size_t len) {
  // EVP_*Update takes int lengths.
  if (len > static_cast<size_t>(INT_MAX) - 64) {
    return absl::InvalidArgumentError(absl::StrCat(what, " too large: ", len));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Aes256Gcm> Aes256Gcm::Create(std::string_view key) {
  if (key.size() != kAes256KeySize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AES-256-GCM key must be ", kAes256KeySize, " bytes, got ", key.size()));
  }
  return Aes256Gcm(std::string(key));
}

absl::StatusOr<std::string> Aes256Gcm::Seal(
    std::string_view plaintext, std::string_view associated_data) const {
  uint8_t nonce[kGcmNonceSize];
  RETURN_IF_ERROR(RandomBytes(nonce, sizeof(nonce)));
  return SealWithNonce(
      std::string_view(reinterpret_cast<const char*>(nonce), sizeof(nonce)),
      plaintext, associated_data);
}

absl::StatusOr<std::string> Aes256Gcm::SealWithNonce(
    std::string_view nonce, std::string_view plaintext,
    std::string_view associated_data) const {
  if (nonce.size() != kGcmNonceSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("GCM nonce must be 12 bytes, got ", nonce.size()));
  }
  RETURN_IF_ERROR(CheckLength("plaintext", plaintext.size()));
  RETURN_IF_ERROR(CheckLength("associated data", associated_data.size()));

  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return absl::ResourceExhaustedError("EVP_CIPHER_CTX_new failed");
  std::string out(kGcmNonceSize + plaintext.size() + kGcmTagSize, '\0');
  out.replace(0, kGcmNonceSize, nonce);
  auto* body = reinterpret_cast<uint8_t*>(out.data()) + kGcmNonceSize;

  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kGcmNonceSize,
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, U8(key_), U8(nonce)) !=
          1) {
    return absl::InternalError("AES-GCM encrypt init failed");
  }
  if (!associated_data.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U8(associated_data),
                        static_cast<int>(associated_data.size())) != 1) {
    return absl::InternalError("AES-GCM associated data failed");
  }
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), body, &len, U8(plaintext),
                          static_cast<int>(plaintext.size())) != 1) {
      return absl::InternalError("AES-GCM encrypt failed");
    }
    written = len;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), body + written, &len) != 1) {
    return absl::InternalError("AES-GCM encrypt final failed");
  }
  written += len;
  if (static_cast<size_t>(written) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagSize,
                          body + plaintext.size()) != 1) {
    return absl::InternalError("AES-GCM tag failed");
  }
  return out;
}

absl::StatusOr<std::string> Aes256Gcm::Open(
    std::string_view sealed, std::string_view associated_data) const {
  if (sealed.size() < kGcmOverhead) {
    return absl::DataLossError(absl::StrCat(
        "sealed data too short: ", sealed.size(), " bytes < ", kGcmOverhead));
  }
  RETURN_IF_ERROR(CheckLength("sealed data", sealed.size()));
  RETURN_IF_ERROR(CheckLength("associated data", associated_data.size()));
  const std::string_view nonce = sealed.substr(0, kGcmNonceSize);
  const std::string_view ciphertext =
      sealed.substr(kGcmNonceSize, sealed.size() - kGcmOverhead);
  // GCM_SET_TAG takes a non-const pointer in both libraries' signatures.
  std::string tag(sealed.substr(sealed.size() - kGcmTagSize));

  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return absl::ResourceExhaustedError("EVP_CIPHER_CTX_new failed");
  std::string out(ciphertext.size(), '\0');
  auto* dst = reinterpret_cast<uint8_t*>(out.data());
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kGcmNonceSize,
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, U8(key_), U8(nonce)) !=
          1) {
    return absl::InternalError("AES-GCM decrypt init failed");
  }
  if (!associated_data.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U8(associated_data),
                        static_cast<int>(associated_data.size())) != 1) {
    return absl::InternalError("AES-GCM associated data failed");
  }
  int written = 0;
  if (!ciphertext.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), dst, &len, U8(ciphertext),
                          static_cast<int>(ciphertext.size())) != 1) {
      return absl::InternalError("AES-GCM decrypt failed");
    }
    written = len;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagSize,
                          tag.data()) != 1) {
    return absl::InternalError("AES-GCM set tag failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), dst + written, &len) != 1) {
    return absl::DataLossError("AES-GCM authentication failed");
  }
  return out;
}

}  // namespace appliance::crypto
