#include "appliance/hl7/message.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "absl/strings/str_cat.h"
#include "appliance/hl7/escape.h"

namespace appliance::hl7 {
namespace {

bool IsTerminator(char c, bool accept_lf) {
  return c == '\r' || (accept_lf && c == '\n');
}

// Finds segment terminators with memchr, remembering the next CR and LF so
// each byte is scanned at most once per terminator kind.
class TerminatorScanner {
 public:
  TerminatorScanner(std::string_view bytes, bool accept_lf)
      : bytes_(bytes), accept_lf_(accept_lf) {}

  // Offset just past the terminator of the segment starting at `pos`;
  // *seg_end is set to where the segment's text ends.
  size_t Next(size_t pos, size_t* seg_end) {
    const size_t n = bytes_.size();
    if (next_cr_ == kUnknown || next_cr_ < pos) next_cr_ = Find('\r', pos);
    size_t i = next_cr_;
    if (accept_lf_) {
      if (next_lf_ == kUnknown || next_lf_ < pos) next_lf_ = Find('\n', pos);
      if (next_lf_ < i) i = next_lf_;
    }
    *seg_end = i;
    return i < n ? i + 1 : n;
  }

 private:
  size_t Find(char c, size_t pos) const {
    if (pos >= bytes_.size()) return bytes_.size();
    const void* hit = memchr(bytes_.data() + pos, c, bytes_.size() - pos);
    return hit ? static_cast<const char*>(hit) - bytes_.data() : bytes_.size();
  }

  std::string_view bytes_;
  bool accept_lf_;
  // Positions of the next CR / LF at or after the last search; npos-like
  // "unknown" is expressed as a value before any position (searched lazily).
  size_t next_cr_ = kUnknown;
  size_t next_lf_ = kUnknown;
  static constexpr size_t kUnknown = static_cast<size_t>(-1);
};

bool ValidDelimiter(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f && !isalnum(u);
}

bool ParseInt(std::string_view s, int* out) {
  if (s.empty() || s.size() > 6) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

absl::StatusOr<Location> Location::Parse(std::string_view path) {
  Location loc;
  auto bad = [&](const char* why) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed HL7 path \"", std::string(path), "\": ", why));
  };
  size_t i = 0;
  while (i < path.size() && isalnum(static_cast<unsigned char>(path[i]))) ++i;
  if (i != 3) return bad("segment name must be 3 letters or digits");
  loc.segment = std::string(path.substr(0, 3));
  auto read_number = [&](int* out) -> bool {
    size_t start = i;
    while (i < path.size() && path[i] >= '0' && path[i] <= '9') ++i;
    return ParseInt(path.substr(start, i - start), out) && *out > 0;
  };
  if (i < path.size() && path[i] == '[') {
    ++i;
    if (!read_number(&loc.occurrence)) return bad("bad segment occurrence");
    if (i >= path.size() || path[i] != ']') return bad("missing ']'");
    ++i;
  }
  if (i == path.size()) return loc;
  if (path[i] != '-' && path[i] != '.') return bad("expected '-' before field");
  ++i;
  if (!read_number(&loc.field)) return bad("bad field number");
  if (i < path.size() && path[i] == '(') {
    ++i;
    if (!read_number(&loc.repetition)) return bad("bad repetition");
    if (i >= path.size() || path[i] != ')') return bad("missing ')'");
    ++i;
  }
  if (i == path.size()) return loc;
  if (path[i] != '.' && path[i] != '-')
    return bad("expected '.' before component");
  ++i;
  if (!read_number(&loc.component)) return bad("bad component number");
  if (i == path.size()) return loc;
  if (path[i] != '.' && path[i] != '-')
    return bad("expected '.' before subcomponent");
  ++i;
  if (!read_number(&loc.subcomponent)) return bad("bad subcomponent number");
  if (i != path.size()) return bad("trailing characters");
  return loc;
}

std::string Location::ToString() const {
  std::string out = segment;
  if (occurrence > 1) absl::StrAppend(&out, "[", occurrence, "]");
  if (field > 0) {
    absl::StrAppend(&out, "-", field);
    if (repetition > 0) absl::StrAppend(&out, "(", repetition, ")");
    if (component > 0) {
      absl::StrAppend(&out, ".", component);
      if (subcomponent > 0) absl::StrAppend(&out, ".", subcomponent);
    }
  }
  return out;
}

bool Location::operator==(const Location& o) const {
  return segment == o.segment && occurrence == o.occurrence &&
         field == o.field && repetition == o.repetition &&
         component == o.component && subcomponent == o.subcomponent;
}

absl::StatusOr<Message> Message::Parse(std::string_view bytes,
                                       const ParseOptions& options) {
  Message m;
  absl::Status s = m.ParseInto(bytes, options);
  if (!s.ok()) return s;
  return m;
}

