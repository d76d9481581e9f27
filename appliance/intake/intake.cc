#include "appliance/intake/intake.h"

#include <glog/logging.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "appliance/crypto/hash.h"

namespace appliance::intake {
namespace {

pb::AckCode ToProto(hl7::AckCode code) {
  switch (code) {
    case hl7::AckCode::kAccept:
      return pb::ACK_CODE_ACCEPT;
    case hl7::AckCode::kError:
      return pb::ACK_CODE_ERROR;
    case hl7::AckCode::kReject:
      return pb::ACK_CODE_REJECT;
  }
  return pb::ACK_CODE_REJECT;
}

hl7::AckCode FromProto(pb::AckCode code) {
  switch (code) {
    case pb::ACK_CODE_ACCEPT:
      return hl7::AckCode::kAccept;
    case pb::ACK_CODE_ERROR:
      return hl7::AckCode::kError;
    default:
      return hl7::AckCode::kReject;
  }
}

}  // namespace

void Intake::OnTlsRefused(const PeerContext& peer, const std::string& reason) {
  security_audit_.Record(pb::AUDIT_TLS_REFUSED, pb::AUDIT_OUTCOME_MINOR_FAILURE,
                         peer.address,
                         absl::StrCat("MLLP TLS handshake refused: ", reason));
}

std::string Hl7Timestamp(int64_t micros) {
  const time_t secs = static_cast<time_t>(micros / 1000000);
  struct tm utc;
  gmtime_r(&secs, &utc);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y%m%d%H%M%S+0000", &utc);
  return buf;
}

// One message in flight: its bytes and everything parsed from them (the
// Message views `payload`, so they live and die together).
struct Intake::Work {
  std::chrono::steady_clock::time_point arrived;
  int64_t processing_ns = 0;
  std::string payload;
  hl7::Outcome outcome;
  std::string ack_control_id;
  std::string timestamp;
  AckCallback done;
  hl7::AckOptions AckOpts(const IntakeOptions& o) const {
    hl7::AckOptions a;
    a.control_id = ack_control_id;
    a.timestamp = timestamp;
    a.application = o.ack_application;
    a.facility = o.ack_facility;
    return a;
  }
};

Intake::Intake(MessageStore* store, const Clock* clock, IntakeOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      engine_(options_.policy, options_.parse),
      ack_id_prefix_(
          absl::StrCat("A", clock->NowMicros() / 1000000 % 100000000, "-")),
      security_audit_(store, clock) {}

std::string Intake::NextAckControlId() {
  return absl::StrCat(ack_id_prefix_, ++ack_counter_);
}

namespace {

int64_t NanosSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now() - t)
      .count();
}

}  // namespace

void Intake::OnMessage(const PeerContext& peer, std::string payload,
                       AckCallback done) {
  stats_.received++;
  auto work = std::make_shared<Work>();
  if (options_.observer != nullptr) {
    work->arrived = std::chrono::steady_clock::now();
  }
  work->payload = std::move(payload);
  work->done = std::move(done);
  work->ack_control_id = NextAckControlId();
  work->timestamp = Hl7Timestamp(clock_->NowMicros());
  engine_.Process(work->payload, work->AckOpts(options_), &work->outcome);
  if (options_.observer != nullptr) work->processing_ns = NanosSince(work->arrived);
  Submit(std::move(work), peer, /*oversized=*/false);
}

void Intake::OnOversized(const PeerContext& peer, std::string prefix,
                         AckCallback done) {
  stats_.received++;
  stats_.oversized++;
  auto work = std::make_shared<Work>();
  if (options_.observer != nullptr) {
    work->arrived = std::chrono::steady_clock::now();
  }
  work->payload = std::move(prefix);
  work->done = std::move(done);
  work->ack_control_id = NextAckControlId();
  work->timestamp = Hl7Timestamp(clock_->NowMicros());
  hl7::Outcome& out = work->outcome;
  // Only the header matters: parse the first segment of the prefix.
  const size_t end = work->payload.find_first_of("\r\n");
  const std::string_view header =
      std::string_view(work->payload).substr(0, end);
  out.parse_status = out.message.ParseInto(header, options_.parse);
  out.validation.findings.clear();
  out.validation.findings.push_back(hl7::Finding{
      hl7::ErrorCode::kApplicationError, hl7::Severity::kError, hl7::Location(),
      absl::StrCat("message exceeds the maximum frame size of ",
                   options_.max_frame_bytes, " bytes")});
  if (out.parse_status.ok()) {
    hl7::BuildAckInto(out.message, out.validation.findings,
                      hl7::AckCode::kReject, work->AckOpts(options_), &out.ack);
  } else {
    out.ack = hl7::BuildRejectForUnparseable(
        absl::InvalidArgumentError(
            absl::StrCat("message exceeds the maximum frame size of ",
                         options_.max_frame_bytes, " bytes")),
        work->AckOpts(options_), hl7::ErrorCode::kApplicationError);
  }
  if (options_.observer != nullptr) work->processing_ns = NanosSince(work->arrived);
  Submit(std::move(work), peer, /*oversized=*/true);
}

