#include "tools/hl7load/load.h"

#include <algorithm>
#include <deque>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tools/hl7send/ack.h"

namespace hl7load {

using hl7send::MllpClient;

std::string ControlId(int64_t run_id, int connection, uint64_t seq) {
  return absl::StrCat("LOAD-", run_id, "-", connection, "-", seq);
}

Schedule::Schedule(const LoadOptions& options, Clock::time_point start)
    : messages_(options.messages),
      rate_(options.rate),
      start_(start),
      end_(options.duration > Clock::duration::zero()
               ? start + options.duration
               : Clock::time_point::max()) {}

bool Schedule::Claim(uint64_t* seq, Clock::time_point* due) {
  if (rate_ <= 0 && Clock::now() >= end_) return false;
  const uint64_t n = next_.fetch_add(1, std::memory_order_relaxed);
  if (messages_ > 0 && n >= static_cast<uint64_t>(messages_)) return false;
  *seq = n;
  *due = start_;
  if (rate_ > 0) {
    *due = start_ + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(n / rate_));
    if (*due >= end_) return false;
  }
  return true;
}

LoadStats RunConnection(int connection, const LoadOptions& options,
                        const std::vector<MessageTemplate>& templates,
                        Schedule& schedule, MllpClient& client) {
  struct InFlight {
    std::string control_id;
    Clock::time_point sent;
  };
  LoadStats stats;
  std::deque<InFlight> in_flight;
  const size_t pipeline = static_cast<size_t>(std::max(1, options.pipeline));
  const std::string label = absl::StrCat("connection ", connection, ": ");
  uint64_t local_seq = 0;
  bool have_next = false;  // A claimed message waits to be sent.
  bool claiming = true;
  uint64_t seq = 0;
  Clock::time_point due;

  // The connection is gone: what was in flight is lost.
  auto lost = [&](const absl::Status& status) {
    if (!in_flight.empty()) {
      stats.errors += static_cast<int64_t>(in_flight.size());
      stats.AddErrorSample(label + std::string(status.message()));
      in_flight.clear();
    }
    client.Close();
  };
  auto connect = [&]() {
    const absl::Status status = client.Connect(Clock::now() + options.timeout);
    if (status.ok()) return true;
    ++stats.connect_failures;
    stats.AddErrorSample(label + std::string(status.message()));
    return false;
  };

  if (!connect()) return stats;
  for (;;) {
    MllpClient::Frame frame;
    while (client.PopFrame(&frame)) {
      if (in_flight.empty()) {
        ++stats.other;  // An ACK nobody asked for (or a late one).
        continue;
      }
      const InFlight sent = std::move(in_flight.front());
      in_flight.pop_front();
      ++stats.acknowledged;
      stats.latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(frame.received - sent.sent)
              .count());
      absl::StatusOr<hl7send::AckInfo> ack = hl7send::ReadAck(frame.payload);
      if (!ack.ok()) {
        ++stats.other;
        continue;
      }
      stats.CountCode(ack->code);
      if (ack->control_id != sent.control_id) ++stats.mismatched;
    }
    if (!in_flight.empty() &&
        Clock::now() >= in_flight.front().sent + options.timeout) {
      // The answers may still come; a new connection keeps them apart.
      stats.timeouts += static_cast<int64_t>(in_flight.size());
      in_flight.clear();
      client.Close();
    }
    if (!have_next && claiming && in_flight.size() < pipeline) {
      have_next = schedule.Claim(&seq, &due);
      claiming = have_next;
    }
    if (!have_next && in_flight.empty()) break;  // All done.
    if (have_next && in_flight.size() < pipeline && Clock::now() >= due) {
      if (!client.connected() && !connect()) {
        ++stats.not_sent;  // Give up; the other connections go on.
        break;
      }
      const MessageTemplate& t = templates[seq % templates.size()];
      std::string id = options.unique_ids
                           ? ControlId(options.run_id, connection, ++local_seq)
                           : t.control_id();
      const std::string payload =
          options.unique_ids ? t.WithControlId(id) : t.message();
      have_next = false;
      ++stats.sent;
      const Clock::time_point sent = Clock::now();
      in_flight.push_back({std::move(id), sent});
      const absl::Status status = client.Send(payload, sent + options.timeout);
      if (!status.ok()) lost(status);
      continue;
    }
    // Wait for an ACK, the next message's due time or the oldest timeout.
    Clock::time_point wake = Clock::time_point::max();
    if (!in_flight.empty()) wake = in_flight.front().sent + options.timeout;
    if (have_next && in_flight.size() < pipeline) wake = std::min(wake, due);
    if (!client.connected()) {
      std::this_thread::sleep_until(wake);
      continue;
    }
    const absl::Status status = client.WaitForFrame(wake);
    if (!status.ok() && !absl::IsDeadlineExceeded(status)) lost(status);
  }
  client.Close();
  return stats;
}

LoadStats RunLoad(const LoadOptions& options,
                  const std::vector<MessageTemplate>& templates,
                  const std::vector<std::unique_ptr<MllpClient>>& clients,
                  double* elapsed_s) {
  const Clock::time_point start = Clock::now();
  Schedule schedule(options, start);
  std::vector<LoadStats> results(clients.size());
  std::vector<std::thread> threads;
  threads.reserve(clients.size());
  for (size_t i = 0; i < clients.size(); ++i) {
    threads.emplace_back([&, i] {
      results[i] = RunConnection(static_cast<int>(i), options, templates,
                                 schedule, *clients[i]);
    });
  }
  for (std::thread& t : threads) t.join();
  *elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  LoadStats total;
  for (const LoadStats& r : results) total.Merge(r);
  if (options.messages > 0) {
    // Messages no connection was left to send.
    total.not_sent = std::max<int64_t>(options.messages - total.sent, 0);
  }
  return total;
}

}  // namespace hl7load
