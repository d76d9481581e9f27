#include "tools/hl7send/send.h"

#include <cstdio>
#include <string>

#include "tools/hl7send/ack.h"

namespace hl7send {
namespace {

using Clock = MllpClient::Clock;

std::string Millis(Clock::duration d) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.3f",
           std::chrono::duration<double, std::milli>(d).count());
  return buf;
}

}  // namespace

SendCounts SendAll(const std::vector<InputMessage>& messages,
                   const SendOptions& options, MllpClient& client,
                   std::ostream& out, std::ostream& err) {
  SendCounts counts;
  for (const InputMessage& message : messages) {
    if (!client.connected()) {
      const absl::Status status =
          client.Connect(Clock::now() + options.timeout);
      if (!status.ok()) {
        err << "hl7send: " << status.message() << "\n";
        counts.connection_failed = true;
        break;
      }
    }
    const std::string label =
        message.file + "#" + std::to_string(message.index);
    const Clock::time_point start = Clock::now();
    const Clock::time_point deadline = start + options.timeout;
    absl::Status status = client.Send(message.payload, deadline);
    if (!status.ok()) {
      err << "hl7send: " << label << ": " << status.message() << "\n";
      counts.connection_failed = true;
      break;
    }
    ++counts.sent;
    status = client.WaitForFrame(deadline);
    if (absl::IsDeadlineExceeded(status)) {
      ++counts.timeouts;
      if (!options.quiet) {
        out << label << " TIMEOUT - " << Millis(Clock::now() - start) << "\n";
      }
      client.Close();  // A late ACK must not answer the next message.
      continue;
    }
    if (!status.ok()) {
      err << "hl7send: " << label << ": " << status.message() << "\n";
      counts.connection_failed = true;
      break;
    }
    MllpClient::Frame frame;
    client.PopFrame(&frame);
    const std::string rtt = Millis(frame.received - start);
    absl::StatusOr<AckInfo> ack = ReadAck(frame.payload);
    if (!ack.ok()) {
      ++counts.bad_acks;
      if (!options.quiet) out << label << " ? - " << rtt << "\n";
      err << "hl7send: " << label << ": " << ack.status().message() << "\n";
      continue;
    }
    if (!options.quiet) {
      out << label << " " << ack->code << " "
          << (ack->control_id.empty() ? "-" : ack->control_id) << " " << rtt
          << "\n";
    }
    const std::string sent_id = ControlIdOf(message.payload);
    if (ack->control_id != sent_id) {
      ++counts.bad_acks;
      err << "hl7send: " << label << ": ACK is for control id \""
          << ack->control_id << "\", not \"" << sent_id << "\"\n";
      continue;
    }
    switch (ClassifyAck(ack->code)) {
      case AckClass::kAccept:
        ++counts.accepted;
        break;
      case AckClass::kError:
        ++counts.errors;
        break;
      case AckClass::kReject:
        ++counts.rejected;
        break;
      case AckClass::kUnknown:
        ++counts.bad_acks;
        err << "hl7send: " << label << ": unknown ACK code \"" << ack->code
            << "\"\n";
        break;
    }
  }
  client.Close();
  const int64_t unsent = static_cast<int64_t>(messages.size()) - counts.sent;
  if (unsent > 0) err << "hl7send: " << unsent << " message(s) not sent\n";
  out << "sent " << counts.sent << ", AA " << counts.accepted << ", AE "
      << counts.errors << ", AR " << counts.rejected << ", timeouts "
      << counts.timeouts << "\n";
  return counts;
}

int ExitStatus(const SendCounts& counts) {
  const bool all_accepted = !counts.connection_failed &&
                            counts.accepted == counts.sent &&
                            counts.bad_acks == 0 && counts.timeouts == 0;
  return all_accepted ? kExitAllAccepted : kExitNotAccepted;
}

}  // namespace hl7send
