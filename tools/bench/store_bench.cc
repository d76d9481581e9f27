// What the audit trail costs the ACK path: the intake (parse, validate,
// group commit with fsync, ACK) driven by many concurrent senders, with the
// intake's audit records (two hash-chained records per message plus the
// authenticated checkpoint) and without them, alternating rounds.
//   bazel build -c opt //tools/bench:store_bench
//   bazel-out/k8-opt/bin/tools/bench/store_bench [DIR] [SENDERS] [SECONDS] [ROUNDS] [direct|mllp]
// `direct` (the default) calls the intake in-process; `mllp` puts it behind
// hl7d's MLLP server on a loopback port, each sender a TCP connection that
// sends a frame and waits for its ACK: the whole ACK path a sender sees.
// Prints messages/s and ACK latency p50/p99 per round, the medians, and the
// median of the per-round ratios (each round runs both variants back to back,
// so a slow phase of the disk hits both).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "appliance/base/clock.h"
#include "appliance/intake/intake.h"
#include "appliance/intake/message_store.h"
#include "appliance/intake/mllp_handler.h"
#include "appliance/mllp/server.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string Oru(const std::string& control_id) {
  std::string m = absl::StrCat(
      "MSH|^~\\&|BENCH|LAB|HL7APPLIANCE|GENHOSP|20261102081530||ORU^R01^ORU_R01|",
      control_id, "|P|2.5.1\r",
      "PID|1||MRN9000001^^^GENHOSP^MR||TESTPATIENT^BENCH||19800101|F\r"
      "PV1|1|O|LAB^^^GENHOSP||||||||||||||||V0001^^^GENHOSP^VN\r"
      "OBR|1|PLC1|FIL1|24323-8^Metabolic panel^LN|||20261102073000\r");
  for (int i = 1; i <= 15; ++i) {
    absl::StrAppend(&m, "OBX|", i, "|NM|2345-7^Glucose^LN||5.", i,
                    "|mmol/L|3.9-6.1|N|||F|||20261102080000\r");
  }
  return m;
}

// A blocking MLLP sender: one frame out, its ACK frame back.
class Sender {
 public:
  explicit Sender(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      perror("connect");
      exit(1);
    }
  }
  ~Sender() { close(fd_); }

  void Exchange(const std::string& payload) {
    const std::string frame = absl::StrCat("\x0b", payload, "\x1c\r");
    for (size_t off = 0; off < frame.size();) {
      const ssize_t n = write(fd_, frame.data() + off, frame.size() - off);
      if (n <= 0) {
        perror("write");
        exit(1);
      }
      off += static_cast<size_t>(n);
    }
    // The ACK ends with FS CR.
    std::string in;
    char buf[4096];
    while (in.size() < 2 || in.compare(in.size() - 2, 2, "\x1c\r") != 0) {
      const ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) {
        fprintf(stderr, "ACK read failed\n");
        exit(1);
      }
      in.append(buf, static_cast<size_t>(n));
    }
    if (in.find("MSA|AA|") == std::string::npos) {
      fprintf(stderr, "not accepted: %s\n", in.c_str());
      exit(1);
    }
  }

 private:
  int fd_ = -1;
};

struct Round {
  double msgs_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  // Per message, noise-free unlike the times: bytes the process wrote
  // (/proc/self/io wchar: the store's page writes, plus the ACKs in mllp
  // mode) and CPU time of the whole process.
  double bytes_written = 0;
  double cpu_us = 0;
};

// Bytes written by this process so far (wchar of /proc/self/io).
double BytesWritten() {
  FILE* f = fopen("/proc/self/io", "r");
  if (f == nullptr) return 0;
  char line[128];
  double wchar = 0;
  while (fgets(line, sizeof(line), f) != nullptr) {
    if (sscanf(line, "wchar: %lf", &wchar) == 1) break;
  }
  fclose(f);
  return wchar;
}

double CpuMicros() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + u.ru_utime.tv_usec +
         u.ru_stime.tv_usec;
}

