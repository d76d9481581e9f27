// HL7 v2 escape sequences and character sets.
//
// Decoding (Unescape) turns a raw field value into UTF-8 text:
//   \F\ \S\ \T\ \R\ \E\   the field, component, subcomponent, repetition and
//                         escape delimiters;
//   \Xhh...\              the bytes hh... in the message's character set;
//   \.br\ \.sp\ \.ce\     a line break (formatted text);
//   \.fi\ \.nf\ \.in\ \.ti\ \.sk\  layout hints, dropped;
//   \H\ \N\               highlighting on/off, dropped;
// Unknown or malformed sequences (\Z..\, \C..\, \M..\, a lone escape
// character, bad hex) pass through unchanged. Decoding never fails.
//
// Encoding (Escape) is the inverse for plain text: delimiters become
// \F\ \S\ \T\ \R\ \E\ and CR/LF become \X0D\ and \X0A\ (in that order).
#ifndef APPLIANCE_HL7_ESCAPE_H_
#define APPLIANCE_HL7_ESCAPE_H_

#include <string>
#include <string_view>

#include "appliance/hl7/delimiters.h"

namespace appliance::hl7 {

// MSH-18 character sets this engine reads.
enum class Charset {
  kAscii,        // MSH-18 empty or "ASCII" (the HL7 default).
  kLatin1,       // "8859/1".
  kUtf8,         // "UNICODE UTF-8".
  kUnsupported,  // Anything else: the message gets an AE naming it.
};

// Charset named by a raw MSH-18 value (its first repetition).
Charset CharsetOf(std::string_view msh18);

// Decodes `value` (raw, as in the message) to UTF-8 text. Bytes >= 0x80 are
// taken as ISO 8859-1 for kLatin1; as UTF-8 for kUtf8 (invalid sequences become
// U+FFFD); for kAscii, which real senders often violate, as UTF-8 when the
// value is valid UTF-8 and as ISO 8859-1 otherwise.
std::string Unescape(std::string_view value, const Delimiters& delimiters,
                     Charset charset = Charset::kAscii);

// True when Unescape(value) may differ from value.
bool NeedsUnescape(std::string_view value, const Delimiters& delimiters);

// Encodes plain text for use as a field value under `delimiters`.
std::string Escape(std::string_view text, const Delimiters& delimiters);

// True when `s` is valid UTF-8.
bool IsValidUtf8(std::string_view s);

}  // namespace appliance::hl7

#endif  // APPLIANCE_HL7_ESCAPE_H_
