// Big-endian integer keys. LMDB compares keys as byte strings (memcmp), so a
// big-endian encoding makes byte order equal numeric order and a cursor walks
// sequence numbers and timestamps in ascending order without MDB_INTEGERKEY.
#ifndef APPLIANCE_STORE_KEYS_H_
#define APPLIANCE_STORE_KEYS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace appliance::store {

inline constexpr size_t kU32KeySize = 4;
inline constexpr size_t kU64KeySize = 8;

// Appends the 4 / 8 big-endian bytes of `v` to `*out` (for composite keys).
inline void AppendU32BE(uint32_t v, std::string* out) {
  char b[kU32KeySize];
  for (size_t i = 0; i < kU32KeySize; ++i) {
    b[i] = static_cast<char>(v >> (8 * (kU32KeySize - 1 - i)));
  }
  out->append(b, sizeof(b));
}

inline void AppendU64BE(uint64_t v, std::string* out) {
  char b[kU64KeySize];
  for (size_t i = 0; i < kU64KeySize; ++i) {
    b[i] = static_cast<char>(v >> (8 * (kU64KeySize - 1 - i)));
  }
  out->append(b, sizeof(b));
}

inline std::string EncodeU32BE(uint32_t v) {
  std::string out;
  AppendU32BE(v, &out);
  return out;
}

inline std::string EncodeU64BE(uint64_t v) {
  std::string out;
  AppendU64BE(v, &out);
  return out;
}

// Reads a big-endian integer from the first 4 / 8 bytes at `p`. The caller
// guarantees the bytes exist (use for fixed-layout composite keys).
inline uint32_t LoadU32BE(const char* p) {
  uint32_t v = 0;
  for (size_t i = 0; i < kU32KeySize; ++i) {
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  }
  return v;
}

inline uint64_t LoadU64BE(const char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < kU64KeySize; ++i) {
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  }
  return v;
}

// Decodes exactly 4 / 8 big-endian bytes. INVALID_ARGUMENT on any other size
// (a caller reading stored keys may report that as DATA_LOSS).
inline absl::StatusOr<uint32_t> DecodeU32BE(std::string_view bytes) {
  if (bytes.size() != kU32KeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("big-endian uint32 must be 4 bytes, got ", bytes.size()));
  }
  return LoadU32BE(bytes.data());
}

inline absl::StatusOr<uint64_t> DecodeU64BE(std::string_view bytes) {
  if (bytes.size() != kU64KeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("big-endian uint64 must be 8 bytes, got ", bytes.size()));
  }
  return LoadU64BE(bytes.data());
}

}  // namespace appliance::store

#endif  // APPLIANCE_STORE_KEYS_H_
