// Time behind an interface, so tests can drive it.
#ifndef APPLIANCE_BASE_CLOCK_H_
#define APPLIANCE_BASE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace appliance {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch (UTC).
  virtual int64_t NowMicros() const = 0;
};

class RealClock final : public Clock {
 public:
  int64_t NowMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // A process-wide instance.
  static const Clock* Get() {
    static const RealClock clock;
    return &clock;
  }
};

// A clock tests set and advance. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_us = 1767225600000000)  // 2026-01-01.
      : now_us_(now_us) {}
  int64_t NowMicros() const override { return now_us_.load(); }
  void Advance(int64_t us) { now_us_ += us; }
  void Set(int64_t us) { now_us_ = us; }

 private:
  std::atomic<int64_t> now_us_;
};

}  // namespace appliance

#endif  // APPLIANCE_BASE_CLOCK_H_
