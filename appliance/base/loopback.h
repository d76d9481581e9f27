// Whether an address names this host only: the check behind every "plain
// text on loopback only" rule (MLLP, gRPC and ops listeners, http:// EHR
// URLs).
#ifndef APPLIANCE_BASE_LOOPBACK_H_
#define APPLIANCE_BASE_LOOPBACK_H_

#include <string_view>

namespace appliance {

// True for an IP literal in 127.0.0.0/8, ::1 or ::ffff:127.x.y.z, and for
// "localhost" (any case); false for anything else, including host names
// that merely start with "127." and unparsable text.
bool IsLoopbackAddress(std::string_view address);

}  // namespace appliance

#endif  // APPLIANCE_BASE_LOOPBACK_H_
