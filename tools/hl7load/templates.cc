#include "tools/hl7load/templates.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace hl7load {

const std::string& BuiltinOru() {
  static const std::string* const kOru = new std::string(
      "MSH|^~\\&|HL7LOAD|LOADLAB|HL7APPLIANCE|GENHOSP|20261102120000||"
      "ORU^R01^ORU_R01|LOAD-1|P|2.5.1\r"
      "PID|1||MRN9000001^^^GENHOSP^MR||TESTPATIENT^LOAD||19800101|F\r"
      "OBR|1||LOAD1|2345-7^Glucose^LN|||20261102115500||||||||||||||||||F\r"
      "OBX|1|NM|2345-7^Glucose^LN||5.1|mmol/L|3.9-6.1|N|||F\r");
  return *kOru;
}

absl::StatusOr<MessageTemplate> MessageTemplate::Create(std::string message) {
  if (message.size() < 4 || message.compare(0, 3, "MSH") != 0) {
    return absl::InvalidArgumentError("message does not start with MSH");
  }
  const char sep = message[3];
  if (sep == '\r') return absl::InvalidArgumentError("MSH has no fields");
  size_t segment_end = message.find('\r');
  if (segment_end == std::string::npos) segment_end = message.size();
  // MSH-1 is the separator at offset 3; MSH-n (n >= 2) starts after the
  // (n-1)th separator, so MSH-10 after the 9th.
  size_t pos = 3;
  int separators = 1;
  while (separators < 9) {
    const size_t next = message.find(sep, pos + 1);
    if (next == std::string::npos || next >= segment_end) break;
    pos = next;
    ++separators;
  }
  MessageTemplate t;
  if (separators < 9) {
    t.prefix_ = message.substr(0, segment_end) +
                std::string(static_cast<size_t>(9 - separators), sep);
    t.suffix_ = message.substr(segment_end);
  } else {
    const size_t begin = pos + 1;
    size_t end = message.find(sep, begin);
    if (end == std::string::npos || end > segment_end) end = segment_end;
    t.prefix_ = message.substr(0, begin);
    t.control_id_ = message.substr(begin, end - begin);
    t.suffix_ = message.substr(end);
  }
  t.message_ = std::move(message);
  return t;
}

std::string MessageTemplate::WithControlId(std::string_view control_id) const {
  std::string out;
  out.reserve(prefix_.size() + control_id.size() + suffix_.size());
  out.append(prefix_).append(control_id).append(suffix_);
  return out;
}

}  // namespace hl7load
