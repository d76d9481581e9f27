#include "appliance/crypto/random.h"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

namespace appliance::crypto {

absl::Status RandomBytes(uint8_t* out, size_t len) {
  if (len == 0) return absl::OkStatus();
  if (RAND_bytes(out, len) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  return absl::OkStatus();
}

std::string RandomString(size_t len) {
  std::string out(len, '\0');
  absl::Status s = RandomBytes(reinterpret_cast<uint8_t*>(out.data()), len);
  if (!s.ok()) {
    fprintf(stderr, "FATAL: %s\n", std::string(s.message()).c_str());
    abort();
  }
  return out;
}

}  // namespace appliance::crypto
