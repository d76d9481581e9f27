#include "appliance/ops/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "appliance/base/hour_bucket.h"
#include "appliance/fhir/json_writer.h"

namespace appliance::ops {
namespace {

// Splits "h/<hour>/<name>"; false for other keys.
bool SplitHourKey(const std::string& key, std::string* hour,
                  std::string* name) {
  if (key.size() < 14 || key.compare(0, 2, "h/") != 0 || key[12] != '/') {
    return false;
  }
  *hour = key.substr(2, 10);
  *name = key.substr(13);
  return true;
}

std::string Number(double v) {
  if (!std::isfinite(v)) return "0";
  std::string s = absl::StrFormat("%.4f", v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s.empty() || s == "-" ? "0" : s;
}

uint64_t SumPrefix(const CounterMap& totals, const std::string& prefix) {
  uint64_t n = 0;
  for (auto it = totals.lower_bound(prefix);
       it != totals.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    n += it->second;
  }
  return n;
}

uint64_t Get(const CounterMap& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

CounterMap SumHours(const CounterMap& counters, int64_t from_us,
                    int64_t to_us) {
  CounterMap out;
  const std::string from = HourBucket(from_us);
  const std::string to = HourBucket(to_us);
  std::string hour, name;
  for (auto it = counters.lower_bound("h/" + from); it != counters.end();
       ++it) {
    if (!SplitHourKey(it->first, &hour, &name)) {
      if (it->first.compare(0, 2, "h/") != 0) break;
      continue;
    }
    if (hour >= to) break;
    out[name] += it->second;
  }
  return out;
}

CounterMap Last24Hours(const CounterMap& counters, int64_t now_us) {
  return SumHours(counters, now_us - 23 * kMicrosPerHour,
                  now_us + kMicrosPerHour);
}

int64_t MonthStart(int64_t us) {
  const absl::CivilMonth m =
      absl::ToCivilMonth(absl::FromUnixMicros(us), absl::UTCTimeZone());
  return absl::ToUnixMicros(absl::FromCivil(m, absl::UTCTimeZone()));
}

int64_t PreviousMonthStart(int64_t us) {
  const absl::CivilMonth m =
      absl::ToCivilMonth(absl::FromUnixMicros(us), absl::UTCTimeZone());
  return absl::ToUnixMicros(absl::FromCivil(m - 1, absl::UTCTimeZone()));
}

ErrorRate ComputeErrorRate(const CounterMap& t) {
  ErrorRate r;
  r.received = SumPrefix(t, "outcome/");
  r.rejected = Get(t, "outcome/AE") + Get(t, "outcome/AR");
  r.failed = Get(t, "failed");
  if (r.received > 0) {
    r.rate = static_cast<double>(r.rejected + r.failed) /
             static_cast<double>(r.received);
  }
  return r;
}

std::vector<Session> ParseSessions(const CounterMap& counters,
                                   int64_t current_start_us) {
  std::map<int64_t, Session> by_start;
  for (auto it = counters.lower_bound("up/"); it != counters.end(); ++it) {
    const std::string& k = it->first;
    if (k.compare(0, 3, "up/") != 0) break;
    const size_t slash = k.find('/', 3);
    if (slash == std::string::npos) continue;
    const int64_t start = strtoll(k.substr(3, slash - 3).c_str(), nullptr, 10);
    const std::string what = k.substr(slash + 1);
    Session& s = by_start[start];
    s.start_us = start;
    const int64_t v = static_cast<int64_t>(it->second);
    if (what == "stop") {
      s.clean_stop = true;
      s.last_alive_us = std::max(s.last_alive_us, v);
    } else if (what == "beat") {
      s.last_alive_us = std::max(s.last_alive_us, v);
    }
  }
  std::vector<Session> out;
  for (auto& [start, s] : by_start) {
    s.running = start == current_start_us;
    s.last_alive_us = std::max(s.last_alive_us, s.start_us);
    out.push_back(s);
  }
  return out;
}

Availability ComputeAvailability(const std::vector<Session>& sessions,
                                 int64_t now_us, int64_t window_us) {
  Availability a;
  if (sessions.empty()) {
    a.ratio = 1;
    return a;
  }
  const int64_t window_start =
      std::max(now_us - window_us, sessions.front().start_us);
  a.observed_us = std::max<int64_t>(0, now_us - window_start);
  for (size_t i = 0; i < sessions.size(); ++i) {
    const Session& s = sessions[i];
    const int64_t end = s.running ? now_us : s.last_alive_us;
    const int64_t from = std::max(s.start_us, window_start);
    const int64_t to = std::min(end, now_us);
    if (to > from) a.up_us += to - from;
    if (i > 0 && s.start_us > window_start && s.start_us <= now_us) {
      a.restarts++;
    }
    if (!s.running && !s.clean_stop && s.last_alive_us >= window_start &&
        s.last_alive_us <= now_us) {
      a.crashes++;
    }
  }
  a.up_us = std::min(a.up_us, a.observed_us);
  a.ratio = a.observed_us > 0 ? static_cast<double>(a.up_us) /
                                    static_cast<double>(a.observed_us)
                              : 1.0;
  return a;
}

LatencySummary ComputeLatency(const CounterMap& t) {
  LatencySummary l;
  l.count = Get(t, "latency/count");
  if (l.count == 0) return l;
  l.avg_ms = static_cast<double>(Get(t, "latency/sum_us")) /
             static_cast<double>(l.count) / 1000.0;
  // (bound, count) ascending; inf as -1 and sorted last.
  std::vector<std::pair<int64_t, uint64_t>> buckets;
  uint64_t total = 0;
  const std::string prefix = "latency/le/";
  for (auto it = t.lower_bound(prefix);
       it != t.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    const std::string b = it->first.substr(prefix.size());
    buckets.emplace_back(b == "inf" ? INT64_MAX
                                    : strtoll(b.c_str(), nullptr, 10),
                         it->second);
    total += it->second;
  }
  std::sort(buckets.begin(), buckets.end());
  if (total == 0) return l;
  const double rank = std::ceil(0.99 * static_cast<double>(total));
  double seen = 0;
  int64_t lower = 0;
  for (const auto& [bound, n] : buckets) {
    if (seen + static_cast<double>(n) >= rank) {
      if (bound == INT64_MAX) {
        l.p99_ms = static_cast<double>(lower) / 1000.0;
      } else {
        const double frac = (rank - seen) / static_cast<double>(n);
        l.p99_ms = (static_cast<double>(lower) +
                    frac * static_cast<double>(bound - lower)) /
                   1000.0;
      }
      return l;
    }
    seen += static_cast<double>(n);
    if (bound != INT64_MAX) lower = bound;
  }
  return l;
}

double TimeSavedMinutes(uint64_t accepted, double minutes_each) {
  return static_cast<double>(accepted) * minutes_each;
}

const std::vector<std::string>& DashboardTypes() {
  static const auto* types = new std::vector<std::string>{
      "ORU^R01", "ORM^O01", "ADT^A01", "ADT^A08"};
  return *types;
}

namespace {

void WriteErrorRate(fhir::JsonWriter& w, std::string_view key,
                    const ErrorRate& r) {
  w.ObjectMember(key);
  w.Key("received");
  w.Int(static_cast<int64_t>(r.received));
  w.Key("rejected");
  w.Int(static_cast<int64_t>(r.rejected));
  w.Key("failed");
  w.Int(static_cast<int64_t>(r.failed));
  w.Key("rate");
  if (r.rate) {
    w.RawNumber(Number(*r.rate));
  } else {
    w.RawNumber("null");
  }
  w.EndObject();
}

void WriteAvailability(fhir::JsonWriter& w, std::string_view key,
                       const Availability& a) {
  w.ObjectMember(key);
  w.Key("ratio");
  w.RawNumber(absl::StrFormat("%.6f", a.ratio));
  w.Key("up_s");
  w.Int(a.up_us / 1000000);
  w.Key("observed_s");
  w.Int(a.observed_us / 1000000);
  w.Key("restarts");
  w.Int(a.restarts);
  w.Key("crashes");
  w.Int(a.crashes);
  w.EndObject();
}

}  // namespace

std::string StatsJson(const StatsInput& in) {
  const int64_t now = in.now_us;
  const CounterMap day = Last24Hours(in.hours, now);
  const ErrorRate this_month =
      ComputeErrorRate(SumHours(in.hours, MonthStart(now), now + kMicrosPerHour));
  const ErrorRate last_month = ComputeErrorRate(
      SumHours(in.hours, PreviousMonthStart(now), MonthStart(now)));
  const std::vector<Session> sessions =
      ParseSessions(in.sessions, in.session_start_us);
  const LatencySummary latency = ComputeLatency(day);
  const uint64_t accepted_24h = Get(day, "outcome/AA");

  std::string out;
  fhir::JsonWriter w(&out);
  w.BeginObject();
  w.Key("generated_at_ms");
  w.Int(now / 1000);
  w.Key("ready");
  w.Bool(in.ready);

  w.ObjectMember("error_rate");
  WriteErrorRate(w, "this_month", this_month);
  WriteErrorRate(w, "last_month", last_month);
  w.Key("change_points");  // Percentage points against last month.
  if (this_month.rate && last_month.rate) {
    w.RawNumber(Number((*this_month.rate - *last_month.rate) * 100));
  } else {
    w.RawNumber("null");
  }
  w.EndObject();

  w.ObjectMember("time_saved");
  w.Key("minutes_per_message");
  w.RawNumber(Number(in.minutes_per_message));
  w.Key("accepted_24h");
  w.Int(static_cast<int64_t>(accepted_24h));
  w.Key("minutes_per_day");
  w.RawNumber(Number(TimeSavedMinutes(accepted_24h, in.minutes_per_message)));
  w.EndObject();

  w.ObjectMember("uptime");
  WriteAvailability(w, "d30",
                    ComputeAvailability(sessions, now, 30 * kMicrosPerDay));
  WriteAvailability(w, "m6",
                    ComputeAvailability(sessions, now, 183 * kMicrosPerDay));
  w.Key("session_start_ms");
  w.Int(in.session_start_us / 1000);
  w.Key("sessions");
  w.Int(static_cast<int64_t>(sessions.size()));
  w.EndObject();

  w.ObjectMember("throughput");
  w.Key("messages_24h");
  w.Int(static_cast<int64_t>(SumPrefix(day, "received/")));
  w.ArrayMember("daily");  // The last 14 UTC days, oldest first.
  const absl::CivilDay today =
      absl::ToCivilDay(absl::FromUnixMicros(now), absl::UTCTimeZone());
  for (int i = 13; i >= 0; --i) {
    const absl::CivilDay d = today - i;
    const int64_t from =
        absl::ToUnixMicros(absl::FromCivil(d, absl::UTCTimeZone()));
    const CounterMap t = SumHours(in.hours, from, from + kMicrosPerDay);
    w.BeginObject();
    w.Member("day", absl::FormatCivilTime(d));
    w.Key("messages");
    w.Int(static_cast<int64_t>(SumPrefix(t, "received/")));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();

  w.ObjectMember("latency");
  w.Key("count_24h");
  w.Int(static_cast<int64_t>(latency.count));
  w.Key("avg_ms_24h");
  w.RawNumber(Number(latency.avg_ms));
  w.Key("p99_ms_24h");
  w.RawNumber(Number(latency.p99_ms));
  w.EndObject();

  w.ObjectMember("messages_24h");
  uint64_t listed = 0;
  for (const std::string& type : DashboardTypes()) {
    const uint64_t n = Get(day, "received/" + type);
    listed += n;
    w.Key(type);
    w.Int(static_cast<int64_t>(n));
  }
  w.Key("other");
  w.Int(static_cast<int64_t>(SumPrefix(day, "received/") - listed));
  w.Key("acks_sent");
  w.Int(static_cast<int64_t>(SumPrefix(day, "ack/")));
  w.Key("duplicates");
  w.Int(static_cast<int64_t>(Get(day, "duplicates")));
  w.Key("rejected");
  w.Int(static_cast<int64_t>(Get(day, "outcome/AE") + Get(day, "outcome/AR")));
  w.EndObject();

  w.ObjectMember("last_received_ms");
  for (const std::string& type : DashboardTypes()) {
    w.Key(type);
    auto it = in.last.find("last/" + type);
    if (it == in.last.end()) {
      w.RawNumber("null");
    } else {
      w.Int(static_cast<int64_t>(it->second / 1000));
    }
  }
  w.EndObject();

  w.ObjectMember("queue");
  for (const auto& [state, n] : in.queue_by_state) {
    w.Key(state);
    w.Int(static_cast<int64_t>(n));
  }
  w.EndObject();
  w.Key("audit_records");
  w.Int(static_cast<int64_t>(in.audit_records));

  w.ObjectMember("delivery");
  w.Key("configured");
  w.Bool(in.delivery.has_value() && in.delivery->configured);
  if (in.delivery.has_value() && in.delivery->configured) {
    w.Key("ehr_reachable");
    w.Bool(in.delivery->ehr_reachable);
    w.Key("queue_depth");
    w.Int(static_cast<int64_t>(in.delivery->queue_depth));
    w.Key("dead_letters");
    w.Int(static_cast<int64_t>(in.delivery->dead_letters));
    w.OptionalMember("destination", in.delivery->destination);
  }
  w.EndObject();
  w.EndObject();
  return out;
}

}  // namespace appliance::ops
