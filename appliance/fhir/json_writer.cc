#include "appliance/fhir/json_writer.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace appliance::fhir {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    cp = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return n;
}

// Bytes copied as they are: printable ASCII other than quote and backslash.
constexpr auto kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = c != '"' && c != '\\';
  return t;
}();

// Writes the escape of the byte (or UTF-8 sequence) at s[i], which is not
// plain, to `p`. Returns the new end of output; `*consumed` is set to the
// number of input bytes used. (Out of line and rare: kept apart so that the
// block loops of EscapeTo stay in registers.)
[[gnu::noinline]] char* EscapeOne(std::string_view s, size_t i, char* p,
                                  size_t* consumed) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c >= 0x80) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      memcpy(p, "\xEF\xBF\xBD", 3);  // U+FFFD.
      *consumed = 1;
      return p + 3;
    }
    memcpy(p, s.data() + i, n);
    *consumed = n;
    return p + n;
  }
  *consumed = 1;
  char short_form = 0;
  switch (c) {
    case '"':
      short_form = '"';
      break;
    case '\\':
      short_form = '\\';
      break;
    case '\n':
      short_form = 'n';
      break;
    case '\r':
      short_form = 'r';
      break;
    case '\t':
      short_form = 't';
      break;
    case '\b':
      short_form = 'b';
      break;
    case '\f':
      short_form = 'f';
      break;
    default:
      break;
  }
  p[0] = '\\';
  if (short_form != 0) {
    p[1] = short_form;
    return p + 2;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  memcpy(p + 1, "u00", 3);
  p[4] = kHex[c >> 4];
  p[5] = kHex[c & 0xf];
  return p + 6;
}

// The most output EscapeTo writes for `n` input bytes: a control character
// becomes six ("\u001f"); everything else at most three per byte.
constexpr size_t MaxEscapedSize(size_t n) { return 6 * n; }

// True when none of the 8 bytes of `x` needs escaping: the classic bit
// tricks below are each nonzero iff some byte is >= 0x80, < 0x20, a quote or
// a backslash.
bool AllPlain8(uint64_t x) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  auto has_zero_byte = [](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  return ((x & kHighs) | ((x - 0x20 * kOnes) & ~x & kHighs) |
          has_zero_byte(x ^ ('"' * kOnes)) |
          has_zero_byte(x ^ ('\\' * kOnes))) == 0;
}

#ifdef __SSE2__
// Bit k set when byte k of `v` needs escaping. A signed compare with 0x20
// catches both control characters and bytes >= 0x80 (negative as int8).
int SpecialMask16(__m128i v) {
  const __m128i special =
      _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                   _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
  return _mm_movemask_epi8(special);
}
#endif

// Writes the escaped contents of `s` (no quotes) to `p`, which must have
// room for MaxEscapedSize(s.size()) bytes. Returns the end of the output.
//
// Plain text (nearly all of a FHIR Bundle) is copied in blocks of 16 (SSE2)
// or 8 bytes. A block is stored before it is checked; that is safe because
// the room is 6 bytes per input byte still to come. A short final block is
// handled by re-reading the last 16 (8) bytes of the input when the block
// before it was plain: the bytes read twice were copied one to one, so
// storing them again at the same output offsets rewrites the same bytes.
char* EscapeTo(std::string_view s, char* p) {
  const char* src = s.data();
  const size_t n = s.size();
  size_t i = 0;
  bool last_block_plain = false;
#ifdef __SSE2__
  while (n - i >= 16) {
    const __m128i v =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
    const int mask = SpecialMask16(v);
    if (mask == 0) {
      i += 16;
      p += 16;
      last_block_plain = true;
      continue;
    }
    const int plain = __builtin_ctz(static_cast<unsigned>(mask));
    i += plain;
    p += plain;
    size_t consumed;
    p = EscapeOne(s, i, p, &consumed);
    i += consumed;
    last_block_plain = false;
  }
  if (i < n && last_block_plain) {
    const size_t reread = 16 - (n - i);
    const __m128i v =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + n - 16));
    if (SpecialMask16(v) == 0) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p - reread), v);
      return p + (n - i);
    }
  }
#endif
  uint64_t x;
  while (n - i >= 8) {
    memcpy(&x, src + i, 8);
    if (!AllPlain8(x)) break;  // The byte loop below takes it from here.
    memcpy(p, &x, 8);
    i += 8;
    p += 8;
    last_block_plain = true;
  }
  if (i < n && n - i < 8 && last_block_plain) {
    const size_t reread = 8 - (n - i);
    memcpy(&x, src + n - 8, 8);
    if (AllPlain8(x)) {
      memcpy(p - reread, &x, 8);
      return p + (n - i);
    }
  }
  while (i < n) {
    const auto c = static_cast<unsigned char>(src[i]);
    if (kPlain[c]) {
      *p++ = static_cast<char>(c);
      ++i;
    } else {
      size_t consumed;
      p = EscapeOne(s, i, p, &consumed);
      i += consumed;
    }
  }
  return p;
}


