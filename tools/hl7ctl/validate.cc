#include "tools/hl7ctl/validate.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "appliance/hl7/engine.h"
#include "tools/hl7ctl/file_util.h"

namespace hl7ctl {
namespace {

using appliance::hl7::AckCode;
using appliance::hl7::AckOptions;
using appliance::hl7::Engine;
using appliance::hl7::Finding;
using appliance::hl7::Outcome;
using appliance::hl7::Severity;

std::string NowTimestamp() {
  const time_t now = time(nullptr);
  struct tm utc;
  gmtime_r(&now, &utc);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y%m%d%H%M%S+0000", &utc);
  return buf;
}

const char* SeverityWord(Severity s) {
  switch (s) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kInformation:
      return "info";
  }
  return "error";
}

// Prints the ACK's segments, one per line, indented.
void PrintAck(const std::string& ack, std::ostream& out) {
  bool first = true;
  size_t start = 0;
  while (start < ack.size()) {
    size_t end = ack.find('\r', start);
    if (end == std::string::npos) end = ack.size();
    out << (first ? "  ACK: " : "       ") << ack.substr(start, end - start)
        << "\n";
    first = false;
    start = end + 1;
  }
}

}  // namespace

int RunValidate(const std::vector<std::string>& files, std::ostream& out,
                std::ostream& err) {
  Engine engine;
  Outcome outcome;
  const std::string timestamp = NowTimestamp();
  bool unreadable = false;
  bool all_accepted = true;
  int ack_counter = 0;
  for (const std::string& path : files) {
    std::string bytes;
    std::string error;
    if (!ReadRegularFile(path, &bytes, &error)) {
      err << path << ": cannot read: " << error << "\n";
      unreadable = true;
      continue;
    }
    std::vector<std::string_view> messages =
        appliance::hl7::SplitMessages(bytes);
    if (messages.empty()) messages.push_back(bytes);  // Gets an AR.
    for (size_t i = 0; i < messages.size(); ++i) {
      const std::string control_id = "HL7CTL" + std::to_string(++ack_counter);
      AckOptions options;
      options.control_id = control_id;
      options.timestamp = timestamp;
      engine.Process(messages[i], options, &outcome);
      out << path << ": message " << (i + 1) << " of " << messages.size();
      if (outcome.parse_status.ok()) {
        const auto& type = outcome.validation.type;
        out << ", control id " << outcome.message.control_id() << ", "
            << outcome.message.msh(9) << ", version "
            << outcome.message.version();
        if (!type.structure.empty()) out << " (" << type.structure << ")";
      }
      out << ": " << outcome.ack.code_text;
      if (!outcome.ack.send) out << " (not sent: MSH-15 asks for none)";
      out << "\n";
      if (!outcome.parse_status.ok()) {
        out << "  error: message could not be parsed: "
            << outcome.parse_status.message() << "\n";
      }
      for (const Finding& f : outcome.validation.findings) {
        out << "  " << SeverityWord(f.severity) << " "
            << static_cast<int>(f.code) << " at " << f.location.ToString()
            << ": " << f.text << "\n";
      }
      PrintAck(outcome.ack.text, out);
      if (outcome.ack.code != AckCode::kAccept) all_accepted = false;
    }
  }
  if (unreadable) return kValidateUnreadable;
  return all_accepted ? kValidateAllAccepted : kValidateNotAccepted;
}

}  // namespace hl7ctl
