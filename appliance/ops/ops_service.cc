#include "appliance/ops/ops_service.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "appliance/audit/chain.h"
#include "appliance/fhir/json_writer.h"
#include "appliance/ops/dashboard_assets.h"
#include "glog/logging.h"

namespace appliance::ops {
namespace {

constexpr char kJson[] = "application/json";

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = kJson;
  r.body = std::move(body);
  return r;
}

HttpResponse Asset(const char* content_type, const char* body) {
  HttpResponse r;
  r.content_type = content_type;
  r.body = body;
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; "
                         "frame-ancestors 'none'");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

}  // namespace

OpsService::OpsService(intake::MessageStore* store, const Clock* clock,
                       OpsOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      started_us_(clock->NowMicros()) {
  registry_.AddCollector([this](MetricsWriter& w) { CollectStore(w); });
}

OpsService::~OpsService() { Shutdown(); }

void OpsService::AddReadinessCheck(std::string name, ReadinessCheck check) {
  checks_.emplace_back(std::move(name), std::move(check));
}

void OpsService::SetDeliveryStatus(DeliveryProvider provider) {
  std::lock_guard<std::mutex> lock(mu_);
  delivery_ = std::move(provider);
}

absl::StatusOr<uint64_t> OpsService::FreeDiskBytes() const {
  struct statvfs fs;
  if (statvfs(options_.data_dir.c_str(), &fs) != 0) {
    const int err = errno;
    return absl::UnavailableError(
        absl::StrCat("statvfs of the data directory failed: ", strerror(err)));
  }
  return static_cast<uint64_t>(fs.f_bavail) * static_cast<uint64_t>(fs.f_frsize);
}

std::optional<uint64_t> OpsService::AuditRecordCount() const {
  absl::StatusOr<audit::Trail> trail = audit::OpenTrail(store_->env());
  if (!trail.ok()) return std::nullopt;
  absl::StatusOr<store::ReadTxn> txn = store_->env().BeginRead();
  if (!txn.ok()) return std::nullopt;
  absl::StatusOr<std::optional<audit::TrailBounds>> bounds =
      audit::Bounds(*txn, *trail);
  if (!bounds.ok()) return std::nullopt;
  return bounds->has_value() ? (*bounds)->count() : 0;
}

absl::Status OpsService::DiskHeadroom() const {
  const absl::StatusOr<uint64_t> free_bytes = FreeDiskBytes();
  if (!free_bytes.ok()) return free_bytes.status();
  if (*free_bytes < options_.min_free_disk_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(*free_bytes >> 20, " MiB free, below the minimum of ",
                     options_.min_free_disk_bytes >> 20, " MiB"));
  }
  return absl::OkStatus();
}

std::vector<OpsService::CheckResult> OpsService::RunChecks() const {
  std::vector<CheckResult> out;
  out.push_back({"store_writable",
                 store_->healthy()
                     ? absl::OkStatus()
                     : absl::UnavailableError("the last commit failed")});
  out.push_back(
      {"writer_alive", store_->WriterAlive(options_.writer_max_quiet)
                           ? absl::OkStatus()
                           : absl::UnavailableError(
                                 "the store's writer thread is not running "
                                 "or has been stuck")});
  out.push_back({"disk_headroom", DiskHeadroom()});
  for (const auto& [name, check] : checks_) out.push_back({name, check()});
  return out;
}

bool OpsService::Ready() const {
  for (const CheckResult& c : RunChecks()) {
    if (!c.status.ok()) return false;
  }
  return true;
}

HttpResponse OpsService::Healthz() const {
  std::string body;
  fhir::JsonWriter w(&body);
  w.BeginObject();
  w.Member("status", "alive");
  w.Key("uptime_s");
  w.Int((clock_->NowMicros() - started_us_) / 1000000);
  w.EndObject();
  return Json(200, body);
}

