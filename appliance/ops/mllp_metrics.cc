#include "appliance/ops/mllp_metrics.h"

namespace appliance::ops {

void WriteMllpStats(const mllp::ServerStats& s, MetricsWriter& w) {
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  w.Counter("hl7_mllp_connections_accepted_total",
            "MLLP connections admitted.", d(s.connections_accepted));
  w.Gauge("hl7_mllp_connections_active", "Open MLLP connections.",
          d(s.connections_active));
  w.Counter("hl7_mllp_connections_rejected_total",
            "MLLP connections closed at once: over the total or per-address "
            "limit.",
            d(s.connections_rejected_limit));
  w.Counter("hl7_mllp_frames_total", "MLLP frames received.",
            d(s.frames_received));
  w.Counter("hl7_mllp_limit_violations_total",
            "MLLP connections or frames cut by a limit, by limit.",
            d(s.frames_oversized), {{"limit", "frame_size"}});
  w.Counter("hl7_mllp_limit_violations_total", "", d(s.idle_timeouts),
            {{"limit", "idle_timeout"}});
  w.Counter("hl7_mllp_limit_violations_total", "", d(s.slow_sender_closes),
            {{"limit", "slow_sender"}});
  w.Counter("hl7_mllp_limit_violations_total", "",
            d(s.connections_rejected_limit), {{"limit", "connections"}});
  w.Counter("hl7_mllp_framing_bytes_total",
            "Bytes outside frames: skipped junk and abandoned partial frames.",
            d(s.bytes_skipped), {{"kind", "skipped"}});
  w.Counter("hl7_mllp_framing_bytes_total", "", d(s.bytes_discarded),
            {{"kind", "discarded"}});
  w.Counter("hl7_mllp_tls_handshake_failures_total",
            "Failed or timed-out TLS handshakes.", d(s.tls_handshake_failures));
  w.Counter("hl7_mllp_responses_total", "Non-empty MLLP responses written.",
            d(s.responses_sent));
  w.Counter("hl7_mllp_responders_dropped_total",
            "Frames whose responder was dropped unanswered.",
            d(s.responders_dropped));
}

}  // namespace appliance::ops
