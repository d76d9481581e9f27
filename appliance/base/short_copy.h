// Copies of short byte runs (keys, JSON fragments, name parts) into a buffer
// the caller has made room in.
#ifndef APPLIANCE_BASE_SHORT_COPY_H_
#define APPLIANCE_BASE_SHORT_COPY_H_

#include <cstddef>
#include <cstring>

namespace appliance {

// Copies n bytes to p and returns p + n. For runs of a few bytes a call to
// memcpy costs more than fixed-size copies (which compile to plain loads and
// stores), the last one overlapping the one before; inline, a copy of a
// constant size is a few stores.
inline char* CopyShort(char* p, const char* src, size_t n) {
  if (n >= 16) {
    for (size_t i = 0; i + 16 < n; i += 16) memcpy(p + i, src + i, 16);
    memcpy(p + n - 16, src + n - 16, 16);
  } else if (n >= 8) {
    memcpy(p, src, 8);
    memcpy(p + n - 8, src + n - 8, 8);
  } else if (n >= 4) {
    memcpy(p, src, 4);
    memcpy(p + n - 4, src + n - 4, 4);
  } else {
    for (size_t i = 0; i < n; ++i) p[i] = src[i];
  }
  return p + n;
}

}  // namespace appliance

#endif  // APPLIANCE_BASE_SHORT_COPY_H_