HttpResponse OpsService::Readyz() const {
  const std::vector<CheckResult> checks = RunChecks();
  bool ready = true;
  for (const CheckResult& c : checks) ready = ready && c.status.ok();
  std::string body;
  fhir::JsonWriter w(&body);
  w.BeginObject();
  w.Key("ready");
  w.Bool(ready);
  w.ObjectMember("checks");
  for (const CheckResult& c : checks) {
    w.ObjectMember(c.name);
    w.Key("ok");
    w.Bool(c.status.ok());
    if (!c.status.ok()) w.Member("detail", std::string(c.status.message()));
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return Json(ready ? 200 : 503, body);
}

HttpResponse OpsService::Metrics() const {
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = registry_.Render();
  return r;
}

std::map<std::string, uint64_t> OpsService::QueueByState() {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_valid_ && now - queue_at_ < options_.queue_scan_interval) {
      return queue_cached_;
    }
  }
  std::map<std::string, uint64_t> by_state;
  uint64_t after = 0;
  while (true) {
    absl::StatusOr<std::vector<intake::pb::PipelineEntry>> page =
        store_->ListPipeline(after, 4096);
    if (!page.ok()) {
      LOG(WARNING) << "ops: cannot scan the pipeline: " << page.status();
      break;
    }
    for (const auto& e : *page) {
      by_state[intake::StateName(e.state())]++;
      after = e.seq();
    }
    if (page->size() < 4096) break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  queue_cached_ = by_state;
  queue_at_ = now;
  queue_valid_ = true;
  return by_state;
}

void OpsService::CollectStore(MetricsWriter& w) {
  w.Gauge("hl7_up", "1 while hl7d serves.", 1);
  w.Gauge("hl7_start_time_seconds", "When this hl7d process started.",
          static_cast<double>(started_us_) / 1e6);
  w.Gauge("hl7_ready", "1 when /readyz reports ready.", Ready() ? 1 : 0);
  w.Gauge("hl7_store_healthy", "0 after a failed commit, until one succeeds.",
          store_->healthy() ? 1 : 0);
  w.Counter("hl7_store_commits_total", "Intake group commits.",
            static_cast<double>(store_->commits()));
  w.Counter("hl7_store_commit_failures_total", "Failed intake group commits.",
            static_cast<double>(store_->commit_failures()));
  absl::StatusOr<store::MapUsage> usage = store_->env().Usage();
  if (usage.ok()) {
    w.Gauge("hl7_store_used_bytes", "High-water mark of the LMDB map in use.",
            static_cast<double>(usage->used_bytes));
    w.Gauge("hl7_store_map_size_bytes", "Current LMDB map size.",
            static_cast<double>(usage->map_size));
    w.Gauge("hl7_store_map_max_bytes", "Cap of the LMDB map size.",
            static_cast<double>(usage->max_map_size));
    w.Gauge("hl7_store_map_used_ratio", "Used bytes / map cap.",
            usage->max_map_size == 0
                ? 0
                : static_cast<double>(usage->used_bytes) /
                      static_cast<double>(usage->max_map_size));
    w.Gauge("hl7_store_readers_used", "LMDB reader slots used.",
            usage->readers_used);
  }
  if (absl::StatusOr<uint64_t> free_bytes = FreeDiskBytes(); free_bytes.ok()) {
    w.Gauge("hl7_store_disk_free_bytes",
            "Free bytes of the data directory's file system.",
            static_cast<double>(*free_bytes));
  }
  if (std::optional<uint64_t> n = AuditRecordCount()) {
    w.Gauge("hl7_audit_records", "Length of the audit hash chain.",
            static_cast<double>(*n));
  }
  for (const auto& [state, n] : QueueByState()) {
    w.Gauge("hl7_queue_depth", "Pipeline entries by state.",
            static_cast<double>(n), {{"state", state}});
  }
}

