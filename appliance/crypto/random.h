// Cryptographically secure random bytes from libcrypto's CSPRNG.
#ifndef APPLIANCE_CRYPTO_RANDOM_H_
#define APPLIANCE_CRYPTO_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace appliance::crypto {

// Fills `out[0, len)` with random bytes. Returns INTERNAL if the CSPRNG fails.
absl::Status RandomBytes(uint8_t* out, size_t len);

// `len` random bytes as a string. Crashes if the CSPRNG fails: there is no safe
// way on for a caller that needs a key or nonce.
std::string RandomString(size_t len);

}  // namespace appliance::crypto

#endif  // APPLIANCE_CRYPTO_RANDOM_H_
