// hl7d: the appliance daemon (composition root).
//
//   hl7d [--config=FILE] [--data_dir=DIR] [--mllp_port=N] [--bind=ADDR] ...
//   hl7d inspect --data_dir=DIR [--limit=N]
//
// Starts the durable store, the mapping worker, the intake and the MLLP
// server with embedded defaults (loopback only) overridden by the config file
// and flags; logs the ports it bound; on SIGTERM or SIGINT drains (stops
// accepting, answers the messages in flight, stops the mapping worker,
// commits) and exits 0.
#include <glog/logging.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "appliance/base/clock.h"
#include "appliance/config/config.h"
#include "appliance/control/server.h"
#include "appliance/fhir/datetime.h"
#include "appliance/fhir/terminology.h"
#include "appliance/intake/intake.h"
#include "appliance/intake/message_store.h"
#include "appliance/intake/mllp_handler.h"
#include "appliance/mllp/handler.h"
#include "appliance/mllp/server.h"
#include "appliance/ops/intake_metrics.h"
#include "appliance/ops/mllp_metrics.h"
#include "appliance/ops/metrics.h"
#include "appliance/ops/ops_service.h"
#include "appliance/audit/config_audit.h"
#include "appliance/audit/rate_limited.h"
#include "appliance/audit/retention.h"
#include "appliance/pipeline/delivery_setup.h"
#include "appliance/pipeline/delivery_worker.h"
#include "appliance/pipeline/mapping_worker.h"
#include "appliance/terminology/store.h"

