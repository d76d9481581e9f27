// Test helper: a raw HTTP exchange with a server on loopback.
#ifndef APPLIANCE_OPS_HTTP_TEST_UTIL_H_
#define APPLIANCE_OPS_HTTP_TEST_UTIL_H_

#include <cstdint>
#include <string>

namespace appliance::ops {

// Sends `request` raw on a new connection to 127.0.0.1:`port` and reads until
// the server closes the connection or `timeout_ms` passes; "connect failed"
// when nothing listens.
std::string Exchange(uint16_t port, const std::string& request,
                     int timeout_ms = 3000);

}  // namespace appliance::ops

#endif  // APPLIANCE_OPS_HTTP_TEST_UTIL_H_