absl::Status Message::ParseInto(std::string_view bytes,
                                const ParseOptions& options) {
  segments_.clear();
  raw_ = std::string_view();
  delimiters_ = Delimiters();

  // Skip a UTF-8 byte-order mark and leading white space.
  size_t pos = 0;
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
  while (pos < bytes.size() && (bytes[pos] == '\r' || bytes[pos] == '\n' ||
                                bytes[pos] == ' ' || bytes[pos] == '\t')) {
    ++pos;
  }
  const std::string_view text = bytes.substr(pos);
  if (text.size() < 3 || text.substr(0, 3) != "MSH") {
    return absl::InvalidArgumentError("message does not start with MSH");
  }
  if (text.size() < 5) {
    return absl::InvalidArgumentError("MSH segment too short for delimiters");
  }
  Delimiters d;
  d.field = text[3];
  if (!ValidDelimiter(d.field)) {
    return absl::InvalidArgumentError("invalid field separator in MSH-1");
  }
  // MSH-2: up to the next field separator or the end of the segment.
  size_t enc_end = 4;
  while (enc_end < text.size() && text[enc_end] != d.field &&
         !IsTerminator(text[enc_end], options.accept_lf)) {
    ++enc_end;
  }
  const std::string_view enc = text.substr(4, enc_end - 4);
  if (enc.empty()) {
    return absl::InvalidArgumentError("MSH-2 encoding characters are missing");
  }
  if (enc.size() > 5) {
    return absl::InvalidArgumentError(
        "MSH-2 encoding characters longer than 5 characters");
  }
  char* slots[] = {&d.component, &d.repetition, &d.escape, &d.subcomponent};
  for (char* slot : slots) *slot = '\0';
  // A fifth character (v2.7 truncation) is checked but is not a separator.
  for (size_t i = 0; i < enc.size(); ++i) {
    const char c = enc[i];
    if (!ValidDelimiter(c)) {
      return absl::InvalidArgumentError(
          "MSH-2 contains a letter, digit or control character");
    }
    if (c == d.field) {
      return absl::InvalidArgumentError("MSH-2 repeats the field separator");
    }
    for (size_t j = 0; j < i; ++j) {
      if (enc[j] == c) {
        return absl::InvalidArgumentError("MSH-2 repeats a delimiter");
      }
    }
    if (i < 4) *slots[i] = c;
  }

  // Segments and fields, in one pass over the bytes: every field separator
  // and segment terminator is visited once (32 bytes at a time with SSE2).
  //
  // Fields are written through a cursor into fields_, which is grown before
  // each block of bytes (every byte adds at most one field), so the per-field
  // work is two stores and no capacity check.
  const char* const base = text.data();
  const char* const stop = base + text.size();
  const char fs = d.field;
  const char lf_char = options.accept_lf ? '\n' : '\r';
  const char* seg_start = base;
  const char* field_start = base;
  std::string_view* out = fields_.data();  // Where the next field goes.
  std::string_view* out_end = out + fields_.size();
  uint32_t first_field = 0;  // Index in fields_ of the open segment's name.
  // Room for `extra` more fields.
  auto reserve = [&](size_t extra) {
    if (static_cast<size_t>(out_end - out) < extra) {
      const size_t n = out - fields_.data();
      fields_.resize(std::max(n + extra, 2 * fields_.size()));
      out = fields_.data() + n;
      out_end = fields_.data() + fields_.size();
    }
  };
  auto field_count = [&] {
    return static_cast<uint32_t>(out - fields_.data());
  };
  // A field separator at p.
  auto field = [&](const char* p) {
    *out++ = std::string_view(field_start, p - field_start);
    field_start = p + 1;
  };
  auto close_segment = [&](const char* end) {
    *out++ = std::string_view(field_start, end - field_start);
    SegmentIndex idx;
    idx.first_field = first_field;
    idx.field_count = field_count() - first_field;
    idx.code = SegmentCode(fields_[first_field]);
    idx.raw = std::string_view(seg_start, end - seg_start);
    segments_.push_back(idx);
  };
  // A segment terminator at p.
  auto terminator = [&](const char* p) {
    if (p > seg_start) close_segment(p);  // Else a blank line: skipped.
    seg_start = field_start = p + 1;
    first_field = field_count();
  };

  // MSH: name, MSH-1 (the separator itself), MSH-2, then ordinary fields.
  reserve(64);
  *out++ = text.substr(0, 3);
  *out++ = text.substr(3, 1);
  *out++ = enc;
  const char* p = base + 4 + enc.size();
  if (p < stop && *p == fs) {
    field_start = ++p;
  } else {
    // Nothing after MSH-2: the segment has exactly three fields.
    SegmentIndex idx;
    idx.first_field = 0;
    idx.field_count = 3;
    idx.code = SegmentCode("MSH");
    idx.raw = std::string_view(base, p - base);
    segments_.push_back(idx);
    seg_start = field_start = p;
    first_field = 3;
  }
#ifdef __SSE2__
  const __m128i v_fs = _mm_set1_epi8(fs);
  const __m128i v_cr = _mm_set1_epi8('\r');
  const __m128i v_lf = _mm_set1_epi8(lf_char);
  // Bit i set where block[i] is a field separator / a terminator.
  auto masks = [&](const char* block, uint32_t* fs_mask, uint32_t* term_mask) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block));
    *fs_mask =
        static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, v_fs)));
    *term_mask = static_cast<uint32_t>(_mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(v, v_cr), _mm_cmpeq_epi8(v, v_lf))));
  };
  for (; stop - p >= 32; p += 32) {
    reserve(32);
    uint32_t fs_lo, term_lo, fs_hi, term_hi;
    masks(p, &fs_lo, &term_lo);
    masks(p + 16, &fs_hi, &term_hi);
    uint32_t fs_mask = fs_lo | fs_hi << 16;
    uint32_t term_mask = term_lo | term_hi << 16;
    // In byte order, without a "separator or terminator?" test per bit (a
    // branch that mispredicts): for each terminator, the field separators
    // before it, then the terminator; then the separators after the last.
    for (; term_mask != 0; term_mask &= term_mask - 1) {
      const int t = __builtin_ctz(term_mask);
      const uint32_t below = (uint32_t{1} << t) - 1;
      for (uint32_t m = fs_mask & below; m != 0; m &= m - 1) {
        field(p + __builtin_ctz(m));
      }
      fs_mask &= ~below;
      terminator(p + t);
    }
    for (; fs_mask != 0; fs_mask &= fs_mask - 1) {
      field(p + __builtin_ctz(fs_mask));
    }
  }
