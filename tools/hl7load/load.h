// The load generator's engine: N connections, one thread each, sending
// templates round robin at a target rate with up to K messages in flight per
// connection.
#ifndef TOOLS_HL7LOAD_LOAD_H_
#define TOOLS_HL7LOAD_LOAD_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/hl7load/stats.h"
#include "tools/hl7load/templates.h"
#include "tools/hl7send/mllp_client.h"

namespace hl7load {

using Clock = hl7send::MllpClient::Clock;

struct LoadOptions {
  int connections = 8;
  int64_t messages = 10000;     // Total; 0: no limit (use duration).
  Clock::duration duration{0};  // 0: no limit (use messages).
  double rate = 0;              // Messages/s over all connections;
                                // 0: as fast as possible.
  int pipeline = 1;             // Messages in flight per connection.
  bool unique_ids = true;       // Rewrite MSH-10, see ControlId().
  std::chrono::milliseconds timeout{10000};  // Connect, send and ACK wait.
  int64_t run_id = 0;  // Part of unique control ids (pid).
};

// The unique control id of a connection's seq-th message:
// "LOAD-<run_id>-<connection>-<seq>".
std::string ControlId(int64_t run_id, int connection, uint64_t seq);

// Hands out the run's messages: a global sequence number (which picks the
// template, round robin) and the time each is due. Thread-safe.
class Schedule {
 public:
  Schedule(const LoadOptions& options, Clock::time_point start);
  // False when the run is over: `messages` handed out, or `duration` passed
  // (for a rate, the message would be due after the end).
  bool Claim(uint64_t* seq, Clock::time_point* due);

 private:
  const int64_t messages_;
  const double rate_;
  const Clock::time_point start_;
  const Clock::time_point end_;  // max() without a duration.
  std::atomic<uint64_t> next_{0};
};

// Sends on `client` (connecting it first) until the schedule runs out, then
// waits for the last ACKs. A timeout or connection error closes the
// connection, counts the messages in flight, and reconnects for the next one;
// when reconnecting fails the connection gives up. Meant to run on its own
// thread; `schedule` is shared.
LoadStats RunConnection(int connection, const LoadOptions& options,
                        const std::vector<MessageTemplate>& templates,
                        Schedule& schedule, hl7send::MllpClient& client);

// Runs one thread per client (clients.size() connections) and merges their
// stats. In messages mode, messages never sent count as not_sent.
LoadStats RunLoad(
    const LoadOptions& options, const std::vector<MessageTemplate>& templates,
    const std::vector<std::unique_ptr<hl7send::MllpClient>>& clients,
    double* elapsed_s);

}  // namespace hl7load

#endif  // TOOLS_HL7LOAD_LOAD_H_
