// A small metrics registry with Prometheus text exposition (format 0.0.4).
//
// Counters, gauges and histograms are plain atomics: updating one is a
// relaxed fetch_add (a histogram: a short scan of its bounds plus two or
// three), with no lock and no allocation, so they can sit on the ACK path.
// Labelled series live in families; Family::With() looks a series up under a
// mutex and returns a reference that stays valid for the registry's life, so
// hot paths look up once and keep the reference.
//
// Other components expose numbers they already keep (or compute on demand)
// with AddCollector(): the collector runs on every scrape and writes samples
// through a MetricsWriter, so they need no registry types of their own.
//
//   ops::Registry registry;
//   ops::Counter& frames = registry.AddCounter("hl7_frames_total", "Frames.");
//   auto& acks = registry.AddCounterFamily("hl7_acks_total", "ACKs.", {"code"});
//   ops::Counter& aa = acks.With({"AA"});        // once
//   aa.Inc();                                     // hot path
//   registry.AddCollector([&](ops::MetricsWriter& w) {
//     w.Gauge("hl7_queue_depth", "Queued.", queue.size());
//   });
//   std::string text = registry.Render();
#ifndef APPLIANCE_OPS_METRICS_H_
#define APPLIANCE_OPS_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace appliance::ops {

// Label values of one series, in the order of the family's label names.
using LabelValues = std::vector<std::string>;
// (name, value) pairs for MetricsWriter.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Buckets with upper bounds `bounds` (ascending, +Inf implied).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // Exposition snapshot: cumulative counts per bound, then +Inf.
  std::vector<uint64_t> CumulativeCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1.
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// Bounds in seconds suited to latencies from 100 us to 10 s.
std::vector<double> LatencyBounds();

// Writes exposition text. Write every series of one metric name in one run
// (the text format requires it); # HELP and # TYPE are written once, before
// the first sample of a name.
class MetricsWriter {
 public:
  explicit MetricsWriter(std::string* out) : out_(out) {}
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  void Counter(std::string_view name, std::string_view help, double value,
               const Labels& labels = {});
  void Gauge(std::string_view name, std::string_view help, double value,
             const Labels& labels = {});
  // `cumulative` has bounds.size() + 1 entries (the last is +Inf == count).
  void Histogram(std::string_view name, std::string_view help,
                 const std::vector<double>& bounds,
                 const std::vector<uint64_t>& cumulative, double sum,
                 const Labels& labels = {});

 private:
  void Header(std::string_view name, std::string_view help,
              const char* type);
  void Sample(std::string_view name, std::string_view suffix,
              const Labels& labels, double value);

  std::string* const out_;  // Not owned.
  std::set<std::string> declared_;
};

template <typename T>
class Family {
 public:
  // `make` builds a new series (Histograms need their bounds).
  Family(std::vector<std::string> label_names,
         std::function<std::unique_ptr<T>()> make)
      : label_names_(std::move(label_names)), make_(std::move(make)) {}

  // The series for `values` (one per label name), created on first use.
  T& With(const LabelValues& values) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = series_[values];
    if (slot == nullptr) slot = make_();
    return *slot;
  }

  const std::vector<std::string>& label_names() const { return label_names_; }

  // Calls f(labels, series) for each series, in label order.
  template <typename F>
  void ForEach(F f) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [values, series] : series_) {
      Labels labels;
      for (size_t i = 0; i < label_names_.size() && i < values.size(); ++i) {
        labels.emplace_back(label_names_[i], values[i]);
      }
      f(labels, *series);
    }
  }

 private:
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<T>()> make_;
  mutable std::mutex mu_;
  std::map<LabelValues, std::unique_ptr<T>> series_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  using Collector = std::function<void(MetricsWriter&)>;

  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Names must match [a-zA-Z_:][a-zA-Z0-9_:]* and be registered once
  // (a "cannot happen" programming error otherwise: CHECK-fails). The
  // returned references live as long as the registry.
  Counter& AddCounter(const std::string& name, const std::string& help);
  Gauge& AddGauge(const std::string& name, const std::string& help);
  Histogram& AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds);
  CounterFamily& AddCounterFamily(const std::string& name,
                                  const std::string& help,
                                  std::vector<std::string> label_names);
  GaugeFamily& AddGaugeFamily(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names);
  HistogramFamily& AddHistogramFamily(const std::string& name,
                                      const std::string& help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> bounds);

  // Runs on every Render(), after the registered metrics, in the order added.
  // Thread-safe; may be called while scrapes run.
  void AddCollector(Collector collector);

  // The whole exposition text.
  std::string Render() const;

 private:
  struct Entry {
    std::string name;
    std::string help;
    std::unique_ptr<CounterFamily> counters;
    std::unique_ptr<GaugeFamily> gauges;
    std::unique_ptr<HistogramFamily> histograms;
  };
  Entry& NewEntry(const std::string& name, const std::string& help);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;  // Guarded by mu_.
  std::vector<Collector> collectors_;            // Guarded by mu_.
};

// True for a valid metric or label name.
bool IsValidMetricName(std::string_view name);
// Label value escaped for the text format (\\, \" and \n).
std::string EscapeLabelValue(std::string_view value);
// A sample value: integers without a fraction, "+Inf", "NaN".
std::string FormatValue(double value);

}  // namespace appliance::ops

#endif  // APPLIANCE_OPS_METRICS_H_