#endif
  // The rest (all of it without SSE2), a byte at a time.
  while (p < stop) {
    reserve(32);
    const char* const block_end = p + std::min<ptrdiff_t>(stop - p, 32);
    for (; p < block_end; ++p) {
      if (*p == fs) {
        field(p);
      } else if (*p == '\r' || *p == lf_char) {
        terminator(p);
      }
    }
  }
  reserve(1);  // The last segment's last field.
  if (stop > seg_start) close_segment(stop);
  raw_ = text;
  delimiters_ = d;
  return absl::OkStatus();
}

bool Message::FindSegment(std::string_view name, int occurrence,
                          Segment* out) const {
  int seen = 0;
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (fields_[segments_[i].first_field] == name && ++seen == occurrence) {
      *out = segment(i);
      return true;
    }
  }
  return false;
}

int Message::CountSegments(std::string_view name) const {
  int n = 0;
  for (const SegmentIndex& idx : segments_)
    n += fields_[idx.first_field] == name;
  return n;
}

std::string_view Message::msh(size_t n) const {
  if (segments_.empty()) return std::string_view();
  const SegmentIndex& idx = segments_[0];
  return n < idx.field_count ? fields_[idx.first_field + n]
                             : std::string_view();
}

std::string_view Message::Get(const Location& loc) const {
  Segment seg;
  if (!FindSegment(loc.segment, loc.occurrence, &seg)) return {};
  if (loc.field == 0) return seg.raw();
  std::string_view v = seg.field(loc.field);
  if (seg.name() == "MSH" && loc.field <= 2) return v;  // Never split.
  v = Piece(v, delimiters_.repetition, loc.repetition > 0 ? loc.repetition : 1);
  if (loc.component == 0) return v;
  v = Piece(v, delimiters_.component, loc.component);
  if (loc.subcomponent == 0) return v;
  return Piece(v, delimiters_.subcomponent, loc.subcomponent);
}

std::string_view Message::Get(std::string_view path) const {
  absl::StatusOr<Location> loc = Location::Parse(path);
  if (!loc.ok()) return {};
  return Get(*loc);
}

std::string Message::GetText(std::string_view path) const {
  return Unescape(Get(path), delimiters_, CharsetOf(charset()));
}

std::vector<std::string_view> SplitMessages(std::string_view bytes,
                                            const ParseOptions& options) {
  std::vector<std::string_view> out;
  size_t msg_start = std::string_view::npos;
  size_t pos = 0;
  auto close = [&](size_t end) {
    if (msg_start != std::string_view::npos && end > msg_start) {
      out.push_back(bytes.substr(msg_start, end - msg_start));
    }
    msg_start = std::string_view::npos;
  };
  TerminatorScanner scanner(bytes, options.accept_lf);
  while (pos < bytes.size()) {
    size_t seg_end = 0;
    const size_t next = scanner.Next(pos, &seg_end);
    const std::string_view name =
        bytes.substr(pos, std::min<size_t>(3, seg_end - pos));
    if (name == "MSH") {
      close(pos);
      msg_start = pos;
    } else if (name == "FHS" || name == "BHS" || name == "BTS" ||
               name == "FTS") {
      close(pos);
    }
    pos = next;
  }
  close(bytes.size());
  return out;
}

}  // namespace appliance::hl7
