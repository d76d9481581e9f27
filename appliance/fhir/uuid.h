// RFC 4122 name-based UUIDs (version 5, SHA-1) for deterministic FHIR ids.
#ifndef APPLIANCE_FHIR_UUID_H_
#define APPLIANCE_FHIR_UUID_H_

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace appliance::fhir {

using Uuid = std::array<uint8_t, 16>;

// Parses the canonical 8-4-4-4-12 hex form (either case).
absl::StatusOr<Uuid> ParseUuid(std::string_view text);
// Canonical lower-case 8-4-4-4-12 form.
std::string FormatUuid(const Uuid& uuid);
inline constexpr size_t kUuidTextSize = 36;
// The same into out[0, kUuidTextSize) (no terminating NUL).
void FormatUuidTo(const Uuid& uuid, char* out);

// The version-5 UUID of `name` in `name_space` (RFC 4122 section 4.3): the
// first 16 bytes of SHA-1(namespace bytes || name) with version and variant
// bits set. The same inputs always give the same UUID.
Uuid Uuid5(const Uuid& name_space, std::string_view name);
// The same with the name given as consecutive parts (no concatenation).
Uuid Uuid5(const Uuid& name_space,
           std::initializer_list<std::string_view> name_parts);
Uuid Uuid5(const Uuid& name_space, const std::string_view* name_parts,
           size_t count);

// RFC 4122 appendix C namespaces.
inline constexpr Uuid kNamespaceDns = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad,
                                       0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0,
                                       0x4f, 0xd4, 0x30, 0xc8};
inline constexpr Uuid kNamespaceUrl = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad,
                                       0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0,
                                       0x4f, 0xd4, 0x30, 0xc8};

// The appliance's fixed namespace for FHIR resource ids:
// Uuid5(kNamespaceUrl, "urn:hl7-appliance:fhir-resource-id")
// = 72180bbb-2688-5f9f-8d5f-f052afffcf91 (checked by uuid_test). Never change
// it: every id the appliance ever wrote to an EHR derives from it.
extern const Uuid kFhirIdNamespace;

}  // namespace appliance::fhir

#endif  // APPLIANCE_FHIR_UUID_H_