Round Run(const std::string& dir, bool audit, int senders, int seconds, int round,
          bool mllp) {
  appliance::intake::MessageStoreOptions o;
  o.data_dir = absl::StrCat(dir, "/r", round, audit ? "a" : "n");
  o.key_file = o.data_dir + ".key";
  o.audit_intake = audit;
  o.heartbeat_interval = std::chrono::milliseconds(0);
  auto store = appliance::intake::MessageStore::Open(o, appliance::RealClock::Get());
  if (!store.ok()) {
    fprintf(stderr, "open: %s\n", std::string(store.status().message()).c_str());
    exit(1);
  }
  appliance::intake::Intake intake(store->get(), appliance::RealClock::Get(),
                                   appliance::intake::IntakeOptions());
  appliance::intake::IntakeFrameHandler handler(&intake);
  std::unique_ptr<appliance::mllp::Server> server;
  if (mllp) {
    appliance::mllp::ServerOptions so;
    so.port = 0;
    so.max_connections_per_address = senders + 1;
    auto started = appliance::mllp::Server::Start(so, &handler);
    if (!started.ok()) {
      fprintf(stderr, "mllp: %s\n", std::string(started.status().message()).c_str());
      exit(1);
    }
    server = std::move(*started);
  }
  std::atomic<bool> stop{false};
  const double bytes0 = BytesWritten();
  const double cpu0 = CpuMicros();
  std::vector<std::vector<double>> latencies(senders);
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int s = 0; s < senders; ++s) {
    threads.emplace_back([&, s] {
      std::unique_ptr<Sender> sender;
      if (mllp) sender = std::make_unique<Sender>(server->port());
      for (int n = 0; !stop; ++n) {
        const std::string payload = Oru(absl::StrCat("B", round, audit, "-", s, "-", n));
        const auto start = Clock::now();
        if (mllp) {
          sender->Exchange(payload);
        } else {
          std::promise<void> acked;
          intake.OnMessage({"127.0.0.1:1", ""}, payload,
                           [&](std::string, bool) { acked.set_value(); });
          acked.get_future().get();
        }
        latencies[s].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  const double bytes = BytesWritten() - bytes0;
  const double cpu = CpuMicros() - cpu0;
  if (server) server->Shutdown(absl::Seconds(1));
  (*store)->Stop();
  std::vector<double> all;
  for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  Round r;
  r.msgs_per_s = all.size() / elapsed;
  r.p50_ms = all[all.size() / 2];
  r.p99_ms = all[all.size() * 99 / 100];
  r.bytes_written = bytes / all.size();
  r.cpu_us = cpu / all.size();
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/store_bench";
  const int senders = argc > 2 ? atoi(argv[2]) : 64;
  const int seconds = argc > 3 ? atoi(argv[3]) : 10;
  const int rounds = argc > 4 ? atoi(argv[4]) : 3;
  const bool mllp = argc > 5 && std::string(argv[5]) == "mllp";
  if (std::system(absl::StrCat("rm -rf '", dir, "' && mkdir -p '", dir, "'").c_str()) != 0) {
    fprintf(stderr, "cannot create %s\n", dir.c_str());
    return 1;
  }
  std::vector<double> rate[2], p50[2], p99[2], bytes[2], cpu[2], cost;
  for (int round = 0; round < rounds; ++round) {
    // Alternate which variant runs first, so warm-up and drift even out.
    for (int k = 0; k < 2; ++k) {
      const int audit = (round + k) % 2 == 0 ? 1 : 0;
      const Round r = Run(dir, audit == 1, senders, seconds, round, mllp);
      printf("round %d audit %-3s %8.0f msg/s  ACK p50 %6.2f ms  p99 %6.2f ms  "
             "%6.0f bytes written, %5.1f us CPU per message\n",
             round, audit ? "on" : "off", r.msgs_per_s, r.p50_ms, r.p99_ms,
             r.bytes_written, r.cpu_us);
      fflush(stdout);
      rate[audit].push_back(r.msgs_per_s);
      p50[audit].push_back(r.p50_ms);
      p99[audit].push_back(r.p99_ms);
      bytes[audit].push_back(r.bytes_written);
      cpu[audit].push_back(r.cpu_us);
    }
    cost.push_back(100.0 * (1.0 - rate[1].back() / rate[0].back()));
  }
  printf("median: audit on %.0f msg/s (p50 %.2f ms, p99 %.2f ms); off %.0f msg/s "
         "(p50 %.2f ms, p99 %.2f ms); throughput cost %.1f%%\n",
         Median(rate[1]), Median(p50[1]), Median(p99[1]), Median(rate[0]),
         Median(p50[0]), Median(p99[0]),
         100.0 * (1.0 - Median(rate[1]) / Median(rate[0])));
  printf("median of the per-round costs: %.1f%% (%d rounds, %s)\n", Median(cost), rounds,
         mllp ? "MLLP over loopback" : "direct");
  printf("per message: %.0f bytes written with the audit, %.0f without (+%.1f%%); "
         "CPU %.1f us with, %.1f us without (+%.1f%%)\n",
         Median(bytes[1]), Median(bytes[0]), 100.0 * (Median(bytes[1]) / Median(bytes[0]) - 1),
         Median(cpu[1]), Median(cpu[0]), 100.0 * (Median(cpu[1]) / Median(cpu[0]) - 1));
  return std::system(absl::StrCat("rm -rf '", dir, "'").c_str()) == 0 ? 0 : 1;
}
