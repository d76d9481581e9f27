#include "appliance/fhir/json_writer.h"

#include <array>
#include <cstdio>

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

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // Copy the longest run of plain ASCII in one go.
    size_t j = i;
    while (j < s.size() && kPlain[static_cast<unsigned char>(s[j])]) ++j;
    out->append(s.data() + i, j - i);
    i = j;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD.
        ++i;
      } else {
        out->append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default: {
        char buf[8];
        snprintf(buf, sizeof(buf), "\\u%04x", c);
        out->append(buf);
      }
    }
    ++i;
  }
  out->push_back('"');
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
  std::string r;
  r.reserve(nm.size() + 2);
  // "-0" and "-0.0" are fine JSON; keep the sign as sent.
  if (negative) r.push_back('-');
  if (whole.empty()) {
    r.push_back('0');
  } else {
    r.append(whole.data(), whole.size());
  }
  if (!frac.empty()) {
    r.push_back('.');
    r.append(frac.data(), frac.size());
  }
  *out = std::move(r);
  return true;
}

void JsonWriter::Newline() {
  out_->push_back('\n');
  out_->append(2 * stack_.size(), ' ');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (stack_.empty()) return;
  if (stack_.back()++ > 0) out_->push_back(',');
  if (pretty_) Newline();
}

void JsonWriter::Key(std::string_view key) {
  BeforeValue();
  out_->push_back('"');
  out_->append(key.data(), key.size());
  out_->push_back('"');
  out_->append(pretty_ ? ": " : ":");
  after_key_ = true;
}

void JsonWriter::BeginObject() {
  BeforeValue();
  out_->push_back('{');
  stack_.push_back(0);
}

void JsonWriter::EndObject() {
  const bool had_members = stack_.back() > 0;
  stack_.pop_back();
  if (pretty_ && had_members) Newline();
  out_->push_back('}');
}

void JsonWriter::BeginArray() {
  BeforeValue();
  out_->push_back('[');
  stack_.push_back(0);
}

void JsonWriter::EndArray() {
  const bool had_members = stack_.back() > 0;
  stack_.pop_back();
  if (pretty_ && had_members) Newline();
  out_->push_back(']');
}

void JsonWriter::String(std::string_view utf8) {
  BeforeValue();
  AppendJsonString(utf8, out_);
}

void JsonWriter::RawNumber(std::string_view number) {
  BeforeValue();
  out_->append(number.data(), number.size());
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  out_->append(std::to_string(value));
}

void JsonWriter::Bool(bool value) {
  BeforeValue();
  out_->append(value ? "true" : "false");
}

}  // namespace appliance::fhir
