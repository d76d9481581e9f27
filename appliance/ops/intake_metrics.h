// Prometheus metrics of the intake (the ACK path): lock-free counters and
// histograms updated from IntakeObserver::OnAnswered().
//
//   hl7_messages_total{type,outcome}   outcome: accepted|error|rejected|
//                                      not_stored (duplicates included)
//   hl7_acks_total{code}               AA|AE|AR sent
//   hl7_duplicates_total
//   hl7_oversized_frames_total
//   hl7_ack_latency_seconds            frame -> ACK released (histogram)
//   hl7_processing_seconds             parse + validate + ACK build
//
// The type label takes only the types in the allowlist below; anything else
// (including text a sender made up) is "other", so a sender cannot grow the
// number of series.
#ifndef APPLIANCE_OPS_INTAKE_METRICS_H_
#define APPLIANCE_OPS_INTAKE_METRICS_H_

#include <string>
#include <string_view>
#include <vector>

#include "appliance/intake/intake.h"
#include "appliance/ops/metrics.h"

namespace appliance::ops {

class IntakeMetrics final : public intake::IntakeObserver {
 public:
  // Registers the metrics in `registry`, which must outlive this.
  explicit IntakeMetrics(Registry& registry);

  void OnAnswered(std::string_view type, hl7::AckCode code, bool duplicate,
                  bool stored, bool oversized, int64_t processing_ns,
                  int64_t ack_latency_ns) override;

  // The label value of `type`: itself when allowlisted, else "other"
  // ("unparsed" when empty).
  static std::string_view TypeLabel(std::string_view type);

 private:
  static constexpr int kOutcomes = 4;  // accepted, error, rejected, not_stored
  struct TypeSeries {
    std::string type;
    Counter* outcome[kOutcomes];
  };
  std::vector<TypeSeries> types_;  // Fixed after construction.
  Counter* acks_[3];
  Counter& duplicates_;
  Counter& oversized_;
  Histogram& ack_latency_;
  Histogram& processing_;
};

}  // namespace appliance::ops

#endif  // APPLIANCE_OPS_INTAKE_METRICS_H_
