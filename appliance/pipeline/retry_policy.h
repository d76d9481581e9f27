// When to retry a failed delivery, and when to give up.
#ifndef APPLIANCE_PIPELINE_RETRY_POLICY_H_
#define APPLIANCE_PIPELINE_RETRY_POLICY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace appliance::pipeline {

struct RetryPolicyOptions {
  absl::Duration initial_backoff = absl::Seconds(1);
  double multiplier = 2.0;
  absl::Duration max_backoff = absl::Minutes(5);
  // Give up after this many attempts; 0: no limit.
  uint32_t max_attempts = 100;
  // Give up on a message older than this whose latest attempt failed;
  // zero: no limit.
  absl::Duration max_age = absl::Hours(72);
  // A Retry-After longer than this is capped to it.
  absl::Duration max_retry_after = absl::Hours(1);
};

class RetryPolicy {
 public:
  // `uniform` returns numbers in [0, 1); tests pass a fixed one. Defaults to
  // a per-thread Mersenne twister seeded from std::random_device.
  explicit RetryPolicy(RetryPolicyOptions options,
                       std::function<double()> uniform = nullptr);

  // Exponential back-off with full jitter after the `failures`-th failed
  // attempt in a row (1 for the first): a uniform random wait in
  // [0, min(max_backoff, initial * multiplier^(failures-1))]; a Retry-After
  // from the destination wins when it asks for longer (capped).
  absl::Duration Backoff(uint32_t failures,
                         std::optional<absl::Duration> retry_after) const;

  // Why a message that just failed its `attempts`-th attempt and was first
  // accepted at `enqueued` should go to the dead letters now, or nullopt to
  // retry it.
  std::optional<std::string> GiveUp(uint32_t attempts, absl::Time enqueued,
                                    absl::Time now) const;

 private:
  RetryPolicyOptions options_;
  std::function<double()> uniform_;
};

}  // namespace appliance::pipeline

#endif  // APPLIANCE_PIPELINE_RETRY_POLICY_H_
