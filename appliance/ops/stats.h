// The dashboard's numbers, computed from the store's statistics keys (see
// "Statistics keys" in intake/message_store.h). Pure functions over counter
// maps and a "now", so they are tested with chosen times; StatsJson() puts
// them together for /api/v1/stats.
#ifndef APPLIANCE_OPS_STATS_H_
#define APPLIANCE_OPS_STATS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace appliance::ops {

using CounterMap = std::map<std::string, uint64_t>;

constexpr int64_t kMicrosPerHour = int64_t{3600} * 1000000;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

// Sums the hourly keys "h/<hour>/<name>" of the hours from the one holding
// `from_us` up to (excluding) the one holding `to_us` into name -> total.
CounterMap SumHours(const CounterMap& counters, int64_t from_us,
                    int64_t to_us);
// The same for the 24 hourly buckets ending with the current one (the
// current hour counts in full, so this covers 23-24 h).
CounterMap Last24Hours(const CounterMap& counters, int64_t now_us);

// Start (us) of the UTC calendar month holding `us`, and of the one before.
int64_t MonthStart(int64_t us);
int64_t PreviousMonthStart(int64_t us);

struct ErrorRate {
  uint64_t received = 0;  // New messages (duplicates excluded).
  uint64_t rejected = 0;  // Answered AE or AR.
  uint64_t failed = 0;    // Delivery failures ("h/<hour>/failed").
  // (rejected + failed) / received; nullopt without messages.
  std::optional<double> rate;
};
ErrorRate ComputeErrorRate(const CounterMap& hour_totals);

struct Session {
  int64_t start_us = 0;
  int64_t last_alive_us = 0;  // Stop time, or last heartbeat after a crash.
  bool clean_stop = false;
  bool running = false;  // The current session (alive until now).
};
// The sessions of "up/<start>/{beat,stop}" keys, by start time. The one
// started at `current_start_us` is running.
std::vector<Session> ParseSessions(const CounterMap& counters,
                                   int64_t current_start_us);

struct Availability {
  // Up time / observed time within the window, where the window starts at
  // the later of now - window and the first session's start.
  double ratio = 0;
  int64_t up_us = 0;
  int64_t observed_us = 0;
  int restarts = 0;  // Sessions started within the window after the first.
  int crashes = 0;   // Ended within the window without a stop record.
};
Availability ComputeAvailability(const std::vector<Session>& sessions,
                                 int64_t now_us, int64_t window_us);

struct LatencySummary {
  uint64_t count = 0;
  double avg_ms = 0;
  double p99_ms = 0;  // Interpolated inside its histogram bucket.
};
// From "latency/count", "latency/sum_us" and "latency/le/<bound>" totals.
LatencySummary ComputeLatency(const CounterMap& hour_totals);

// Manual entry time the accepted messages saved, in minutes.
double TimeSavedMinutes(uint64_t accepted_messages, double minutes_each);

// What the delivery stage reports for the dashboard (no PHI).
struct DeliveryStatus {
  bool configured = false;
  bool ehr_reachable = false;
  uint64_t queue_depth = 0;  // Waiting or retrying.
  uint64_t dead_letters = 0;
  std::string destination;  // e.g. "FHIR REST" (a kind, not a URL with ids).
};

struct StatsInput {
  int64_t now_us = 0;
  CounterMap hours;     // "h/..." keys of (at least) the last two months.
  CounterMap last;      // "last/<type>" keys.
  CounterMap sessions;  // "up/..." keys.
  int64_t session_start_us = 0;
  double minutes_per_message = 0;
  std::map<std::string, uint64_t> queue_by_state;
  uint64_t audit_records = 0;
  bool ready = false;
  std::optional<DeliveryStatus> delivery;  // nullopt: not configured.
};

// The message types the dashboard lists (others are summed as "other").
const std::vector<std::string>& DashboardTypes();

// The /api/v1/stats document (see docs/OPERATIONS.md).
std::string StatsJson(const StatsInput& in);

}  // namespace appliance::ops

#endif  // APPLIANCE_OPS_STATS_H_
