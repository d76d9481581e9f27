// HL7 v2 delimiters and splitting of raw values into their pieces.
#ifndef APPLIANCE_HL7_DELIMITERS_H_
#define APPLIANCE_HL7_DELIMITERS_H_

#include <string>
#include <string_view>

namespace appliance::hl7 {

// The separators of one message, read from its MSH-1 and MSH-2. A delimiter a
// message does not declare (short MSH-2) is '\0' and never matches.
struct Delimiters {
  char field = '|';
  char component = '^';
  char repetition = '~';
  char escape = '\\';
  char subcomponent = '&';

  // MSH-2 as it would be written: component, repetition, escape, subcomponent.
  std::string EncodingCharacters() const;
};

// The explicit null value `""`: "delete the stored value", distinct from an
// empty field ("leave unchanged").
inline constexpr std::string_view kNullValue = "\"\"";
inline bool IsNull(std::string_view value) { return value == kNullValue; }

// The n-th (1-based) piece of `value` between separators `sep`; empty when
// absent. `sep` == '\0' means the value has a single piece.
std::string_view Piece(std::string_view value, char sep, size_t n);
// Number of pieces (0 for an empty value).
size_t PieceCount(std::string_view value, char sep);

// Calls fn(piece, n) for every piece of a non-empty `value`, n from 1, in one
// pass (empty pieces included, so positions are kept).
template <typename Fn>
void ForEachPiece(std::string_view value, char sep, Fn fn) {
  if (value.empty()) return;
  int n = 1;
  while (true) {
    const size_t at = sep == '\0' ? std::string_view::npos : value.find(sep);
    fn(value.substr(0, at), n);
    if (at == std::string_view::npos) return;
    value.remove_prefix(at + 1);
    ++n;
  }
}

}  // namespace appliance::hl7

#endif  // APPLIANCE_HL7_DELIMITERS_H_
