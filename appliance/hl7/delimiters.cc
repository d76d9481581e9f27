#include "appliance/hl7/delimiters.h"

#include <cstring>

namespace appliance::hl7 {

std::string Delimiters::EncodingCharacters() const {
  std::string out;
  for (char c : {component, repetition, escape, subcomponent}) {
    if (c == '\0') break;
    out.push_back(c);
  }
  return out;
}

std::string_view Piece(std::string_view value, char sep, size_t n) {
  if (n == 0 || value.empty()) return std::string_view();
  if (sep == '\0') return n == 1 ? value : std::string_view();
  const char* p = value.data();
  const char* end = p + value.size();
  for (size_t i = 1; i < n; ++i) {
    const void* hit = memchr(p, sep, end - p);
    if (hit == nullptr) return std::string_view();
    p = static_cast<const char*>(hit) + 1;
  }
  const void* hit = memchr(p, sep, end - p);
  const char* stop = hit ? static_cast<const char*>(hit) : end;
  return std::string_view(p, stop - p);
}

size_t PieceCount(std::string_view value, char sep) {
  if (value.empty()) return 0;
  if (sep == '\0') return 1;
  size_t n = 1;
  for (char c : value) n += (c == sep);
  return n;
}

}  // namespace appliance::hl7