// Appends compact JSON `json` to `*out` indented as the pretty writer would
// write the same tokens at `depth` (JSON.stringify(v, null, 2)): a newline
// and indent before every member or element and before the bracket that
// closes a non-empty container, ": " after keys; `{}` and `[]` stay as they
// are. Strings are copied through (escapes included).
void AppendReindented(std::string_view json, size_t depth, std::string* out) {
  auto newline = [&] {
    out->push_back('\n');
    out->append(2 * depth, ' ');
  };
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    switch (c) {
      case '"': {
        // Copy the string through its closing quote.
        size_t end = i + 1;
        while (json[end] != '"') end += json[end] == '\\' ? 2 : 1;
        out->append(json.data() + i, end + 1 - i);
        i = end;
        break;
      }
      case '{':
      case '[':
        out->push_back(c);
        if (i + 1 < json.size() && (json[i + 1] == '}' || json[i + 1] == ']')) {
          out->push_back(json[++i]);  // Empty container.
        } else {
          ++depth;
          newline();
        }
        break;
      case '}':
      case ']':
        --depth;
        newline();
        out->push_back(c);
        break;
      case ',':
        out->push_back(',');
        newline();
        break;
      case ':':
        out->append(": ");
        break;
      default:
        out->push_back(c);
        break;
    }
  }
}

}  // namespace

void AppendPrettyJson(std::string_view json, std::string* out) {
  out->reserve(out->size() + 2 * json.size());
  AppendReindented(json, 0, out);
}

void AppendJsonString(std::string_view s, std::string* out) {
  const size_t old = out->size();
  out->resize(old + MaxEscapedSize(s.size()) + 2);
  char* p = out->data() + old;
  *p++ = '"';
  p = EscapeTo(s, p);
  *p++ = '"';
  out->resize(static_cast<size_t>(p - out->data()));
}

bool NormalizeDecimal(std::string_view nm, std::string* out) {
  std::string_view s = nm;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  const size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac =
      dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty() && frac.empty()) return false;
  for (char c : whole) {
    if (c < '0' || c > '9') return false;
  }
  for (char c : frac) {
    if (c < '0' || c > '9') return false;
  }
  while (whole.size() > 1 && whole[0] == '0') whole.remove_prefix(1);
  // Valid: now write it. "-0" and "-0.0" are fine JSON; the sign is kept
  // as sent.
  out->clear();
  if (negative) out->push_back('-');
  if (whole.empty()) {
    out->push_back('0');
  } else {
    out->append(whole.data(), whole.size());
  }
  if (!frac.empty()) {
    out->push_back('.');
    out->append(frac.data(), frac.size());
  }
  return true;
}

void JsonWriter::Grow(size_t n) {
  // std::string::resize zero-fills the new room; doubling keeps the calls
  // few and the filling about the size of the output, for a Bundle as for a
  // small fragment (see RawJson). Within the capacity nothing is
  // reallocated: there the room grows by a little only, so that a writer
  // reusing the string of an earlier document (Overwrite) fills no more
  // than what it writes past that document's end.
  const size_t need = len_ + n;
  if (need <= out_->capacity()) {
    out_->resize(std::min(out_->capacity(), need + 1024));
  } else {
    out_->resize(std::max({need, 2 * out_->size(), size_t{64}}));
  }
}

inline char* JsonWriter::BeginToken(size_t payload) {
  // Outside any container `*out_` is the caller's (see the constructor).
  if (depth_ == 0) {
    if (!overwrite_) len_ = out_->size();
    overwrite_ = false;
  }
  if (pretty_) return BeginPrettyToken(payload);
  // Compact: a comma when the open container already has a member and the
  // token is not the value of a key. Stored always, kept when needed.
  if (out_->size() - len_ < payload + 1) Grow(payload + 1);
  char* p = out_->data() + len_;
  *p = ',';
  p += need_comma_ & !after_key_ & (depth_ != 0);
  after_key_ = false;
  return p;
}

char* JsonWriter::BeginPrettyToken(size_t payload) {
  // Comma, newline and indent, plus the payload.
  const size_t need = payload + 2 + 2 * depth_;
  if (out_->size() - len_ < need) Grow(need);
  char* p = out_->data() + len_;
  if (after_key_) {
    after_key_ = false;
    return p;
  }
  if (depth_ == 0) return p;
  if (need_comma_) *p++ = ',';
  *p++ = '\n';
  memset(p, ' ', 2 * depth_);
  p += 2 * depth_;
  return p;
}

char* JsonWriter::WriteKey(char* p, std::string_view key) const {
  *p++ = '"';
  p = CopyShort(p, key.data(), key.size());
  *p++ = '"';
  *p++ = ':';
  if (pretty_) *p++ = ' ';
  return p;
}