namespace appliance {
namespace {

constexpr int kExitUsage = 64;
constexpr int kExitConfig = 78;   // EX_CONFIG: bad configuration.
constexpr int kExitStartup = 69;  // EX_UNAVAILABLE: could not start.

const char kUsage[] =
    "usage: hl7d [FLAGS]                 run the appliance\n"
    "       hl7d inspect --data_dir=DIR  summarise a (running or stopped) store\n"
    "\n"
    "flags (override the --config text-format file, which overrides the\n"
    "embedded defaults):\n"
    "  --config=FILE            ApplianceConfig in protobuf text format\n"
    "  --data_dir=DIR           LMDB store (default ./var/hl7d)\n"
    "  --key_file=FILE          key file (default <data_dir>.key; created 0600)\n"
    "  --bind=ADDR              MLLP listen address (default 127.0.0.1; other\n"
    "                           addresses require TLS)\n"
    "  --mllp_port=N            default 2575; 0 picks a free port\n"
    "  --grpc_port=N            gRPC control plane (docs/CONTROL_PLANE.md);\n"
    "                           default 50051, 0 = free port\n"
    "  --grpc_bind=ADDR         default 127.0.0.1 (other addresses require\n"
    "                           --grpc_tls_cert_file and --grpc_tls_key_file)\n"
    "  --grpc_tls_cert_file, --grpc_tls_key_file, --grpc_tls_ca_file (client\n"
    "                           certificates), --grpc_require_client_cert\n"
    "  --grpc_admin_token_sha256=HEX  an admin principal's token hash (more\n"
    "                           principals: control.principals in --config)\n"
    "  --http_port=N            ops HTTP (/metrics, /healthz, /readyz, the\n"
    "                           dashboard at /); default 8080, 0 = free port\n"
    "  --http_bind=ADDR         default 127.0.0.1 (other addresses require\n"
    "                           --http_tls_cert_file, --http_tls_key_file and\n"
    "                           --http_viewer_token_sha256)\n"
    "  --manual_entry_minutes=M dashboard time saved per message (default 3)\n"
    "  --tls_cert_file, --tls_key_file, --tls_ca_file, --tls_require_client_cert\n"
    "  --ehr_url=URL            FHIR R4 base URL of the EHR (https://, or\n"
    "                           http:// on loopback); without it Bundles go to\n"
    "                           NDJSON files in --file_sink_dir\n"
    "  --file_sink_dir=DIR      default <data_dir>.out\n"
    "  --ehr_ca_file, --ehr_client_cert_file, --ehr_client_key_file (mTLS)\n"
    "  --ehr_bearer_token_file, --ehr_basic_auth_file (secrets: files only)\n"
    "  --delivery_concurrency=N deliveries in flight (default 4)\n"
    "  --payload_retention_days=N, --audit_retention_days=N  delete message\n"
    "                           payloads (finished ones) / audit records older\n"
    "                           than N days (default 0: keep)\n"
    "  --max_frame_bytes=N      default 1048576\n"
    "  --drain_timeout_s=N      default 10\n"
    "  --site_time_zone=ZONE    zone of times sent without offset (UTC)\n"
    "  --terminology_csv=FILE   terminology mappings (CSV) imported at start\n"
    "                           as a new version when they differ from the\n"
    "                           stored current one\n"
    "  --unmapped_code_policy=flag|hold  unmapped local codes/units: keep and\n"
    "                           tag (flag, default) or hold the message\n"
    "  --ready_file=FILE        write \"mllp_port=N\", \"http_port=N\" and\n"
    "                           \"grpc_port=N\" lines\n"
    "                           here once listening\n";

void WriteDeliveryMetrics(const pipeline::DeliveryWorker& delivery,
                          ops::MetricsWriter& w) {
  const pipeline::DeliveryStats& st = delivery.stats();
  const pipeline::DeliverySnapshot snap = delivery.snapshot();
  w.Counter("hl7_delivery_attempts_total",
            "Delivery attempts to the destination, by result (delivered; "
            "failed: retryable; refused: the destination refused the Bundle).",
            static_cast<double>(st.delivered.load()), {{"result", "delivered"}});
  w.Counter("hl7_delivery_attempts_total", "",
            static_cast<double>(st.failed.load()), {{"result", "failed"}});
  w.Counter("hl7_delivery_attempts_total", "",
            static_cast<double>(st.refused.load()), {{"result", "refused"}});
  w.Counter("hl7_delivery_dead_lettered_total",
            "Messages that went to the dead letters.",
            static_cast<double>(st.dead_lettered.load()));
  w.Counter("hl7_delivery_seconds_total",
            "Time spent in delivery attempts (destination round trips); "
            "divide by the attempts for the mean EHR latency.",
            static_cast<double>(st.latency_us_sum.load()) / 1e6);
  w.Counter("hl7_delivery_breaker_trips_total",
            "Times the destination was found down (circuit breaker opened).",
            static_cast<double>(st.breaker_trips.load()));
  w.Counter("hl7_delivery_commit_failures_total",
            "Delivery results that failed to commit.",
            static_cast<double>(st.commit_failures.load()));
  w.Gauge("hl7_delivery_queue", "Messages waiting for delivery, by kind.",
          static_cast<double>(snap.queued - snap.retrying), {{"kind", "queued"}});
  w.Gauge("hl7_delivery_queue", "", static_cast<double>(snap.retrying),
          {{"kind", "retrying"}});
  w.Gauge("hl7_delivery_queue", "", static_cast<double>(snap.in_flight),
          {{"kind", "in_flight"}});
  w.Gauge("hl7_delivery_dead_letters", "Messages in the dead letters now.",
          static_cast<double>(snap.dead_letters));
  w.Gauge("hl7_delivery_breaker_open", "1 while the destination counts as down.",
          snap.breaker_open ? 1 : 0);
  w.Gauge("hl7_delivery_paused", "1 while an operator paused delivery.",
          snap.paused ? 1 : 0);
}

int Inspect(const config::FlagMap& flags) {
  auto dir = flags.find("data_dir");
  if (dir == flags.end() || dir->second.empty()) {
    std::cerr << "hl7d inspect: --data_dir=DIR is required\n";
    return kExitUsage;
  }
  size_t limit = 50;
  if (auto l = flags.find("limit"); l != flags.end()) {
    limit = static_cast<size_t>(strtoull(l->second.c_str(), nullptr, 10));
  }
  intake::MessageStoreOptions options;
  options.data_dir = dir->second;
  options.read_only = true;
  auto store = intake::MessageStore::Open(options, RealClock::Get());
  if (!store.ok()) {
    std::cerr << "hl7d inspect: cannot open " << dir->second << ": "
              << store.status().message() << "\n";
    return kExitStartup;
  }
  absl::StatusOr<intake::StoreSummary> sum = (*store)->Summarize();
  if (!sum.ok()) {
    std::cerr << "hl7d inspect: " << sum.status().message() << "\n";
    return kExitStartup;
  }
  std::cout << "messages: " << sum->messages << "\n";
  std::cout << "pipeline entries: " << sum->pipeline_entries << "\n";
  std::cout << "audit records: " << sum->audit_records << "\n";
  for (const auto& [state, n] : sum->by_state) {
    std::cout << "state " << state << ": " << n << "\n";
  }
  for (const auto& [type, n] : sum->by_type) {
    std::cout << "type " << type << ": " << n << "\n";
  }
  for (const auto& [name, n] : sum->counters) {
    std::cout << "counter " << name << ": " << n << "\n";
  }
  auto list = (*store)->ListMessages(0, limit);
  if (!list.ok()) {
    std::cerr << "hl7d inspect: " << list.status().message() << "\n";
    return kExitStartup;
  }
  std::cout << "seq\treceived_utc\ttype\tcontrol_id\tack\tstate\tduplicates\n";
  for (const auto& m : *list) {
    std::cout << m.seq() << "\t"
              << absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ",
                                  absl::FromUnixMicros(m.received_at_us()),
                                  absl::UTCTimeZone())
              << "\t" << (m.message_type().empty() ? "-" : m.message_type())
              << "\t" << (m.control_id().empty() ? "-" : m.control_id()) << "\t"
              << intake::pb::AckCode_Name(m.ack_code()).substr(9) << "\t"
              << intake::StateName(m.state()) << "\t" << m.duplicates()
              << "\n";
  }
  return 0;
}

int Run(config::FlagMap flags) {
  std::string ready_file;
  if (auto r = flags.find("ready_file"); r != flags.end()) {
    ready_file = r->second;
    flags.erase(r);
  }
  absl::StatusOr<config::ApplianceConfig> cfg = config::LoadConfig(flags);
  if (!cfg.ok()) {
    std::cerr << "hl7d: " << cfg.status().message() << "\n";
    return absl::IsFailedPrecondition(cfg.status()) ? kExitConfig : kExitUsage;
  }

  // SIGTERM/SIGINT are taken synchronously by this thread (sigwait); block
  // them before any other thread starts so none of those receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<absl::TimeZone> site_zone =
      fhir::LoadSiteTimeZone(cfg->site_time_zone());
  if (!site_zone.ok()) {
    std::cerr << "hl7d: site_time_zone: " << site_zone.status().message()
              << "\n";
    return kExitConfig;
  }

  const Clock* clock = RealClock::Get();
  intake::MessageStoreOptions store_options;
  store_options.data_dir = cfg->store().data_dir();
  store_options.key_file = cfg->store().key_file();
  store_options.initial_map_bytes = cfg->store().initial_map_mib() << 20;
  store_options.max_map_bytes = cfg->store().max_map_mib() << 20;
  store_options.max_batch = cfg->store().max_batch();
  store_options.heartbeat_interval =
      std::chrono::seconds(cfg->ops().heartbeat_interval_s());
  auto store = intake::MessageStore::Open(store_options, clock);
  if (!store.ok()) {
    std::cerr << "hl7d: cannot open the message store in "
              << store_options.data_dir << ": " << store.status().message()
              << "\n";
    return kExitStartup;
  }
  // A configuration different from the last start's is audited.
  if (absl::StatusOr<bool> changed =
          audit::RecordConfiguration(store->get(), clock, *cfg, "hl7d");
      !changed.ok()) {
    LOG(WARNING) << "configuration change not audited: " << changed.status();
  } else if (*changed) {
    LOG(INFO) << "configuration changed since the last start (audited)";
  }

  // Delivery stage: the EHR over FHIR REST (--ehr_url), else the file sink.
  absl::StatusOr<std::unique_ptr<pipeline::Destination>> destination =
      pipeline::MakeDestination(cfg->delivery(), clock);
  if (!destination.ok()) {
    std::cerr << "hl7d: delivery: " << destination.status().message() << "\n";
    (*store)->Stop();
    return kExitConfig;
  }
  pipeline::DeliveryWorkerOptions delivery_options =
      pipeline::DeliveryOptionsFromConfig(cfg->delivery());
  // Exposed in /metrics by the delivery collector below.
  ops::Histogram ehr_latency(ops::LatencyBounds());
  delivery_options.on_attempt = [&ehr_latency](absl::Duration latency,
                                               pipeline::Disposition) {
    ehr_latency.Observe(absl::ToDoubleSeconds(latency));
  };
  pipeline::DeliveryWorker delivery(store->get(), clock, destination->get(),
                                    delivery_options);

  // Terminology: the stored versions, plus the configured CSV when it
  // differs from the current one.
  auto terminology = terminology::TerminologyStore::Open(store->get(), clock);
  if (!terminology.ok()) {
    std::cerr << "hl7d: cannot load the terminology: "
              << terminology.status().message() << "\n";
    (*store)->Stop();
    return kExitStartup;
  }
  if (const std::string& csv_file = cfg->mapping().terminology_csv();
      !csv_file.empty()) {
    std::ifstream in(csv_file);
    std::stringstream csv;
    csv << in.rdbuf();
    if (!in) {
      std::cerr << "hl7d: cannot read --terminology_csv=" << csv_file << "\n";
      (*store)->Stop();
      return kExitConfig;
    }
    absl::StatusOr<int64_t> version = (*terminology)->ImportCsv(
        csv.str(), /*replace=*/true, "config",
        absl::StrCat("terminology_csv ", csv_file));
    if (!version.ok()) {
      std::cerr << "hl7d: --terminology_csv=" << csv_file << ": "
                << version.status().message() << "\n";
      (*store)->Stop();
      return absl::IsInvalidArgument(version.status()) ? kExitConfig
                                                       : kExitStartup;
    }
  }

  // Mapping stage.
  pipeline::MappingWorkerOptions mapping_options;
  mapping_options.mapper.site_time_zone = *site_zone;
  mapping_options.mapper.unmapped_policy =
      cfg->mapping().unmapped_code_policy() == "hold"
          ? fhir::UnmappedPolicy::kHold
          : fhir::UnmappedPolicy::kKeepAndFlag;
  mapping_options.mapper.default_report_status =
      cfg->mapping().default_report_status();
  mapping_options.mapper.default_observation_status =
      cfg->mapping().default_observation_status();
  mapping_options.parse.accept_lf = cfg->mllp().accept_lf();
  mapping_options.on_mapped = [&delivery](uint64_t seq) { delivery.Notify(seq); };
  pipeline::MappingWorker mapper(store->get(), clock,
                                 (*terminology)->Current(), mapping_options);
  // Declared before `mapper`, the terminology store outlives it; changes
  // come from the control plane, which stops before the mapper.
  (*terminology)->OnChange(
      [&mapper](std::shared_ptr<const fhir::Terminology> t) {
        mapper.SetTerminology(std::move(t));
      });
  LOG(INFO) << "mapping with terminology version "
            << (*terminology)->current_version() << ", unmapped codes: "
            << cfg->mapping().unmapped_code_policy();
  mapper.Start();
  if (absl::Status s = delivery.Start(); !s.ok()) {
    std::cerr << "hl7d: cannot start the delivery stage: " << s.message() << "\n";
    mapper.Stop();
    (*store)->Stop();
    return kExitStartup;
  }

  intake::IntakeOptions intake_options;
  intake_options.parse.accept_lf = cfg->mllp().accept_lf();
  intake_options.ack_application = cfg->ack().application();
  intake_options.ack_facility = cfg->ack().facility();
  intake_options.max_frame_bytes = cfg->mllp().max_frame_bytes();
  // Ops HTTP (started below, once MLLP listens): metrics registry, health,
  // dashboard. The intake reports each ACK to intake_metrics (lock-free).
  ops::OpsOptions ops_options;
  ops_options.data_dir = store_options.data_dir;
  ops_options.minutes_per_message =
      cfg->ops().manual_entry_minutes_per_message();
  ops_options.min_free_disk_bytes = cfg->ops().min_free_disk_mib() << 20;
  ops_options.writer_max_quiet =
      std::chrono::seconds(3 * cfg->ops().heartbeat_interval_s() + 30);
  ops::OpsService ops_service(store->get(), clock, ops_options);
  ops::IntakeMetrics intake_metrics(ops_service.registry());
  intake_options.observer = &intake_metrics;
  intake_options.on_accepted = [&mapper] { mapper.Notify(); };
  intake::Intake intake(store->get(), clock, intake_options);
  intake::IntakeFrameHandler handler(&intake);

  mllp::ServerOptions server_options;
  const auto& m = cfg->mllp();
  server_options.bind_address = m.bind();
  server_options.port = static_cast<uint16_t>(m.port());
  server_options.io_threads = static_cast<int>(m.io_threads());
  server_options.max_frame_size = m.max_frame_bytes();
  server_options.read_idle_timeout = absl::Seconds(m.read_idle_timeout_s());
  server_options.min_bytes_per_second = m.min_bytes_per_second();
  server_options.max_connections = static_cast<int>(m.max_connections());
  server_options.max_connections_per_address =
      static_cast<int>(m.max_connections_per_address());
  server_options.slow_sender_window = absl::Seconds(m.slow_sender_window_s());
  server_options.max_unanswered_frames = m.max_unanswered_frames();
  server_options.close_linger = absl::Seconds(m.close_linger_s());
  if (!m.tls().cert_file().empty()) {
    mllp::TlsOptions tls;
    tls.cert_file = m.tls().cert_file();
    tls.key_file = m.tls().key_file();
    tls.ca_file = m.tls().ca_file();
    tls.require_client_cert = m.tls().require_client_cert();
    tls.handshake_timeout = absl::Seconds(m.tls_handshake_timeout_s());
    server_options.tls = tls;
  }
  auto server = mllp::Server::Start(server_options, &handler);
  if (!server.ok()) {
    std::cerr << "hl7d: cannot start the MLLP server: "
              << server.status().message() << "\n";
    mapper.Stop();
    delivery.Stop();
    (*store)->Stop();
    return kExitStartup;
  }
  // Ops HTTP: the other components' numbers and readiness. A component
  // added later registers here the same way (registry().AddCollector,
  // AddReadinessCheck, SetDeliveryStatus).
  std::atomic<bool> mllp_listening{true};
  audit::RateLimitedAuditor ops_refusals(store->get(), clock);
  {
    mllp::Server* mllp_server = server->get();
    ops_service.registry().AddCollector([mllp_server](ops::MetricsWriter& w) {
      ops::WriteMllpStats(mllp_server->stats(), w);
    });
    ops_service.registry().AddCollector(
        [&mapper, &intake](ops::MetricsWriter& w) {
          w.Counter("hl7_mapping_total", "Messages mapped to FHIR, by result.",
                    static_cast<double>(mapper.stats().mapped.load()),
                    {{"result", "mapped"}});
          w.Counter("hl7_mapping_total", "",
                    static_cast<double>(mapper.stats().held.load()),
                    {{"result", "held"}});
          w.Counter("hl7_mapping_commit_failures_total",
                    "Mapping results that failed to commit.",
                    static_cast<double>(mapper.stats().commit_failures.load()));
          w.Counter("hl7_store_failures_total",
                    "Messages answered AE because the store could not commit.",
                    static_cast<double>(intake.stats().store_failures.load()));
        });
    ops_service.registry().AddCollector([&delivery, &ehr_latency](ops::MetricsWriter& w) {
      WriteDeliveryMetrics(delivery, w);
      w.Histogram("hl7_delivery_latency_seconds",
                  "Round trip of one delivery attempt to the destination (EHR "
                  "or file sink).",
                  ehr_latency.bounds(), ehr_latency.CumulativeCounts(),
                  ehr_latency.sum());
    });
    ops_service.SetDeliveryStatus([&delivery, &cfg] {
      const pipeline::DeliverySnapshot snap = delivery.snapshot();
      ops::DeliveryStatus d;
      d.configured = true;
      d.destination = cfg->delivery().ehr_url().empty() ? "file sink" : "FHIR REST";
      d.ehr_reachable = !snap.breaker_open &&
                        delivery.stats().last_reached_us.load() >=
                            delivery.stats().last_unreachable_us.load();
      d.queue_depth = snap.queued;
      d.dead_letters = snap.dead_letters;
      return d;
    });
    ops_service.AddReadinessCheck("mllp_listening", [&mllp_listening] {
      return mllp_listening.load()
                 ? absl::OkStatus()
                 : absl::UnavailableError("MLLP is draining or stopped");
    });
    ops::HttpServerOptions http;
    http.bind_address = cfg->ops().bind();
    http.port = static_cast<uint16_t>(cfg->http_port());
    http.max_connections = static_cast<int>(cfg->ops().max_connections());
    http.bearer_token_sha256 = cfg->ops().viewer_token_sha256();
    http.on_unauthorized = [&ops_refusals](const std::string& peer,
                                           const std::string& path) {
      ops_refusals.Record(intake::pb::AUDIT_ACCESS_REFUSED,
                          intake::pb::AUDIT_OUTCOME_MINOR_FAILURE, peer,
                          absl::StrCat("ops HTTP ", path,
                                       ": missing or wrong bearer token"));
    };
    if (!cfg->ops().tls().cert_file().empty()) {
      http.tls = ops::HttpTlsOptions{cfg->ops().tls().cert_file(),
                                     cfg->ops().tls().key_file()};
    }
    absl::Status started = ops_service.Start(http);
    if (!started.ok()) {
      std::cerr << "hl7d: cannot start the ops HTTP server: "
                << started.message() << "\n";
      (*server)->Shutdown(absl::Seconds(cfg->drain_timeout_s()));
      mapper.Stop();
      delivery.Stop();
      (*store)->Stop();
      return kExitStartup;
    }
  }
  // gRPC control plane (appliance/control): thin adapters over the
  // components above; stopped first on SIGTERM, before they are.
  std::unique_ptr<control::ControlServer> control_server;
  {
    control::ControlServerOptions control_options;
    control_options.config = *cfg;
    control::ControlDeps deps;
    deps.store = store->get();
    deps.clock = clock;
    deps.delivery = &delivery;
    deps.mapper = &mapper;
    deps.ops = &ops_service;
    deps.terminology = terminology->get();
    absl::StatusOr<std::unique_ptr<control::ControlServer>> started =
        control::ControlServer::Start(std::move(control_options), deps);
    if (!started.ok()) {
      std::cerr << "hl7d: cannot start the gRPC control plane: "
                << started.status().message() << "\n";
      ops_service.Shutdown();
      (*server)->Shutdown(absl::Seconds(cfg->drain_timeout_s()));
      mapper.Stop();
      delivery.Stop();
      (*store)->Stop();
      return absl::IsFailedPrecondition(started.status()) ||
                     absl::IsInvalidArgument(started.status())
                 ? kExitConfig
                 : kExitStartup;
    }
    control_server = std::move(*started);
  }
  audit::RetentionOptions retention_options;
  retention_options.payload_max_age = absl::Hours(24) * cfg->retention().payload_days();
  retention_options.audit_max_age = absl::Hours(24) * cfg->retention().audit_days();
  audit::RetentionWorker retention(store->get(), clock, retention_options,
                                   absl::Seconds(cfg->retention().interval_s()));
  retention.Start();
  LOG(INFO) << "hl7d ready: MLLP on " << m.bind() << ":" << (*server)->port()
            << (server_options.tls ? " (TLS)" : "") << ", store "
            << store_options.data_dir
            << "; ops HTTP on " << cfg->ops().bind() << ":"
            << ops_service.port() << (cfg->ops().tls().cert_file().empty()
                                          ? ""
                                          : " (TLS)")
            << "; gRPC control plane on " << cfg->control().bind() << ":"
            << control_server->port()
            << (cfg->control().tls().cert_file().empty() ? "" : " (TLS)");
  if (!ready_file.empty()) {
    const std::string tmp = ready_file + ".tmp";
    std::ofstream(tmp) << "mllp_port=" << (*server)->port() << "\n"
                       << "http_port=" << ops_service.port() << "\n"
                       << "grpc_port=" << control_server->port() << "\n";
    rename(tmp.c_str(), ready_file.c_str());
  }

  int sig = 0;
  sigwait(&signals, &sig);
  LOG(INFO) << "hl7d: signal " << sig << ", draining (up to "
            << cfg->drain_timeout_s() << " s)";
  mllp_listening = false;  // /readyz: not ready while draining.
  // No operator calls while draining; its handlers use everything below.
  control_server->Shutdown(absl::Seconds(cfg->drain_timeout_s()));
  (*server)->Shutdown(absl::Seconds(cfg->drain_timeout_s()));
  ops_service.Shutdown();  // Its handlers read the store.
  retention.Stop();
  mapper.Stop();  // Before the store: its last jobs must still commit.
  delivery.Stop();  // Attempts in flight finish and their results commit.
  (*store)->Stop();
  const mllp::ServerStats st = (*server)->stats();
  LOG(INFO) << "hl7d stopped: " << st.frames_received << " frames, "
            << intake.stats().accepted.load() << " accepted, "
            << intake.stats().errors.load() << " AE, "
            << intake.stats().rejected.load() << " AR, "
            << intake.stats().duplicates.load() << " duplicates, "
            << intake.stats().store_failures.load() << " not stored, "
            << mapper.stats().mapped.load() << " mapped, "
            << mapper.stats().held.load() << " held, "
            << delivery.stats().delivered.load() << " delivered, "
            << delivery.stats().dead_lettered.load() << " dead-lettered";
  return 0;
}

}  // namespace
}  // namespace appliance

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  appliance::config::FlagMap flags;
  absl::StatusOr<std::vector<std::string>> positional =
      appliance::config::ParseFlags(argc, argv, 1, &flags);
  if (!positional.ok()) {
    std::cerr << "hl7d: " << positional.status().message() << "\n"
              << appliance::kUsage;
    return appliance::kExitUsage;
  }
  if (flags.count("help") || flags.count("h")) {
    std::cout << appliance::kUsage;
    return 0;
  }
  if (!positional->empty()) {
    if ((*positional)[0] == "inspect" && positional->size() == 1) {
      return appliance::Inspect(flags);
    }
    std::cerr << "hl7d: unexpected argument \"" << (*positional)[0] << "\"\n"
              << appliance::kUsage;
    return appliance::kExitUsage;
  }
  return appliance::Run(std::move(flags));
}