void Intake::Submit(std::shared_ptr<Work> work, const PeerContext& peer,
                    bool oversized) {
  const hl7::Outcome& out = work->outcome;
  IntakeRequest req;
  req.raw = work->payload;
  req.peer = peer.address;
  req.tls_subject = peer.tls_subject;
  pb::MessageMeta& meta = req.meta;
  meta.set_received_at_us(clock_->NowMicros());
  const crypto::Sha256Digest digest = crypto::Sha256(work->payload);
  meta.set_raw_sha256(std::string(crypto::AsBytes(digest)));
  meta.set_ack_code(ToProto(out.ack.code));
  meta.set_parse_failed(!out.parse_status.ok());
  if (out.parse_status.ok()) {
    const hl7::Message& m = out.message;
    const hl7::Delimiters& d = m.delimiters();
    meta.set_sending_application(std::string(m.msh(3)));
    meta.set_sending_facility(std::string(m.msh(4)));
    meta.set_control_id(std::string(m.control_id()));
    const std::string_view code = hl7::Piece(m.msh(9), d.component, 1);
    const std::string_view event = hl7::Piece(m.msh(9), d.component, 2);
    meta.set_message_type(event.empty() ? std::string(code)
                                        : absl::StrCat(std::string(code), "^",
                                                       std::string(event)));
    meta.set_version(std::string(m.version()));
    if (!oversized && !m.control_id().empty()) {
      req.dedupe_key = DedupeKey(m.msh(3), m.msh(4), m.control_id());
    }
  }
  if (!out.parse_status.ok()) {
    pb::Finding* f = meta.add_findings();
    f->set_code(static_cast<int>(hl7::ErrorCode::kSegmentSequence));
    f->set_severity("E");
    f->set_text(absl::StrCat("message could not be parsed: ",
                             std::string(out.parse_status.message())));
  }
  for (const hl7::Finding& finding : out.validation.findings) {
    pb::Finding* f = meta.add_findings();
    f->set_code(static_cast<int>(finding.code));
    f->set_severity(hl7::SeverityCode(finding.severity));
    f->set_location(finding.location.ToString());
    f->set_text(finding.text);
  }

  std::string type_for_observer;
  if (options_.observer != nullptr) type_for_observer = meta.message_type();
  store_->Submit(std::move(req), [this, work = std::move(work), oversized,
                                  type = std::move(type_for_observer)](
                                     absl::StatusOr<IntakeResult> r) {
    hl7::Outcome& out = work->outcome;
    if (!r.ok()) {
      // Not stored: never a positive ACK. An AE the sender can retry on.
      stats_.store_failures++;
      std::vector<hl7::Finding> findings = {hl7::Finding{
          hl7::ErrorCode::kApplicationError, hl7::Severity::kError,
          hl7::Location(),
          "message could not be stored by the receiver; send it again later"}};
      if (out.parse_status.ok()) {
        hl7::Ack ack;
        hl7::BuildAckInto(out.message, findings, hl7::AckCode::kError,
                          work->AckOpts(options_), &ack);
        Observe(*work, type, ack.code, false, false, oversized);
        work->done(std::move(ack.text), /*close=*/false);
      } else {
        Observe(*work, type, out.ack.code, false, false, oversized);
        work->done(std::move(out.ack.text), /*close=*/true);
      }
      return;
    }
    if (r->duplicate) {
      stats_.duplicates++;
      const hl7::AckCode first = FromProto(r->ack_code);
      if (first != out.ack.code && out.parse_status.ok()) {
        hl7::BuildAckInto(out.message, out.validation.findings, first,
                          work->AckOpts(options_), &out.ack);
      }
    }
    switch (out.ack.code) {
      case hl7::AckCode::kAccept:
        stats_.accepted++;
        if (!r->duplicate && options_.on_accepted) options_.on_accepted();
        break;
      case hl7::AckCode::kError:
        stats_.errors++;
        break;
      case hl7::AckCode::kReject:
        stats_.rejected++;
        break;
    }
    Observe(*work, type, out.ack.code, r->duplicate, true, oversized);
    work->done(out.ack.send ? std::move(out.ack.text) : std::string(),
               /*close=*/oversized);
  });
}

void Intake::Observe(const Work& work, std::string_view type,
                     hl7::AckCode code, bool duplicate, bool stored,
                     bool oversized) const {
  if (options_.observer == nullptr) return;
  options_.observer->OnAnswered(type, code, duplicate, stored, oversized,
                                work.processing_ns, NanosSince(work.arrived));
}

}  // namespace appliance::intake
