#include "appliance/fhir/uuid.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "appliance/crypto/hash.h"

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

std::string FormatUuid(const Uuid& u) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < u.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[u[i] >> 4]);
    out.push_back(kHex[u[i] & 0xf]);
  }
  return out;
}

Uuid Uuid5(const Uuid& name_space, std::string_view name) {
  std::string input;
  input.reserve(name_space.size() + name.size());
  input.append(reinterpret_cast<const char*>(name_space.data()),
               name_space.size());
  input.append(name.data(), name.size());
  const crypto::Sha1Digest digest = crypto::Sha1(input);
  Uuid out;
  memcpy(out.data(), digest.data(), out.size());
  out[6] = static_cast<uint8_t>((out[6] & 0x0f) | 0x50);  // Version 5.
  out[8] = static_cast<uint8_t>((out[8] & 0x3f) | 0x80);  // RFC 4122 variant.
  return out;
}

const Uuid kFhirIdNamespace =
    Uuid5(kNamespaceUrl, "urn:hl7-appliance:fhir-resource-id");

}  // namespace appliance::fhir
