#include "appliance/control/convert.h"

#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "appliance/crypto/hash.h"

namespace appliance::control {
namespace {

constexpr char kTokenVersion[] = "p1";
// Timestamp limits of google.protobuf.Timestamp (0001-01-01 .. 9999-12-31).
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;

}  // namespace

uint32_t EffectivePageSize(uint32_t requested) {
  if (requested == 0) return kDefaultPageSize;
  return requested > kMaxPageSize ? kMaxPageSize : requested;
}

std::string EncodePageToken(std::string_view kind, uint64_t after) {
  const std::string plain =
      absl::StrCat(kTokenVersion, ":", std::string(kind), ":", after);
  std::string out;
  absl::WebSafeBase64Escape(plain, &out);
  return out;
}

absl::StatusOr<uint64_t> DecodePageToken(std::string_view kind,
                                         std::string_view token) {
  if (token.empty()) return 0;
  std::string plain;
  const std::string prefix =
      absl::StrCat(kTokenVersion, ":", std::string(kind), ":");
  if (!absl::WebSafeBase64Unescape(std::string(token), &plain) ||
      plain.compare(0, prefix.size(), prefix) != 0 ||
      plain.size() == prefix.size() || plain.size() > prefix.size() + 20) {
    return absl::InvalidArgumentError(
        "page_token: malformed, or from another listing");
  }
  const std::string digits = plain.substr(prefix.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError("page_token: malformed");
  }
  return static_cast<uint64_t>(strtoull(digits.c_str(), nullptr, 10));
}

void ToTimestamp(int64_t micros, google::protobuf::Timestamp* out) {
  if (micros == 0) return;
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest * 1000));
}

int64_t FromTimestamp(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000000 + ts.nanos() / 1000;
}

absl::Status CheckTimestamp(const google::protobuf::Timestamp& ts,
                            std::string_view field) {
  if (ts.seconds() < kMinSeconds || ts.seconds() > kMaxSeconds ||
      ts.nanos() < 0 || ts.nanos() > 999999999) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": timestamp out of range"));
  }
  return absl::OkStatus();
}

void ToSummary(const spb::MessageMeta& m, api::MessageSummary* out) {
  out->set_seq(m.seq());
  ToTimestamp(m.received_at_us(), out->mutable_received_at());
  out->set_peer(m.peer());
  out->set_tls_subject(m.tls_subject());
  out->set_sending_application(m.sending_application());
  out->set_sending_facility(m.sending_facility());
  out->set_control_id(m.control_id());
  out->set_message_type(m.message_type());
  out->set_version(m.version());
  out->set_ack_code(m.ack_code());
  out->set_state(m.state());
  *out->mutable_findings() = m.findings();
  out->set_raw_sha256(crypto::ToHex(m.raw_sha256()));
  out->set_raw_size(m.raw_size());
  out->set_duplicates(m.duplicates());
  out->set_data_key_id(m.data_key_id());
  out->set_parse_failed(m.parse_failed());
}

void AddMessageFields(const spb::MessageMeta& meta, api::QueueItem* out) {
  out->set_message_type(meta.message_type());
  out->set_control_id(meta.control_id());
  ToTimestamp(meta.received_at_us(), out->mutable_received_at());
}

void ToQueueItem(const spb::PipelineEntry& e, api::QueueItem* out) {
  out->set_seq(e.seq());
  out->set_state(e.state());
  ToTimestamp(e.enqueued_at_us(), out->mutable_enqueued_at());
  if (e.state() == spb::MESSAGE_STATE_RETRYING) {
    ToTimestamp(e.next_attempt_at_us(), out->mutable_next_attempt_at());
  }
  out->set_attempts(e.attempts());
  out->set_last_error(e.last_error());
  ToTimestamp(e.first_attempt_at_us(), out->mutable_first_attempt_at());
  out->set_last_http_status(e.last_http_status());
  ToTimestamp(e.delivered_at_us(), out->mutable_delivered_at());
  out->set_destination(e.destination());
  out->set_has_operation_outcome(!e.sealed_outcome().empty());
}

void ToAuditEvent(const spb::AuditRecord& r, api::AuditEvent* out) {
  out->set_seq(r.seq());
  ToTimestamp(r.time_us(), out->mutable_time());
  out->set_type(r.type());
  out->set_outcome(r.outcome());
  out->set_actor(r.actor());
  out->set_message_seq(r.message_seq());
  out->set_control_id(r.control_id());
  out->set_message_sha256(crypto::ToHex(r.message_sha256()));
  out->set_detail(r.detail());
  out->set_hash(crypto::ToHex(r.hash()));
  out->set_prev_hash(crypto::ToHex(r.prev_hash()));
}

absl::Status RequireSeq(uint64_t seq, std::string_view field) {
  if (seq == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": required (a message seq >= 1)"));
  }
  return absl::OkStatus();
}

absl::Status CheckOperatorText(const std::string& text, const char* field,
                               size_t max_size, bool required) {
  if (required && text.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": required (why, no PHI)"));
  }
  if (text.size() > max_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": at most ", max_size, " characters"));
  }
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": control characters are not allowed"));
    }
  }
  return absl::OkStatus();
}

}  // namespace appliance::control