HttpResponse OpsService::Stats() {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stats_cached_.empty() && now - stats_at_ < options_.stats_cache) {
      return Json(200, stats_cached_);
    }
  }
  StatsInput in;
  in.now_us = clock_->NowMicros();
  in.session_start_us = store_->session_start_us();
  in.minutes_per_message = options_.minutes_per_message;
  in.ready = Ready();
  const std::string from =
      absl::StrCat("h/", intake::HourBucket(PreviousMonthStart(in.now_us)));
  absl::StatusOr<CounterMap> hours = store_->ReadCounters("h/", from);
  absl::StatusOr<CounterMap> last = store_->ReadCounters("last/");
  absl::StatusOr<CounterMap> sessions = store_->ReadCounters("up/");
  if (!hours.ok() || !last.ok() || !sessions.ok()) {
    const absl::Status s =
        !hours.ok() ? hours.status()
                    : (!last.ok() ? last.status() : sessions.status());
    LOG(WARNING) << "ops: cannot read statistics: " << s;
    return Json(503, "{\"error\":\"statistics unavailable\"}");
  }
  in.hours = std::move(*hours);
  in.last = std::move(*last);
  in.sessions = std::move(*sessions);
  in.queue_by_state = QueueByState();
  if (std::optional<uint64_t> n = AuditRecordCount()) in.audit_records = *n;
  DeliveryProvider delivery;
  {
    std::lock_guard<std::mutex> lock(mu_);
    delivery = delivery_;
  }
  if (delivery) in.delivery = delivery();
  std::string body = StatsJson(in);
  std::lock_guard<std::mutex> lock(mu_);
  stats_cached_ = body;
  stats_at_ = now;
  return Json(200, std::move(body));
}

std::map<std::string, HttpHandler> OpsService::Routes() {
  std::map<std::string, HttpHandler> routes;
  routes["/healthz"] = [this](const HttpRequest&) { return Healthz(); };
  routes["/readyz"] = [this](const HttpRequest&) { return Readyz(); };
  routes["/metrics"] = [this](const HttpRequest&) { return Metrics(); };
  routes["/api/v1/stats"] = [this](const HttpRequest&) { return Stats(); };
  routes["/"] = [](const HttpRequest&) {
    return Asset("text/html; charset=utf-8", kDashboardHtml);
  };
  routes["/dashboard.js"] = [](const HttpRequest&) {
    return Asset("text/javascript; charset=utf-8", kDashboardJs);
  };
  routes["/dashboard.css"] = [](const HttpRequest&) {
    return Asset("text/css; charset=utf-8", kDashboardCss);
  };
  return routes;
}

absl::Status OpsService::Start(const HttpServerOptions& options) {
  HttpServerOptions o = options;
  o.public_paths = {"/", "/dashboard.js", "/dashboard.css", "/healthz",
                    "/readyz"};
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(o, Routes());
  if (!server.ok()) return server.status();
  server_ = std::move(*server);
  const HttpServerStats* st = &server_->stats();
  registry_.AddCollector([st](MetricsWriter& w) {
    auto v = [](const std::atomic<uint64_t>& a) {
      return static_cast<double>(a.load());
    };
    w.Counter("hl7_http_requests_total", "Ops HTTP requests answered.",
              v(st->requests));
    w.Counter("hl7_http_errors_total", "Ops HTTP requests refused, by reason.",
              v(st->bad_requests), {{"reason", "bad_request"}});
    w.Counter("hl7_http_errors_total", "", v(st->not_found),
              {{"reason", "not_found"}});
    w.Counter("hl7_http_errors_total", "", v(st->unauthorized),
              {{"reason", "unauthorized"}});
    w.Counter("hl7_http_errors_total", "", v(st->timeouts),
              {{"reason", "timeout"}});
    w.Counter("hl7_http_errors_total", "", v(st->tls_handshake_failures),
              {{"reason", "tls_handshake"}});
    w.Counter("hl7_http_errors_total", "", v(st->connections_rejected),
              {{"reason", "connection_limit"}});
    w.Gauge("hl7_http_connections_active", "Open ops HTTP connections.",
            v(st->connections_active));
  });
  return absl::OkStatus();
}

uint16_t OpsService::port() const {
  return server_ == nullptr ? 0 : server_->port();
}

void OpsService::Shutdown() {
  if (server_ != nullptr) server_->Shutdown();
}

}  // namespace appliance::ops
