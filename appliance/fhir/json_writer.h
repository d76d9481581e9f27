// A small streaming JSON writer with deterministic output.
//
// Keys come out in the order they are written, so the same calls always give
// the same bytes (the FHIR mappers rely on that for byte-stable Bundles).
// Strings are escaped to valid JSON and valid UTF-8: quote, backslash and
// control characters are escaped, and invalid UTF-8 sequences become U+FFFD.
// Numbers are written from their decimal text (FHIR decimals keep their
// precision: 5.0 stays 5.0) after normalisation (see NormalizeDecimal).
//
// The writer does not check call order beyond what it needs for commas; a
// caller writing a key outside an object gets malformed JSON (a programming
// error, covered by the mappers' tests).
#ifndef APPLIANCE_FHIR_JSON_WRITER_H_
#define APPLIANCE_FHIR_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace appliance::fhir {

class JsonWriter {
 public:
  // Appends to `*out`, which must outlive the writer. `pretty` indents by two
  // spaces with one member per line (as JSON.stringify(v, null, 2)); compact
  // output has no whitespace at all.
  explicit JsonWriter(std::string* out, bool pretty = false)
      : out_(out), pretty_(pretty) {}
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  // The next value's key (inside an object). Keys are the caller's own
  // constants (FHIR element names) and are written without escaping: they
  // must be printable ASCII without quote or backslash.
  void Key(std::string_view key);

  void String(std::string_view utf8);
  // `number` must be a valid JSON number (see NormalizeDecimal).
  void RawNumber(std::string_view number);
  void Int(int64_t value);
  void Bool(bool value);

  // Key + value shorthands.
  void Member(std::string_view key, std::string_view value) {
    Key(key);
    String(value);
  }
  void Member(std::string_view key, const char* value) {
    Key(key);
    String(value);
  }
  // Writes the member only when `value` is not empty.
  void OptionalMember(std::string_view key, std::string_view value) {
    if (!value.empty()) Member(key, value);
  }
  void ObjectMember(std::string_view key) {
    Key(key);
    BeginObject();
  }
  void ArrayMember(std::string_view key) {
    Key(key);
    BeginArray();
  }

  // Depth of open containers (0 when the document is complete).
  size_t depth() const { return stack_.size(); }

 private:
  void BeforeValue();
  void Newline();

  std::string* out_;  // Not owned.
  bool pretty_;
  bool after_key_ = false;
  // Per open container: number of values written so far.
  std::vector<int> stack_;
};

// Appends `s` as a quoted JSON string to `*out` (escaping as above).
void AppendJsonString(std::string_view s, std::string* out);

// Turns an HL7 NM value ([+|-]digits[.digits] or .digits, leading zeros
// allowed) into a JSON/FHIR decimal keeping its precision: "065.88" -> "65.88",
// "+5" -> "5", ".5" -> "0.5", "-0.50" -> "-0.50", "5." -> "5". Returns false
// (and leaves *out alone) when `nm` is not such a number (e.g. "1,5").
bool NormalizeDecimal(std::string_view nm, std::string* out);

}  // namespace appliance::fhir

#endif  // APPLIANCE_FHIR_JSON_WRITER_H_
