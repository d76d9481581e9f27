// The hour of the statistics keys ("h/<hour>/..."), shared by the store that
// writes them and the ops statistics that read them back.
#ifndef APPLIANCE_BASE_HOUR_BUCKET_H_
#define APPLIANCE_BASE_HOUR_BUCKET_H_

#include <cstdint>
#include <string>

namespace appliance {

// "2026010112" for a time (microseconds since the epoch) in the 12:00 UTC
// hour of 2026-01-01.
std::string HourBucket(int64_t micros);

}  // namespace appliance

#endif  // APPLIANCE_BASE_HOUR_BUCKET_H_
