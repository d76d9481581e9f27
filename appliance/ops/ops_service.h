// The operations endpoints of hl7d over HttpServer:
//   GET /healthz        200 {"status":"alive",...} while the process serves
//   GET /readyz         200 / 503 with every readiness check (store writable,
//                       writer thread alive, disk headroom, and those added
//                       by main: MLLP listening, ...)
//   GET /metrics        Prometheus text format 0.0.4
//   GET /api/v1/stats   the dashboard's numbers (JSON, no PHI; StatsJson())
//   GET /               the dashboard page (+ /dashboard.js, /dashboard.css)
// With a viewer token configured, /metrics and /api/v1/stats need
// "Authorization: Bearer <token>"; the page, its assets and the health
// endpoints carry no data and stay public (the page asks for the token).
#ifndef APPLIANCE_OPS_OPS_SERVICE_H_
#define APPLIANCE_OPS_OPS_SERVICE_H_

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "appliance/base/clock.h"
#include "appliance/intake/message_store.h"
#include "appliance/ops/http_server.h"
#include "appliance/ops/metrics.h"
#include "appliance/ops/stats.h"

namespace appliance::ops {

struct OpsOptions {
  // Where the store lives: /readyz checks its file system's free space.
  std::string data_dir;
  uint64_t min_free_disk_bytes = uint64_t{256} << 20;
  // /readyz fails when the store's writer has not woken for this long.
  std::chrono::milliseconds writer_max_quiet{150000};
  // Dashboard "time saved": manual entry minutes per accepted message.
  double minutes_per_message = 3;
  // /api/v1/stats is recomputed at most this often; the pipeline scan for
  // the queue depth at most every queue_scan_interval.
  std::chrono::milliseconds stats_cache{1000};
  std::chrono::milliseconds queue_scan_interval{10000};
};

class OpsService {
 public:
  using ReadinessCheck = std::function<absl::Status()>;
  using DeliveryProvider = std::function<DeliveryStatus()>;

  // `store` and `clock` must outlive the service. Registers the store's
  // metrics (collectors) in registry().
  OpsService(intake::MessageStore* store, const Clock* clock,
             OpsOptions options);
  OpsService(const OpsService&) = delete;
  OpsService& operator=(const OpsService&) = delete;
  ~OpsService();  // Shutdown().

  // For other components: counters/gauges/histograms and AddCollector().
  Registry& registry() { return registry_; }

  // Adds a /readyz check (OK = ready; the message is shown when not).
  // Call before Start().
  void AddReadinessCheck(std::string name, ReadinessCheck check);
  // Supplies the dashboard's "delivery" section; until set, it reports
  // {"configured": false}. Thread-safe.
  void SetDeliveryStatus(DeliveryProvider provider);

  // Starts the HTTP server with the routes above.
  absl::Status Start(const HttpServerOptions& options);
  uint16_t port() const;  // 0 before Start().
  void Shutdown();        // Idempotent.

  // The handlers (also used by tests without sockets).
  HttpResponse Healthz() const;
  HttpResponse Readyz() const;
  HttpResponse Metrics() const;
  HttpResponse Stats();
  bool Ready() const;

 private:
  struct CheckResult {
    std::string name;
    absl::Status status;
  };
  std::vector<CheckResult> RunChecks() const;
  absl::Status DiskHeadroom() const;
  absl::StatusOr<uint64_t> FreeDiskBytes() const;
  // Length of the audit chain; nullopt when it cannot be read.
  std::optional<uint64_t> AuditRecordCount() const;
  void CollectStore(MetricsWriter& w);
  std::map<std::string, uint64_t> QueueByState();
  std::map<std::string, HttpHandler> Routes();

  intake::MessageStore* const store_;  // Not owned.
  const Clock* const clock_;           // Not owned.
  const OpsOptions options_;
  const int64_t started_us_;
  Registry registry_;
  std::vector<std::pair<std::string, ReadinessCheck>> checks_;

  std::mutex mu_;  // Guards the members below.
  DeliveryProvider delivery_;
  std::string stats_cached_;
  std::chrono::steady_clock::time_point stats_at_;
  std::map<std::string, uint64_t> queue_cached_;
  std::chrono::steady_clock::time_point queue_at_;
  bool queue_valid_ = false;

  std::unique_ptr<HttpServer> server_;
};

}  // namespace appliance::ops

#endif  // APPLIANCE_OPS_OPS_SERVICE_H_
