#include "appliance/ops/intake_metrics.h"

namespace appliance::ops {
namespace {

constexpr std::string_view kTypes[] = {
    "ORU^R01", "ORM^O01", "ADT^A01", "ADT^A02", "ADT^A03", "ADT^A04",
    "ADT^A05", "ADT^A08", "ADT^A11", "ADT^A13", "ADT^A31", "ADT^A40",
    "ACK",     "other",   "unparsed"};
constexpr size_t kOther = 13;     // Index of "other" in kTypes.
constexpr size_t kUnparsed = 14;  // ... and of "unparsed".
static_assert(kTypes[kOther] == "other" && kTypes[kUnparsed] == "unparsed");

// Index in kTypes (and types_) of the series `type` is counted in.
size_t TypeIndex(std::string_view type) {
  if (type.empty()) return kUnparsed;
  for (size_t i = 0; i < kOther; ++i) {
    if (kTypes[i] == type) return i;
  }
  return kOther;
}

constexpr const char* kOutcomeNames[] = {"accepted", "error", "rejected",
                                         "not_stored"};

int AckIndex(hl7::AckCode code) {
  switch (code) {
    case hl7::AckCode::kAccept:
      return 0;
    case hl7::AckCode::kError:
      return 1;
    case hl7::AckCode::kReject:
      return 2;
  }
  return 2;
}

}  // namespace

std::string_view IntakeMetrics::TypeLabel(std::string_view type) {
  return kTypes[TypeIndex(type)];
}

IntakeMetrics::IntakeMetrics(Registry& registry)
    : duplicates_(registry.AddCounter(
          "hl7_duplicates_total",
          "Repeated messages (same MSH-3, MSH-4, MSH-10) answered again.")),
      oversized_(registry.AddCounter("hl7_oversized_frames_total",
                                     "Frames over the size limit (answered "
                                     "AR, connection closed).")),
      ack_latency_(registry.AddHistogram(
          "hl7_ack_latency_seconds",
          "Time from a frame reaching the intake to its ACK being released "
          "(after the commit holding the message).",
          LatencyBounds())),
      processing_(registry.AddHistogram(
          "hl7_processing_seconds",
          "Parse, validate and ACK build time of a frame (I/O thread).",
          LatencyBounds())) {
  CounterFamily& messages = registry.AddCounterFamily(
      "hl7_messages_total",
      "Frames answered, by message type and outcome (duplicates included).",
      {"type", "outcome"});
  for (std::string_view t : kTypes) {
    TypeSeries s;
    s.type = std::string(t);
    for (int o = 0; o < kOutcomes; ++o) {
      s.outcome[o] = &messages.With({s.type, kOutcomeNames[o]});
    }
    types_.push_back(std::move(s));
  }
  CounterFamily& acks =
      registry.AddCounterFamily("hl7_acks_total", "ACKs sent, by code.", {"code"});
  acks_[0] = &acks.With({"AA"});
  acks_[1] = &acks.With({"AE"});
  acks_[2] = &acks.With({"AR"});
}

void IntakeMetrics::OnAnswered(std::string_view type, hl7::AckCode code,
                               bool duplicate, bool stored, bool oversized,
                               int64_t processing_ns, int64_t ack_latency_ns) {
  const int outcome = stored ? AckIndex(code) : 3;
  types_[TypeIndex(type)].outcome[outcome]->Inc();  // Built in kTypes order.
  acks_[AckIndex(code)]->Inc();
  if (duplicate) duplicates_.Inc();
  if (oversized) oversized_.Inc();
  processing_.Observe(static_cast<double>(processing_ns) * 1e-9);
  ack_latency_.Observe(static_cast<double>(ack_latency_ns) * 1e-9);
}

}  // namespace appliance::ops
