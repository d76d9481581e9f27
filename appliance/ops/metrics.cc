#include "appliance/ops/metrics.h"

#include <glog/logging.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace appliance::ops {
namespace {

void AtomicAdd(std::atomic<double>& a, double d) {
  double old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, old + d, std::memory_order_relaxed)) {
  }
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  char buf[64];
  snprintf(buf, sizeof(buf), "%.15g", value);
  return buf;
}

void Gauge::Add(double d) { AtomicAdd(value_, d); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  CHECK(std::is_sorted(bounds_.begin(), bounds_.end()))
      << "histogram bounds must ascend";
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double value) {
  const size_t i = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) -
      bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

std::vector<double> LatencyBounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};
}

void MetricsWriter::Header(std::string_view name, std::string_view help,
                           const char* type) {
  if (!declared_.insert(std::string(name)).second) return;
  absl::StrAppend(out_, "# HELP ", std::string(name), " ");
  for (char c : help) {  // HELP escapes only backslash and newline.
    if (c == '\\') {
      *out_ += "\\\\";
    } else if (c == '\n') {
      *out_ += "\\n";
    } else {
      *out_ += c;
    }
  }
  absl::StrAppend(out_, "\n# TYPE ", std::string(name), " ", type, "\n");
}

void MetricsWriter::Sample(std::string_view name, std::string_view suffix,
                           const Labels& labels, double value) {
  absl::StrAppend(out_, std::string(name), std::string(suffix));
  if (!labels.empty()) {
    *out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) *out_ += ',';
      absl::StrAppend(out_, labels[i].first, "=\"",
                      EscapeLabelValue(labels[i].second), "\"");
    }
    *out_ += '}';
  }
  absl::StrAppend(out_, " ", FormatValue(value), "\n");
}

void MetricsWriter::Counter(std::string_view name, std::string_view help,
                            double value, const Labels& labels) {
  Header(name, help, "counter");
  Sample(name, "", labels, value);
}

void MetricsWriter::Gauge(std::string_view name, std::string_view help,
                          double value, const Labels& labels) {
  Header(name, help, "gauge");
  Sample(name, "", labels, value);
}

void MetricsWriter::Histogram(std::string_view name, std::string_view help,
                              const std::vector<double>& bounds,
                              const std::vector<uint64_t>& cumulative,
                              double sum, const Labels& labels) {
  Header(name, help, "histogram");
  if (cumulative.size() != bounds.size() + 1) {
    LOG(DFATAL) << "histogram " << name << ": " << cumulative.size()
                << " counts for " << bounds.size() << " bounds";
    return;
  }
  for (size_t i = 0; i <= bounds.size(); ++i) {
    Labels with_le = labels;
    with_le.emplace_back(
        "le", i < bounds.size() ? FormatValue(bounds[i]) : std::string("+Inf"));
    Sample(name, "_bucket", with_le, static_cast<double>(cumulative[i]));
  }
  Sample(name, "_sum", labels, sum);
  Sample(name, "_count", labels, static_cast<double>(cumulative.back()));
}

Registry::Entry& Registry::NewEntry(const std::string& name,
                                    const std::string& help) {
  CHECK(IsValidMetricName(name)) << "invalid metric name \"" << name << "\"";
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& e : entries_) {
    CHECK(e->name != name) << "metric " << name << " registered twice";
  }
  entries_.push_back(std::make_unique<Entry>());
  Entry& e = *entries_.back();
  e.name = name;
  e.help = help;
  return e;
}

Counter& Registry::AddCounter(const std::string& name,
                              const std::string& help) {
  return AddCounterFamily(name, help, {}).With({});
}

Gauge& Registry::AddGauge(const std::string& name, const std::string& help) {
  return AddGaugeFamily(name, help, {}).With({});
}

Histogram& Registry::AddHistogram(const std::string& name,
                                  const std::string& help,
                                  std::vector<double> bounds) {
  return AddHistogramFamily(name, help, {}, std::move(bounds)).With({});
}

CounterFamily& Registry::AddCounterFamily(const std::string& name,
                                          const std::string& help,
                                          std::vector<std::string> labels) {
  for (const auto& l : labels) CHECK(IsValidMetricName(l)) << l;
  Entry& e = NewEntry(name, help);
  e.counters = std::make_unique<CounterFamily>(
      std::move(labels), [] { return std::make_unique<Counter>(); });
  return *e.counters;
}

GaugeFamily& Registry::AddGaugeFamily(const std::string& name,
                                      const std::string& help,
                                      std::vector<std::string> labels) {
  for (const auto& l : labels) CHECK(IsValidMetricName(l)) << l;
  Entry& e = NewEntry(name, help);
  e.gauges = std::make_unique<GaugeFamily>(
      std::move(labels), [] { return std::make_unique<Gauge>(); });
  return *e.gauges;
}

HistogramFamily& Registry::AddHistogramFamily(const std::string& name,
                                              const std::string& help,
                                              std::vector<std::string> labels,
                                              std::vector<double> bounds) {
  for (const auto& l : labels) {
    CHECK(IsValidMetricName(l) && l != "le") << l;
  }
  Entry& e = NewEntry(name, help);
  e.histograms = std::make_unique<HistogramFamily>(
      std::move(labels),
      [bounds] { return std::make_unique<Histogram>(bounds); });
  return *e.histograms;
}

void Registry::AddCollector(Collector collector) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::Render() const {
  std::string out;
  MetricsWriter w(&out);
  std::vector<const Entry*> entries;
  std::vector<Collector> collectors;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& e : entries_) entries.push_back(e.get());
    collectors = collectors_;
  }
  for (const Entry* e : entries) {
    if (e->counters) {
      e->counters->ForEach([&](const Labels& l, const Counter& c) {
        w.Counter(e->name, e->help, static_cast<double>(c.value()), l);
      });
    } else if (e->gauges) {
      e->gauges->ForEach([&](const Labels& l, const Gauge& g) {
        w.Gauge(e->name, e->help, g.value(), l);
      });
    } else if (e->histograms) {
      e->histograms->ForEach([&](const Labels& l, const Histogram& h) {
        w.Histogram(e->name, e->help, h.bounds(), h.CumulativeCounts(),
                    h.sum(), l);
      });
    }
  }
  for (const Collector& c : collectors) c(w);
  return out;
}

}  // namespace appliance::ops
