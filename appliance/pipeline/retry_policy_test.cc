#include "appliance/pipeline/retry_policy.h"

#include "gtest/gtest.h"

namespace appliance::pipeline {
namespace {

RetryPolicyOptions Options() {
  RetryPolicyOptions o;
  o.initial_backoff = absl::Seconds(1);
  o.multiplier = 2.0;
  o.max_backoff = absl::Seconds(60);
  o.max_attempts = 5;
  o.max_age = absl::Hours(1);
  return o;
}

TEST(RetryPolicyTest, FullJitterUpToTheExponentialCeiling) {
  // With u = 1 (the top of the range) the wait is the ceiling itself.
  RetryPolicy top(Options(), [] { return 1.0; });
  EXPECT_EQ(top.Backoff(1, std::nullopt), absl::Seconds(1));
  EXPECT_EQ(top.Backoff(2, std::nullopt), absl::Seconds(2));
  EXPECT_EQ(top.Backoff(4, std::nullopt), absl::Seconds(8));
  EXPECT_EQ(top.Backoff(7, std::nullopt), absl::Seconds(60));  // Capped.
  EXPECT_EQ(top.Backoff(1000, std::nullopt), absl::Seconds(60));
  RetryPolicy half(Options(), [] { return 0.5; });
  EXPECT_EQ(half.Backoff(4, std::nullopt), absl::Seconds(4));
  RetryPolicy zero(Options(), [] { return 0.0; });
  EXPECT_EQ(zero.Backoff(4, std::nullopt), absl::ZeroDuration());
}

TEST(RetryPolicyTest, DefaultRandomStaysInRangeAndVaries) {
  RetryPolicy p(Options());
  absl::Duration lo = absl::InfiniteDuration(), hi = absl::ZeroDuration();
  for (int i = 0; i < 1000; ++i) {
    const absl::Duration d = p.Backoff(3, std::nullopt);
    ASSERT_GE(d, absl::ZeroDuration());
    ASSERT_LE(d, absl::Seconds(4));
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, absl::Seconds(1));  // Jitter spreads the waits.
  EXPECT_GT(hi, absl::Seconds(3));
}

TEST(RetryPolicyTest, RetryAfterWinsWhenLongerAndIsCapped) {
  RetryPolicy p(Options(), [] { return 0.1; });
  EXPECT_EQ(p.Backoff(1, absl::Seconds(30)), absl::Seconds(30));
  EXPECT_EQ(p.Backoff(1, absl::ZeroDuration()), absl::Milliseconds(100));
  EXPECT_EQ(p.Backoff(1, absl::Hours(10)), absl::Hours(1));
}

TEST(RetryPolicyTest, GivesUpOnAttemptsOrAge) {
  RetryPolicy p(Options());
  const absl::Time t0 = absl::FromUnixSeconds(1767225600);
  EXPECT_FALSE(p.GiveUp(4, t0, t0 + absl::Minutes(59)).has_value());
  EXPECT_EQ(*p.GiveUp(5, t0, t0), "gave up after 5 attempts");
  EXPECT_NE(p.GiveUp(1, t0, t0 + absl::Hours(1))->find("older than 1h"),
            std::string::npos);
  RetryPolicyOptions unlimited = Options();
  unlimited.max_attempts = 0;
  unlimited.max_age = absl::ZeroDuration();
  EXPECT_FALSE(RetryPolicy(unlimited)
                   .GiveUp(100000, t0, t0 + absl::Hours(10000))
                   .has_value());
}

}  // namespace
}  // namespace appliance::pipeline
