#include "appliance/hl7/message.h"

#include <cctype>
#include <cstring>

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
  fields_.clear();
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

  // Segments and fields.
  TerminatorScanner scanner(text, options.accept_lf);
  size_t seg_start = 0;
  while (seg_start < text.size()) {
    size_t seg_end = 0;
    const size_t next = scanner.Next(seg_start, &seg_end);
    std::string_view seg = text.substr(seg_start, seg_end - seg_start);
    seg_start = next;
    if (seg.empty()) continue;  // Blank line or the LF of a CRLF.
    SegmentIndex idx;
    idx.first_field = static_cast<uint32_t>(fields_.size());
    idx.raw = seg;
    size_t p = 0;
    if (segments_.empty()) {
      // MSH: name, MSH-1 (the separator itself), MSH-2, then ordinary fields.
      fields_.push_back(seg.substr(0, 3));
      fields_.push_back(seg.substr(3, 1));
      fields_.push_back(enc);
      p = 4 + enc.size();
      if (p < seg.size())
        ++p;  // The separator after MSH-2.
      else
        p = seg.size() + 1;
    }
    if (p <= seg.size()) {
      while (true) {
        const void* hit = memchr(seg.data() + p, d.field, seg.size() - p);
        if (hit == nullptr) {
          fields_.push_back(seg.substr(p));
          break;
        }
        const size_t q = static_cast<const char*>(hit) - seg.data();
        fields_.push_back(seg.substr(p, q - p));
        p = q + 1;
      }
    }
    idx.field_count = static_cast<uint32_t>(fields_.size()) - idx.first_field;
    segments_.push_back(idx);
  }
  raw_ = text;
  delimiters_ = d;
  return absl::OkStatus();
}

Segment Message::segment(size_t i) const {
  Segment s;
  const SegmentIndex& idx = segments_[i];
  s.fields_ = fields_.data() + idx.first_field;
  s.count_ = idx.field_count;
  s.index_ = i;
  s.raw_ = idx.raw;
  return s;
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
