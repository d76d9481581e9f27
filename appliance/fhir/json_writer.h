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
//
// Speed (the mapper writes ~2,000 tokens per lab result Bundle): each call
// makes room once and then stores through a raw pointer, so a token costs a
// capacity check and a few stores rather than a std::string::append per
// piece. To make that possible the writer keeps `*out` resized *ahead* of
// what it has written (see the constructor).
#ifndef APPLIANCE_FHIR_JSON_WRITER_H_
#define APPLIANCE_FHIR_JSON_WRITER_H_

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

#include "appliance/base/short_copy.h"

namespace appliance::fhir {


class JsonWriter {
 public:
  // Appends to `*out`, which must outlive the writer. `pretty` indents by two
  // spaces with one member per line (as JSON.stringify(v, null, 2)); compact
  // output has no whitespace at all.
  //
  // While a container is open, `*out` may hold unspecified bytes after the
  // output written so far (room the writer has made for what comes next).
  // `*out` holds exactly the previous contents plus the output whenever the
  // document is complete (depth() back to 0), after Finish(), and after the
  // writer is destroyed. Do not modify `*out` while containers are open;
  // between complete documents the caller may append to it (a newline), and
  // the writer continues after whatever it then holds.
  explicit JsonWriter(std::string* out, bool pretty = false)
      : out_(out), len_(out->size()), pretty_(pretty) {}
  // Compact, and writing from the start of `*out`: what it holds is
  // replaced, its bytes serve as room (a caller writing one document per
  // message into the same string does not zero-fill that room again each
  // time). Otherwise as above.
  struct Overwrite {};
  JsonWriter(std::string* out, Overwrite)
      : out_(out), len_(0), pretty_(false), overwrite_(true) {}
  ~JsonWriter() {
    if (depth_ > 0 || overwrite_) Finish();
  }
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  // Drops the room made ahead, so `*out` ends with the output. Writing may
  // continue afterwards. Called automatically as described above.
  void Finish() { out_->resize(len_); }

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  // The next value's key (inside an object). Keys are the caller's own
  // constants (FHIR element names) and are written without escaping: they
  // must be printable ASCII without quote or backslash.
  void Key(std::string_view key);

  void String(std::string_view utf8);
  // One string value made of `parts` in order ("urn:uuid:" + id without a
  // temporary std::string).
  void StringOfParts(std::initializer_list<std::string_view> parts);
  // `number` must be a valid JSON number (see NormalizeDecimal).
  void RawNumber(std::string_view number);
  void Int(int64_t value);
  void Bool(bool value);

  // Writes `json`, compact JSON made beforehand (a constant of the caller, or
  // text cached from an earlier compact writer), as the next value; or,
  // inside an object and not after Key(), as one or more complete members
  // (`"a":1,"b":[2]`). Compact output copies it as is; pretty output
  // re-indents it to the current depth. Either way the bytes are the same as
  // writing the same tokens one by one, so a constant fragment that repeats
  // in every resource costs one copy instead of a dozen tokens. `json` must
  // be valid compact JSON: no whitespace outside strings, keys as for Key().
  void RawJson(std::string_view json);

