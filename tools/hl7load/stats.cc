#include "tools/hl7load/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace hl7load {
namespace {

constexpr size_t kMaxErrorSamples = 5;

std::string Fixed3(double v) { return absl::StrFormat("%.3f", v); }

double Rate(const LoadStats& s, const RunInfo& info) {
  return info.elapsed_s > 0 ? s.acknowledged / info.elapsed_s : 0;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

}  // namespace

void LoadStats::CountCode(std::string_view code) {
  if (code == "AA") {
    ++aa;
  } else if (code == "AE") {
    ++ae;
  } else if (code == "AR") {
    ++ar;
  } else if (code == "CA") {
    ++ca;
  } else if (code == "CE") {
    ++ce;
  } else if (code == "CR") {
    ++cr;
  } else {
    ++other;
  }
}

void LoadStats::AddErrorSample(const std::string& text) {
  if (error_samples.size() >= kMaxErrorSamples) return;
  if (std::find(error_samples.begin(), error_samples.end(), text) !=
      error_samples.end()) {
    return;
  }
  error_samples.push_back(text);
}

void LoadStats::Merge(const LoadStats& o) {
  sent += o.sent;
  acknowledged += o.acknowledged;
  aa += o.aa;
  ae += o.ae;
  ar += o.ar;
  ca += o.ca;
  ce += o.ce;
  cr += o.cr;
  other += o.other;
  mismatched += o.mismatched;
  timeouts += o.timeouts;
  errors += o.errors;
  connect_failures += o.connect_failures;
  not_sent += o.not_sent;
  latencies_ms.insert(latencies_ms.end(), o.latencies_ms.begin(),
                      o.latencies_ms.end());
  for (const std::string& e : o.error_samples) AddErrorSample(e);
}

bool LoadStats::AllAccepted() const {
  return sent > 0 && aa + ca == sent && acknowledged == sent && other == 0 &&
         mismatched == 0 && timeouts == 0 && errors == 0 &&
         connect_failures == 0 && not_sent == 0;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  if (index >= sorted.size()) index = sorted.size() - 1;
  return sorted[index];
}

std::string TextReport(LoadStats* s, const RunInfo& info) {
  std::sort(s->latencies_ms.begin(), s->latencies_ms.end());
  const std::vector<double>& l = s->latencies_ms;
  std::string out = absl::StrCat(
      "acknowledged ", s->acknowledged, " of ", s->sent, " messages in ",
      Fixed3(info.elapsed_s), " s on ", info.connections,
      " connection(s), pipeline ", info.pipeline, ": ",
      absl::StrFormat("%.1f", Rate(*s, info)), " messages/s\n");
  if (l.empty()) {
    absl::StrAppend(&out, "ACK latency ms: none\n");
  } else {
    absl::StrAppend(&out, "ACK latency ms: p50 ", Fixed3(Percentile(l, 50)),
                    ", p95 ", Fixed3(Percentile(l, 95)), ", p99 ",
                    Fixed3(Percentile(l, 99)), ", max ", Fixed3(l.back()),
                    "\n");
  }
  absl::StrAppend(&out, "ACK codes: AA ", s->aa, ", CA ", s->ca, ", AE ", s->ae,
                  ", CE ", s->ce, ", AR ", s->ar, ", CR ", s->cr, ", other ",
                  s->other, "\n");
  absl::StrAppend(&out, "timeouts ", s->timeouts, ", errors ", s->errors,
                  ", mismatched ", s->mismatched, ", connect failures ",
                  s->connect_failures, ", not sent ", s->not_sent, "\n");
  return out;
}

std::string JsonReport(LoadStats* s, const RunInfo& info) {
  std::sort(s->latencies_ms.begin(), s->latencies_ms.end());
  const std::vector<double>& l = s->latencies_ms;
  auto latency = [&l](double p) {
    return l.empty() ? std::string("null") : Fixed3(Percentile(l, p));
  };
  double mean = 0;
  for (double v : l) mean += v;
  if (!l.empty()) mean /= static_cast<double>(l.size());
  std::string errors = "[";
  for (size_t i = 0; i < s->error_samples.size(); ++i) {
    absl::StrAppend(&errors, i ? "," : "", JsonString(s->error_samples[i]));
  }
  errors += "]";
  return absl::StrCat(
      "{\"connections\":", info.connections, ",\"pipeline\":", info.pipeline,
      ",\"elapsed_s\":", Fixed3(info.elapsed_s), ",\"sent\":", s->sent,
      ",\"acknowledged\":", s->acknowledged,
      ",\"messages_per_s\":", Fixed3(Rate(*s, info)),
      ",\"latency_ms\":{\"p50\":", latency(50), ",\"p95\":", latency(95),
      ",\"p99\":", latency(99), ",\"max\":", latency(100),
      ",\"mean\":", l.empty() ? std::string("null") : Fixed3(mean),
      "},\"ack_codes\":{\"AA\":", s->aa, ",\"CA\":", s->ca, ",\"AE\":", s->ae,
      ",\"CE\":", s->ce, ",\"AR\":", s->ar, ",\"CR\":", s->cr,
      ",\"other\":", s->other, "},\"timeouts\":", s->timeouts,
      ",\"errors\":", s->errors, ",\"mismatched\":", s->mismatched,
      ",\"connect_failures\":", s->connect_failures,
      ",\"not_sent\":", s->not_sent, ",\"error_samples\":", errors,
      ",\"all_accepted\":", s->AllAccepted() ? "true" : "false", "}");
}

}  // namespace hl7load
