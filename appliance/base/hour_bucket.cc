#include "appliance/base/hour_bucket.h"

#include <ctime>

namespace appliance {

std::string HourBucket(int64_t micros) {
  const time_t secs = static_cast<time_t>(
      micros >= 0 ? micros / 1000000 : (micros - 999999) / 1000000);
  // The store's writer asks several times per message, nearly always for the
  // same hour: remember the last one instead of formatting it again.
  const time_t hour = secs >= 0 ? secs / 3600 : (secs - 3599) / 3600;
  thread_local time_t cached_hour = -1;
  thread_local std::string cached;
  if (hour == cached_hour && !cached.empty()) return cached;
  struct tm utc;
  gmtime_r(&secs, &utc);
  char buf[16];
  strftime(buf, sizeof(buf), "%Y%m%d%H", &utc);
  cached_hour = hour;
  cached = buf;
  return cached;
}

}  // namespace appliance