  // Direct output, for callers that write much fixed structure (the FHIR
  // mappers' per-resource templates). Compact writers only.
  //
  // RawBegin() writes the comma that the next value or member needs, if
  // any. Raw() then appends compact JSON text verbatim (keys, brackets,
  // constants, and text known to need no escaping such as ids, numbers and
  // dates), RawEscaped() appends the escaped contents of a string (without
  // quotes) and RawString() a quoted, escaped string. RawEnd() ends the run:
  // the text written since RawBegin() is one or more complete values or
  // members (with the commas between them), and may then open
  // (`depth_change` > 0) or close (< 0) containers: a container it leaves
  // open must have a member, and a run cannot begin by closing one (the
  // comma is already written: close with EndObject()/EndArray() first). The
  // bytes are then the same as writing the same tokens one by one.
  void RawBegin();
  // Raw(a, b, ...) appends the pieces in order (anything std::string_view
  // can be made from) with one room check. It is written inline: the size
  // of a string constant is then known where it is called, and its copy
  // compiles to a few stores (a template of a resource is mostly such
  // pieces, and a call per piece or a loop over them cost several times
  // more).
  template <typename... Pieces>
  [[gnu::always_inline]] void Raw(const Pieces&... pieces) {
    static_assert(sizeof...(Pieces) > 0);
    AppendViews(std::string_view(pieces)...);
  }
  void Raw(std::initializer_list<std::string_view> json);
  void RawEscaped(std::string_view utf8);
  void RawString(std::string_view utf8);
  // Raw(json_before), then RawString(utf8): a key and its string value.
  void RawString(std::string_view json_before, std::string_view utf8);
  void RawEnd(int depth_change = 0);

  // Key + value shorthands.
  void Member(std::string_view key, std::string_view value);
  void Member(std::string_view key, const char* value) {
    Member(key, std::string_view(value));
  }
  void MemberOfParts(std::string_view key,
                     std::initializer_list<std::string_view> parts);
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
  size_t depth() const { return depth_; }
  bool pretty() const { return pretty_; }

 private:
  // Makes room for a token of up to `payload` bytes and writes what goes
  // before it (comma; newline and indent when pretty). Returns where the
  // payload goes; the caller stores it and passes the end to Commit().
  char* BeginToken(size_t payload);
  char* BeginPrettyToken(size_t payload);  // BeginToken when pretty_.
  void Commit(const char* end) {
    len_ = static_cast<size_t>(end - out_->data());
  }
  // Makes `*out_` at least `len_ + n` bytes long (zero-filled room).
  void Grow(size_t n);
  // Always inline (GCC leaves calls with many pieces out of line): the
  // point is that the sizes of constants are known at the copy.
  template <typename... Views>
  [[gnu::always_inline]] void AppendViews(Views... views) {
    const size_t size = (views.size() + ...);
    if (out_->size() - len_ < size) Grow(size);
    char* p = out_->data() + len_;
    ((p = CopyShort(p, views.data(), views.size())), ...);
    Commit(p);
  }
  char* WriteKey(char* p, std::string_view key) const;
  // Opens (`open` '{' or '[') or closes a container.
  void Open(char open);
  void Close(char close);
  // The document is complete: trim `*out_` (see the constructor).
  void FinishIfComplete() {
    if (depth_ == 0) Finish();
  }

  std::string* out_;  // Not owned.
  size_t len_;        // Bytes of *out_ that are output; the rest is room.
  bool pretty_;
  // Overwrite mode, until the first token: `*out_` starts at len_ (0), not
  // after its current contents.
  bool overwrite_ = false;
  size_t depth_ = 0;
  // The next token is a value right after its key (no comma, no newline).
  bool after_key_ = false;
  // The open container already has a member: the next one needs a comma.
  bool need_comma_ = false;
};

// Appends compact JSON `json` (as written by a compact JsonWriter) to `*out`
// indented as a pretty JsonWriter would write the same tokens: a document
// can be written compact and indented afterwards.
void AppendPrettyJson(std::string_view json, std::string* out);

// Appends `s` as a quoted JSON string to `*out` (escaping as above).
void AppendJsonString(std::string_view s, std::string* out);

// Turns an HL7 NM value ([+|-]digits[.digits] or .digits, leading zeros
// allowed) into a JSON/FHIR decimal keeping its precision: "065.88" -> "65.88",
// "+5" -> "5", ".5" -> "0.5", "-0.50" -> "-0.50", "5." -> "5". Returns false
// (and leaves *out alone) when `nm` is not such a number (e.g. "1,5").
// `nm` must not point into `*out`.
bool NormalizeDecimal(std::string_view nm, std::string* out);

}  // namespace appliance::fhir

#endif  // APPLIANCE_FHIR_JSON_WRITER_H_
