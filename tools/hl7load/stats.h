// Counters and latencies of a load run, and their text and JSON reports.
#ifndef TOOLS_HL7LOAD_STATS_H_
#define TOOLS_HL7LOAD_STATS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hl7load {

struct LoadStats {
  int64_t sent = 0;          // Messages written (or being written when the
                             // connection failed).
  int64_t acknowledged = 0;  // ACK frames matched to a sent message.
  // By MSA-1.
  int64_t aa = 0, ae = 0, ar = 0, ca = 0, ce = 0, cr = 0;
  int64_t other = 0;  // Unreadable ACK, unknown code, or an ACK with nothing
                      // in flight.
  int64_t mismatched = 0;  // ACKs whose MSA-2 is not the expected control id.
  int64_t timeouts = 0;    // Sent messages with no ACK within the timeout.
  int64_t errors = 0;      // Sent messages lost to a connection error.
  int64_t connect_failures = 0;
  int64_t not_sent = 0;                    // Messages due that were never sent.
  std::vector<double> latencies_ms;        // One per acknowledged message.
  std::vector<std::string> error_samples;  // A few distinct error texts.

  // Counts one ACK code.
  void CountCode(std::string_view code);
  // Keeps `text` as a sample (up to 5 distinct).
  void AddErrorSample(const std::string& text);
  // Adds `other`'s counters, latencies and samples.
  void Merge(const LoadStats& other);
  // True when every message due was sent and got AA or CA.
  bool AllAccepted() const;
};

// Nearest-rank percentile (0 < p <= 100) of sorted `values`; 0 when empty.
double Percentile(const std::vector<double>& sorted, double p);

struct RunInfo {
  int connections = 0;
  int pipeline = 1;
  double elapsed_s = 0;
};

// Human-readable report, several lines. Sorts stats->latencies_ms.
std::string TextReport(LoadStats* stats, const RunInfo& info);
// One JSON object on one line. Sorts stats->latencies_ms.
std::string JsonReport(LoadStats* stats, const RunInfo& info);

}  // namespace hl7load

#endif  // TOOLS_HL7LOAD_STATS_H_
