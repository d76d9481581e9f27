#include "tools/hl7ctl/command_util.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace hl7ctl {

std::string StateText(spb::MessageState state) {
  return ShortEnumName(spb::MessageState_Name(state), "MESSAGE_STATE_");
}

bool ParseState(const std::string& text, spb::MessageState* state) {
  std::string name = absl::AsciiStrToUpper(text);
  if (name.rfind("MESSAGE_STATE_", 0) != 0) name = "MESSAGE_STATE_" + name;
  return spb::MessageState_Parse(name, state) &&
         *state != spb::MESSAGE_STATE_UNSPECIFIED;
}

std::string AckText(spb::AckCode code) {
  switch (code) {
    case spb::ACK_CODE_ACCEPT:
      return "AA";
    case spb::ACK_CODE_ERROR:
      return "AE";
    case spb::ACK_CODE_REJECT:
      return "AR";
    default:
      return "-";
  }
}

Fields QueueItemFields(const api::QueueItem& item) {
  Fields f = {
      {"seq", absl::StrCat(item.seq())},
      {"state", StateText(item.state())},
      {"message_type", item.message_type()},
      {"control_id", item.control_id()},
      {"received_at", FormatTime(item.received_at())},
      {"enqueued_at", FormatTime(item.enqueued_at())},
      {"attempts", absl::StrCat(item.attempts())},
      {"first_attempt_at", FormatTime(item.first_attempt_at())},
      {"next_attempt_at", FormatTime(item.next_attempt_at())},
      {"delivered_at", FormatTime(item.delivered_at())},
      {"last_http_status", absl::StrCat(item.last_http_status())},
      {"last_error", item.last_error().empty() ? "-" : item.last_error()},
      {"destination", item.destination().empty() ? "-" : item.destination()},
      {"has_operation_outcome", item.has_operation_outcome() ? "yes" : "no"},
  };
  return f;
}

Fields MessageFields(const api::MessageSummary& m) {
  Fields f = {
      {"seq", absl::StrCat(m.seq())},
      {"received_at", FormatTime(m.received_at())},
      {"message_type", m.message_type()},
      {"control_id", m.control_id()},
      {"version", m.version()},
      {"sending_application", m.sending_application()},
      {"sending_facility", m.sending_facility()},
      {"peer", m.peer()},
      {"tls_subject", m.tls_subject().empty() ? "-" : m.tls_subject()},
      {"ack", AckText(m.ack_code())},
      {"state", StateText(m.state())},
      {"raw_sha256", m.raw_sha256()},
      {"raw_size", absl::StrCat(m.raw_size())},
      {"duplicates", absl::StrCat(m.duplicates())},
      {"data_key_id", absl::StrCat(m.data_key_id())},
      {"parse_failed", m.parse_failed() ? "yes" : "no"},
  };
  for (int i = 0; i < m.findings_size(); ++i) {
    const auto& x = m.findings(i);
    f.emplace_back(absl::StrCat("finding[", i, "]"),
                   absl::StrCat(x.severity(), " ", x.code(), " ", x.location(),
                                " ", x.text()));
  }
  return f;
}

void PrintText(std::ostream& out, const std::string& text) {
  out << text;
  if (text.empty() || text.back() != '\n') out << "\n";
}

Fields DeliveryFields(const api::DeliveryState& d) {
  if (!d.configured()) return {{"configured", "no"}};
  return {
      {"configured", "yes"},
      {"destination", d.destination()},
      {"paused", d.paused() ? "yes" : "no"},
      {"breaker_open", d.breaker_open() ? "yes" : "no"},
      {"queued", absl::StrCat(d.queued())},
      {"in_flight", absl::StrCat(d.in_flight())},
      {"retrying", absl::StrCat(d.retrying())},
      {"dead_letters", absl::StrCat(d.dead_letters())},
      {"next_due", FormatTime(d.next_due())},
      {"attempts", absl::StrCat(d.attempts())},
      {"delivered", absl::StrCat(d.delivered())},
      {"failed_attempts", absl::StrCat(d.failed_attempts())},
      {"dead_lettered", absl::StrCat(d.dead_lettered())},
      {"last_success", FormatTime(d.last_success())},
      {"last_failure", FormatTime(d.last_failure())},
  };
}

}  // namespace hl7ctl
