#include "appliance/fhir/uuid.h"

#include <array>
#include <cstring>

// SHA1_Init/Update/Final are deprecated in OpenSSL 3 (and current in
// BoringSSL), but they are the only cheap SHA-1 both libraries offer: the
// one-shot SHA1() of OpenSSL 3 goes through EVP_Q_digest, which fetches the
// algorithm from the provider on every call (~900 ns against ~110 ns here for
// a 2-block name), and the mapper hashes ~20 names per message. Name-based
// UUIDs are the only use (see appliance/crypto/hash.h on SHA-1).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "appliance/base/short_copy.h"

namespace appliance::fhir {

absl::StatusOr<Uuid> ParseUuid(std::string_view text) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' ||
      text[18] != '-' || text[23] != '-') {
    return absl::InvalidArgumentError("UUID is not in 8-4-4-4-12 form");
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Uuid out{};
  size_t n = 0;
  int hi = -1;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    const int v = nibble(text[i]);
    if (v < 0) return absl::InvalidArgumentError("UUID has a non-hex digit");
    if (hi < 0) {
      hi = v;
    } else {
      out[n++] = static_cast<uint8_t>(hi << 4 | v);
      hi = -1;
    }
  }
  return out;
}

namespace {

// The two hex digits of every byte value: one table load and one 2-byte
// store per byte (the mapper formats ~20 ids per message).
constexpr auto kHexPairs = [] {
  constexpr char kHex[] = "0123456789abcdef";
  std::array<char, 512> t{};
  for (int b = 0; b < 256; ++b) {
    t[2 * b] = kHex[b >> 4];
    t[2 * b + 1] = kHex[b & 0xf];
  }
  return t;
}();

// Writes the hex digits of u[begin, end) to `out`; returns the end.
char* HexTo(const Uuid& u, size_t begin, size_t end, char* out) {
  for (size_t i = begin; i < end; ++i) {
    memcpy(out, &kHexPairs[2 * u[i]], 2);
    out += 2;
  }
  return out;
}

}  // namespace

void FormatUuidTo(const Uuid& u, char* out) {
  // 8-4-4-4-12 digits.
  out = HexTo(u, 0, 4, out);
  *out++ = '-';
  out = HexTo(u, 4, 6, out);
  *out++ = '-';
  out = HexTo(u, 6, 8, out);
  *out++ = '-';
  out = HexTo(u, 8, 10, out);
  *out++ = '-';
  HexTo(u, 10, 16, out);
}

std::string FormatUuid(const Uuid& u) {
  char text[kUuidTextSize];
  FormatUuidTo(u, text);
  return std::string(text, sizeof(text));
}

Uuid Uuid5(const Uuid& name_space,
           std::initializer_list<std::string_view> name_parts) {
  return Uuid5(name_space, name_parts.begin(), name_parts.size());
}

Uuid Uuid5(const Uuid& name_space, const std::string_view* name_parts,
           size_t count) {
  SHA_CTX sha;
  SHA1_Init(&sha);
  SHA1_Update(&sha, name_space.data(), name_space.size());
  // One SHA1_Update for the whole name when it fits the buffer: names are
  // many short parts ("Observation", "|", a code...), and each call costs
  // more than copying its part.
  char buffer[256];
  size_t size = 0;
  for (size_t i = 0; i < count; ++i) size += name_parts[i].size();
  if (size <= sizeof(buffer)) {
    char* p = buffer;
    for (size_t i = 0; i < count; ++i) {
      p = CopyShort(p, name_parts[i].data(), name_parts[i].size());
    }
    SHA1_Update(&sha, buffer, size);
  } else {
    for (size_t i = 0; i < count; ++i) {
      SHA1_Update(&sha, name_parts[i].data(), name_parts[i].size());
    }
  }
  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA1_Final(digest, &sha);
  Uuid out;
  memcpy(out.data(), digest, out.size());
  out[6] = static_cast<uint8_t>((out[6] & 0x0f) | 0x50);  // Version 5.
  out[8] = static_cast<uint8_t>((out[8] & 0x3f) | 0x80);  // RFC 4122 variant.
  return out;
}

Uuid Uuid5(const Uuid& name_space, std::string_view name) {
  return Uuid5(name_space, {name});
}

const Uuid kFhirIdNamespace =
    Uuid5(kNamespaceUrl, "urn:hl7-appliance:fhir-resource-id");

}  // namespace appliance::fhir
