#include "appliance/mllp/slow_sender.h"

#include <algorithm>

namespace appliance::mllp {
namespace {

uint64_t RequiredBytes(uint64_t min_bytes_per_second,
                       SlowSenderDetector::Clock::duration window) {
  if (min_bytes_per_second == 0 || window <= window.zero()) return 0;
  const auto window_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(window).count();
  // At least one byte per window, whatever the rounding.
  return std::max<uint64_t>(
      1, min_bytes_per_second * static_cast<uint64_t>(window_ms) / 1000);
}

}  // namespace

SlowSenderDetector::SlowSenderDetector(uint64_t min_bytes_per_second,
                                       Clock::duration window)
    : window_(window),
      required_bytes_(RequiredBytes(min_bytes_per_second, window)) {}

void SlowSenderDetector::Update(Clock::time_point now, uint64_t bytes,
                                bool measuring) {
  if (!enabled()) return;
  if (!measuring) {
    measuring_ = false;
    return;
  }
  if (!measuring_) {
    measuring_ = true;
    window_start_ = now;
    window_bytes_ = 0;
  }
  window_bytes_ += bytes;
}

bool SlowSenderDetector::TooSlow(Clock::time_point now) {
  if (!measuring_ || now < window_start_ + window_) return false;
  if (window_bytes_ < required_bytes_) return true;
  window_start_ = now;
  window_bytes_ = 0;
  return false;
}

std::optional<SlowSenderDetector::Clock::time_point>
SlowSenderDetector::next_check() const {
  if (!measuring_) return std::nullopt;
  return window_start_ + window_;
}

}  // namespace appliance::mllp
