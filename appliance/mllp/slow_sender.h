// Detects "slowloris" senders: a peer that keeps a frame open by trickling its
// bytes slower than a minimum rate. Pure: the caller passes the time in, so
// tests drive it with made-up time points; the server uses one per connection,
// on that connection's strand.
//
// The rate is only measured while it is the sender's fault that a frame is
// incomplete: the caller says so with `measuring` (a frame is partially
// received and the server is reading). Measurement runs in consecutive
// windows; a window that ends with fewer than
// min_bytes_per_second * window bytes received marks the sender as too slow.
// Stopping measuring (frame complete, reading paused) abandons the window.
#ifndef APPLIANCE_MLLP_SLOW_SENDER_H_
#define APPLIANCE_MLLP_SLOW_SENDER_H_

#include <chrono>
#include <cstdint>
#include <optional>

namespace appliance::mllp {

class SlowSenderDetector {
 public:
  using Clock = std::chrono::steady_clock;

  // min_bytes_per_second == 0 or a non-positive window disables detection.
  SlowSenderDetector(uint64_t min_bytes_per_second, Clock::duration window);

  // Records `bytes` received at `now` (0 is fine: a state change only) and
  // whether the rate applies from now on. The bytes that start a measurement
  // count towards its first window.
  void Update(Clock::time_point now, uint64_t bytes, bool measuring);

  // Returns true when a window has ended by `now` with too few bytes. When it
  // ended with enough, starts the next window at `now` and returns false.
  bool TooSlow(Clock::time_point now);

  // End of the current window (when TooSlow() should next be asked), or
  // nullopt when not measuring.
  std::optional<Clock::time_point> next_check() const;

  bool enabled() const { return required_bytes_ > 0; }

 private:
  const Clock::duration window_;
  // Bytes a window needs; 0 when disabled.
  const uint64_t required_bytes_;
  bool measuring_ = false;
  Clock::time_point window_start_;
  uint64_t window_bytes_ = 0;
};

}  // namespace appliance::mllp

#endif  // APPLIANCE_MLLP_SLOW_SENDER_H_