void JsonWriter::Key(std::string_view key) {
  char* p = BeginToken(key.size() + 4);
  Commit(WriteKey(p, key));
  after_key_ = true;
}

void JsonWriter::Member(std::string_view key, std::string_view value) {
  char* p = BeginToken(key.size() + 4 + MaxEscapedSize(value.size()) + 2);
  p = WriteKey(p, key);
  *p++ = '"';
  p = EscapeTo(value, p);
  *p++ = '"';
  Commit(p);
  need_comma_ = true;
}

void JsonWriter::Open(char open) {
  char* p = BeginToken(1);
  *p++ = open;
  Commit(p);
  ++depth_;
  need_comma_ = false;
}

void JsonWriter::Close(char close) {
  // need_comma_ says whether the container got any member.
  const bool had_members = need_comma_;
  --depth_;
  // Newline and indent (when pretty), then the bracket.
  const size_t need = pretty_ ? 2 + 2 * depth_ : 1;
  if (out_->size() - len_ < need) Grow(need);
  char* p = out_->data() + len_;
  if (pretty_ && had_members) {
    *p++ = '\n';
    memset(p, ' ', 2 * depth_);
    p += 2 * depth_;
  }
  *p++ = close;
  Commit(p);
  need_comma_ = true;
  FinishIfComplete();
}

void JsonWriter::BeginObject() { Open('{'); }
void JsonWriter::EndObject() { Close('}'); }
void JsonWriter::BeginArray() { Open('['); }
void JsonWriter::EndArray() { Close(']'); }

void JsonWriter::String(std::string_view utf8) {
  char* p = BeginToken(MaxEscapedSize(utf8.size()) + 2);
  *p++ = '"';
  p = EscapeTo(utf8, p);
  *p++ = '"';
  Commit(p);
  need_comma_ = true;
  FinishIfComplete();
}

void JsonWriter::StringOfParts(std::initializer_list<std::string_view> parts) {
  size_t size = 0;
  for (std::string_view part : parts) size += part.size();
  char* p = BeginToken(MaxEscapedSize(size) + 2);
  *p++ = '"';
  for (std::string_view part : parts) p = EscapeTo(part, p);
  *p++ = '"';
  Commit(p);
  need_comma_ = true;
  FinishIfComplete();
}

void JsonWriter::MemberOfParts(std::string_view key,
                               std::initializer_list<std::string_view> parts) {
  Key(key);
  StringOfParts(parts);
}

void JsonWriter::RawNumber(std::string_view number) {
  char* p = BeginToken(number.size());
  Commit(CopyShort(p, number.data(), number.size()));
  need_comma_ = true;
  FinishIfComplete();
}

void JsonWriter::RawJson(std::string_view json) {
  if (!pretty_) {
    char* p = BeginToken(json.size());
    Commit(CopyShort(p, json.data(), json.size()));
  } else {
    std::string indented;
    AppendReindented(json, depth_, &indented);
    char* p = BeginToken(indented.size());
    Commit(CopyShort(p, indented.data(), indented.size()));
  }
  need_comma_ = true;
  FinishIfComplete();
}

void JsonWriter::RawBegin() {
  assert(!pretty_);
  Commit(BeginToken(0));
}

void JsonWriter::Raw(std::initializer_list<std::string_view> json) {
  size_t size = 0;
  for (std::string_view part : json) size += part.size();
  if (out_->size() - len_ < size) Grow(size);
  char* p = out_->data() + len_;
  for (std::string_view part : json) {
    p = CopyShort(p, part.data(), part.size());
  }
  Commit(p);
}

void JsonWriter::RawEscaped(std::string_view utf8) {
  const size_t room = MaxEscapedSize(utf8.size());
  if (out_->size() - len_ < room) Grow(room);
  Commit(EscapeTo(utf8, out_->data() + len_));
}

void JsonWriter::RawString(std::string_view utf8) { RawString({}, utf8); }

void JsonWriter::RawString(std::string_view json_before,
                           std::string_view utf8) {
  const size_t room = json_before.size() + MaxEscapedSize(utf8.size()) + 2;
  if (out_->size() - len_ < room) Grow(room);
  char* p =
      CopyShort(out_->data() + len_, json_before.data(), json_before.size());
  *p++ = '"';
  p = EscapeTo(utf8, p);
  *p++ = '"';
  Commit(p);
}

void JsonWriter::RawEnd(int depth_change) {
  depth_ = static_cast<size_t>(static_cast<int>(depth_) + depth_change);
  after_key_ = false;
  need_comma_ = true;
  FinishIfComplete();
}

void JsonWriter::Int(int64_t value) {
  char buf[24];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), value);
  RawNumber(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
}

void JsonWriter::Bool(bool value) { RawNumber(value ? "true" : "false"); }

}  // namespace appliance::fhir
