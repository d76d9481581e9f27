#include "appliance/pipeline/retry_policy.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"

namespace appliance::pipeline {
namespace {

double ThreadLocalUniform() {
  thread_local std::mt19937_64 gen(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

}  // namespace

RetryPolicy::RetryPolicy(RetryPolicyOptions options,
                         std::function<double()> uniform)
    : options_(options),
      uniform_(uniform ? std::move(uniform) : ThreadLocalUniform) {}

absl::Duration RetryPolicy::Backoff(
    uint32_t failures, std::optional<absl::Duration> retry_after) const {
  // initial * multiplier^(failures-1), computed in doubles so that a large
  // exponent saturates at max_backoff instead of overflowing.
  const double initial_s = absl::ToDoubleSeconds(options_.initial_backoff);
  const double max_s = absl::ToDoubleSeconds(options_.max_backoff);
  const double exp = static_cast<double>(std::max<uint32_t>(failures, 1) - 1);
  const double ceiling_s =
      std::min(max_s, initial_s * std::pow(options_.multiplier, exp));
  double u = uniform_();
  u = std::clamp(u, 0.0, 1.0);
  absl::Duration wait = absl::Seconds(ceiling_s * u);
  if (retry_after.has_value()) {
    wait = std::max(wait, std::min(*retry_after, options_.max_retry_after));
  }
  return wait;
}

std::optional<std::string> RetryPolicy::GiveUp(uint32_t attempts,
                                               absl::Time enqueued,
                                               absl::Time now) const {
  if (options_.max_attempts > 0 && attempts >= options_.max_attempts) {
    return absl::StrCat("gave up after ", attempts, " attempts");
  }
  if (options_.max_age > absl::ZeroDuration() &&
      now - enqueued >= options_.max_age) {
    return absl::StrCat("gave up: older than ",
                        absl::FormatDuration(options_.max_age));
  }
  return std::nullopt;
}

}  // namespace appliance::pipeline
