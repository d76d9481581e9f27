#include "appliance/mllp/slow_sender.h"

#include <chrono>

#include "gtest/gtest.h"

namespace appliance::mllp {
namespace {

using Clock = SlowSenderDetector::Clock;
using std::chrono::milliseconds;

const Clock::time_point kT0 = Clock::time_point() + std::chrono::hours(1);

TEST(SlowSenderDetectorTest, DisabledNeverFires) {
  SlowSenderDetector detector(0, std::chrono::seconds(10));
  EXPECT_FALSE(detector.enabled());
  detector.Update(kT0, 1, true);
  EXPECT_FALSE(detector.next_check().has_value());
  EXPECT_FALSE(detector.TooSlow(kT0 + std::chrono::hours(1)));
}

TEST(SlowSenderDetectorTest, SlowWindowFires) {
  // 64 B/s over 10 s: a window needs 640 bytes.
  SlowSenderDetector detector(64, std::chrono::seconds(10));
  detector.Update(kT0, 100, true);
  ASSERT_TRUE(detector.next_check().has_value());
  EXPECT_EQ(*detector.next_check(), kT0 + std::chrono::seconds(10));
  detector.Update(kT0 + std::chrono::seconds(5), 500, true);
  EXPECT_FALSE(detector.TooSlow(kT0 + std::chrono::seconds(9)));  // Early.
  EXPECT_TRUE(detector.TooSlow(kT0 + std::chrono::seconds(10)));  // 600 < 640.
}

TEST(SlowSenderDetectorTest, FastEnoughWindowRollsOver) {
  SlowSenderDetector detector(64, std::chrono::seconds(10));
  detector.Update(kT0, 640, true);
  EXPECT_FALSE(detector.TooSlow(kT0 + std::chrono::seconds(10)));
  // The next window starts at the check and needs its own 640 bytes.
  EXPECT_EQ(*detector.next_check(), kT0 + std::chrono::seconds(20));
  detector.Update(kT0 + std::chrono::seconds(15), 639, true);
  EXPECT_TRUE(detector.TooSlow(kT0 + std::chrono::seconds(20)));
}

TEST(SlowSenderDetectorTest, NotMeasuringAbandonsTheWindow) {
  SlowSenderDetector detector(1000, milliseconds(200));
  detector.Update(kT0, 1, true);
  detector.Update(kT0 + milliseconds(50), 0, false);  // Frame complete.
  EXPECT_FALSE(detector.next_check().has_value());
  EXPECT_FALSE(detector.TooSlow(kT0 + milliseconds(500)));
  // A new partial frame starts a fresh window.
  detector.Update(kT0 + milliseconds(600), 10, true);
  EXPECT_EQ(*detector.next_check(), kT0 + milliseconds(800));
  EXPECT_TRUE(detector.TooSlow(kT0 + milliseconds(800)));
}

TEST(SlowSenderDetectorTest, TinyWindowsNeedAtLeastOneByte) {
  SlowSenderDetector detector(1, milliseconds(10));  // 0.01 byte, rounds up.
  detector.Update(kT0, 0, true);
  EXPECT_TRUE(detector.TooSlow(kT0 + milliseconds(10)));
}

}  // namespace
}  // namespace appliance::mllp
