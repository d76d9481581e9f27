#include "appliance/hl7/escape.h"

#include <cstdint>
#include <cstring>

namespace appliance::hl7 {
namespace {

void AppendLatin1(unsigned char c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t min;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    len = 2, min = 0x80, cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, min = 0x800, cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// Appends decoded text bytes (never delimiters) in the message's charset.
void AppendText(std::string_view bytes, Charset charset, bool ascii_is_utf8,
                std::string* out) {
  for (size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      out->push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (charset == Charset::kLatin1 ||
        (charset == Charset::kAscii && !ascii_is_utf8)) {
      AppendLatin1(c, out);
      ++i;
      continue;
    }
    const size_t len = Utf8SequenceLength(bytes, i);
    if (len == 0) {
      out->append("\xEF\xBF\xBD");  // U+FFFD.
      ++i;
    } else {
      out->append(bytes.data() + i, len);
      i += len;
    }
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool DecodeHex(std::string_view hex, std::string* out) {
  if (hex.empty() || hex.size() % 2 != 0) return false;
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = HexValue(hex[i]);
    const int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

char Or(char c, char fallback) { return c != '\0' ? c : fallback; }

}  // namespace

Charset CharsetOf(std::string_view msh18) {
  // Only the first repetition names the message's default character set.
  const size_t tilde = msh18.find('~');
  std::string_view v = msh18.substr(0, tilde);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  if (v.empty() || v == "ASCII") return Charset::kAscii;
  if (v == "8859/1") return Charset::kLatin1;
  if (v == "UNICODE UTF-8") return Charset::kUtf8;
  return Charset::kUnsupported;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

bool NeedsUnescape(std::string_view value, const Delimiters& d) {
  for (char c : value) {
    if (c == d.escape || static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

std::string Unescape(std::string_view value, const Delimiters& d,
                     Charset charset) {
  std::string out;
  if (!NeedsUnescape(value, d)) {
    out.assign(value.data(), value.size());
    return out;
  }
  out.reserve(value.size());
  const bool ascii_is_utf8 = charset == Charset::kAscii && IsValidUtf8(value);
  const char esc = d.escape;
  size_t i = 0;
  while (i < value.size()) {
    const void* hit =
        esc == '\0' ? nullptr : memchr(value.data() + i, esc, value.size() - i);
    const size_t start =
        hit ? static_cast<const char*>(hit) - value.data() : value.size();
    AppendText(value.substr(i, start - i), charset, ascii_is_utf8, &out);
    if (start == value.size()) break;
    const size_t close = value.find(esc, start + 1);
    if (close == std::string_view::npos) {
      // A lone escape character: pass the rest through.
      AppendText(value.substr(start), charset, ascii_is_utf8, &out);
      break;
    }
    const std::string_view seq = value.substr(start + 1, close - start - 1);
    bool handled = true;
    if (seq.size() == 1) {
      switch (seq[0]) {
        case 'F':
          out.push_back(Or(d.field, '|'));
          break;
        case 'S':
          out.push_back(Or(d.component, '^'));
          break;
        case 'T':
          out.push_back(Or(d.subcomponent, '&'));
          break;
        case 'R':
          out.push_back(Or(d.repetition, '~'));
          break;
        case 'E':
          out.push_back(esc);
          break;
        case 'H':
        case 'N':
          break;  // Highlighting: no plain-text rendering.
        default:
          handled = false;
      }
    } else if (!seq.empty() && seq[0] == 'X') {
      std::string bytes;
      if (DecodeHex(seq.substr(1), &bytes)) {
        AppendText(bytes, charset,
                   charset == Charset::kAscii && IsValidUtf8(bytes), &out);
      } else {
        handled = false;
      }
    } else if (seq.size() >= 3 && seq[0] == '.') {
      const std::string_view cmd = seq.substr(1, 2);
      if (cmd == "br" || cmd == "sp" || cmd == "ce") {
        out.push_back('\n');
      } else if (cmd == "fi" || cmd == "nf" || cmd == "in" || cmd == "ti" ||
                 cmd == "sk") {
        // Layout hints: dropped.
      } else {
        handled = false;
      }
    } else {
      handled = false;
    }
    if (!handled) {
      // Unknown or malformed: the whole sequence passes through unchanged.
      AppendText(value.substr(start, close - start + 1), charset, ascii_is_utf8,
                 &out);
    }
    i = close + 1;
  }
  return out;
}

std::string Escape(std::string_view text, const Delimiters& d) {
  std::string out;
  out.reserve(text.size() + 8);
  const char esc = Or(d.escape, '\\');
  for (char c : text) {
    const char* seq = nullptr;
    if (c == d.field) {
      seq = "F";
    } else if (c == d.component && c != '\0') {
      seq = "S";
    } else if (c == d.subcomponent && c != '\0') {
      seq = "T";
    } else if (c == d.repetition && c != '\0') {
      seq = "R";
    } else if (c == esc) {
      seq = "E";
    } else if (c == '\r') {
      seq = "X0D";
    } else if (c == '\n') {
      seq = "X0A";
    }
    if (seq == nullptr) {
      out.push_back(c);
    } else {
      out.push_back(esc);
      out.append(seq);
      out.push_back(esc);
    }
  }
  return out;
}

}  // namespace appliance::hl7
