// libFuzzer target: parse + validate + ACK, escaping and path parsing must
// never crash, and their outputs must keep their invariants on any input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "appliance/hl7/engine.h"
#include "appliance/hl7/escape.h"

namespace {

using namespace appliance::hl7;  // NOLINT: fuzz harness.

std::string_view current_input;  // For the report on a violation.

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "invariant violated: %s\ninput (%zu bytes):", what,
            current_input.size());
    for (unsigned char c : current_input) {
      fprintf(stderr, (c >= 0x20 && c < 0x7f && c != '\\') ? "%c" : "\\x%02x", c);
    }
    fprintf(stderr, "\n");
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  current_input = input;
  static const Engine* const engine = new Engine();
  AckOptions options;
  options.control_id = "FUZZ1";
  options.timestamp = "20260101000000";

  for (std::string_view msg : SplitMessages(input)) {
    Check(msg.substr(0, 3) == "MSH", "split message starts with MSH");
  }

  Outcome out;
  engine->Process(input, options, &out);
  // Every input gets an ACK that is itself a well-formed message whose MSA-1
  // is the decided code and MSA-2 the message's control id.
  Message ack;
  Check(ack.ParseInto(out.ack.text).ok(), "ACK parses");
  Check(ack.Get("MSA-1") == out.ack.code_text, "MSA-1 is the ACK code");
  if (out.parse_status.ok()) {
    Segment msa;
    Check(ack.FindSegment("MSA", 1, &msa), "ACK has MSA");
    Check(msa.field(2) == out.message.control_id(), "MSA-2 echoes MSH-10");
    for (size_t i = 0; i < out.message.segment_count(); ++i) {
      const Segment s = out.message.segment(i);
      Check(!s.raw().empty(), "segments are non-empty");
      for (size_t f = 0; f < s.field_count(); ++f) {
        (void)Unescape(s.field(f), out.message.delimiters(), Charset::kUtf8);
      }
    }
  } else {
    Check(out.ack.code == AckCode::kReject, "unparseable input is rejected");
  }

  // Escape/Unescape round trip for arbitrary text under standard delimiters.
  const Delimiters d;
  const std::string text(input.substr(0, 256));
  if (IsValidUtf8(text)) {
    Check(Unescape(Escape(text, d), d, Charset::kUtf8) == text,
          "Unescape(Escape(x)) == x");
  }
  (void)Location::Parse(input.substr(0, 32));
  return 0;
}
