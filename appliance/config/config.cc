#include "appliance/config/config.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/base/loopback.h"
#include "appliance/base/status_macros.h"

namespace appliance::config {
namespace {

class ErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) {
      first_ = absl::StrCat("line ", line + 1, " column ", column + 1, ": ",
                            message);
    }
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

absl::StatusOr<uint64_t> ParseUint(const std::string& flag,
                                   const std::string& value, uint64_t max) {
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = strtoull(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || errno != 0 || value[0] == '-' ||
      v > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, "=", value, ": expected a whole number from 0 to ", max));
  }
  return v;
}

absl::StatusOr<bool> ParseBool(const std::string& flag,
                               const std::string& value) {
  if (value == "true" || value == "1" || value.empty()) return true;
  if (value == "false" || value == "0") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, "=", value, ": expected true or false"));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseFlags(int argc, char** argv,
                                                    int first, FlagMap* flags) {
  std::vector<std::string> positional;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      positional.push_back(arg);
      continue;
    }
    arg = arg.substr(2);
    if (arg.empty()) {
      return absl::InvalidArgumentError("empty flag \"--\"");
    }
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      (*flags)[arg.substr(0, eq)] = arg.substr(eq + 1);
    } else {
      (*flags)[arg] = "";  // A boolean flag, or a value-less one (checked later).
    }
  }
  return positional;
}

ApplianceConfig DefaultConfig() {
  ApplianceConfig c;
  auto* mllp = c.mutable_mllp();
  mllp->set_bind("127.0.0.1");
  mllp->set_port(2575);
  mllp->set_io_threads(2);
  mllp->set_max_frame_bytes(1 << 20);
  mllp->set_read_idle_timeout_s(300);
  mllp->set_min_bytes_per_second(64);
  mllp->set_max_connections(1024);
  mllp->set_max_connections_per_address(64);
  mllp->set_accept_lf(true);
  mllp->set_slow_sender_window_s(10);
  mllp->set_max_unanswered_frames(64);
  mllp->set_close_linger_s(2);
  mllp->set_tls_handshake_timeout_s(10);
  auto* store = c.mutable_store();
  store->set_data_dir("./var/hl7d");
  store->set_initial_map_mib(64);
  store->set_max_map_mib(16384);
  store->set_max_batch(512);
  c.mutable_ack()->set_application("HL7APPLIANCE");
  c.set_grpc_port(50051);
  c.set_http_port(8080);
  c.set_drain_timeout_s(10);
  c.set_site_time_zone("UTC");
  auto* delivery = c.mutable_delivery();
  delivery->set_connect_timeout_ms(5000);
  delivery->set_request_timeout_ms(30000);
  delivery->set_concurrency(4);
  delivery->set_initial_backoff_ms(1000);
  delivery->set_backoff_multiplier(2.0);
  delivery->set_max_backoff_ms(300000);
  delivery->set_max_attempts(100);
  delivery->set_max_age_s(3 * 24 * 3600);
  delivery->set_breaker_failures(5);
  delivery->set_breaker_cooldown_ms(5000);
  delivery->set_file_sink_rotate_bytes(64ull << 20);
  c.mutable_retention()->set_interval_s(3600);
  auto* ops = c.mutable_ops();
  ops->set_bind("127.0.0.1");
  ops->set_manual_entry_minutes_per_message(3);
  ops->set_min_free_disk_mib(256);
  ops->set_max_connections(32);
  ops->set_heartbeat_interval_s(60);
  auto* mapping = c.mutable_mapping();
  mapping->set_unmapped_code_policy("flag");
  mapping->set_default_report_status("unknown");
  mapping->set_default_observation_status("unknown");
  c.mutable_control()->set_bind("127.0.0.1");
  return c;
}

absl::StatusOr<ApplianceConfig> LoadConfig(const FlagMap& flags) {
  ApplianceConfig c = DefaultConfig();
  auto it = flags.find("config");
  if (it != flags.end() && !it->second.empty()) {
    std::ifstream in(it->second);
    if (!in) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot read config file ", it->second, ": ", strerror(errno)));
    }
    std::stringstream ss;
    ss << in.rdbuf();
    ApplianceConfig file;
    google::protobuf::TextFormat::Parser parser;
    ErrorCollector errors;
    parser.RecordErrorsTo(&errors);
    if (!parser.ParseFromString(ss.str(), &file)) {
      return absl::InvalidArgumentError(
          absl::StrCat("config file ", it->second, ": ", errors.first()));
    }
    c.MergeFrom(file);  // Set fields of the file win over the defaults.
  }

  using Setter = std::function<absl::Status(const std::string&, const std::string&)>;
  auto uint_flag = [&](uint64_t max, std::function<void(uint64_t)> set) {
    return Setter([max, set](const std::string& f, const std::string& v) {
      ASSIGN_OR_RETURN(uint64_t n, ParseUint(f, v, max));
      set(n);
      return absl::OkStatus();
    });
  };
  auto str_flag = [&](std::function<void(const std::string&)> set) {
    return Setter([set](const std::string& f, const std::string& v) {
      if (v.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("--", f, " needs a value"));
      }
      set(v);
      return absl::OkStatus();
    });
  };
  auto* mllp = c.mutable_mllp();
  auto* store = c.mutable_store();
  auto* tls = mllp->mutable_tls();
  auto* delivery = c.mutable_delivery();
  const std::map<std::string, Setter> setters = {
      {"config", Setter([](const std::string&, const std::string&) {
         return absl::OkStatus();
       })},
      {"data_dir", str_flag([&](const std::string& v) { store->set_data_dir(v); })},
      {"key_file", str_flag([&](const std::string& v) { store->set_key_file(v); })},
      {"bind", str_flag([&](const std::string& v) { mllp->set_bind(v); })},
      {"mllp_port", uint_flag(65535, [&](uint64_t v) { mllp->set_port(v); })},
      {"grpc_port", uint_flag(65535, [&](uint64_t v) { c.set_grpc_port(v); })},
      {"http_port", uint_flag(65535, [&](uint64_t v) { c.set_http_port(v); })},
      {"io_threads", uint_flag(64, [&](uint64_t v) { mllp->set_io_threads(v); })},
      {"max_frame_bytes",
       uint_flag(1ull << 30, [&](uint64_t v) { mllp->set_max_frame_bytes(v); })},
      {"drain_timeout_s",
       uint_flag(3600, [&](uint64_t v) { c.set_drain_timeout_s(v); })},
      {"site_time_zone",
       str_flag([&](const std::string& v) { c.set_site_time_zone(v); })},
      {"max_batch", uint_flag(100000, [&](uint64_t v) { store->set_max_batch(v); })},
      {"max_map_mib",
       uint_flag(1ull << 24, [&](uint64_t v) { store->set_max_map_mib(v); })},
      {"tls_cert_file", str_flag([&](const std::string& v) { tls->set_cert_file(v); })},
      {"tls_key_file", str_flag([&](const std::string& v) { tls->set_key_file(v); })},
      {"tls_ca_file", str_flag([&](const std::string& v) { tls->set_ca_file(v); })},
      {"payload_retention_days",
       uint_flag(36500, [&](uint64_t v) { c.mutable_retention()->set_payload_days(v); })},
      {"audit_retention_days",
       uint_flag(36500, [&](uint64_t v) { c.mutable_retention()->set_audit_days(v); })},
      {"ehr_url", str_flag([&](const std::string& v) { delivery->set_ehr_url(v); })},
      {"ehr_ca_file",
       str_flag([&](const std::string& v) { delivery->set_ca_file(v); })},
      {"ehr_client_cert_file",
       str_flag([&](const std::string& v) { delivery->set_client_cert_file(v); })},
      {"ehr_client_key_file",
       str_flag([&](const std::string& v) { delivery->set_client_key_file(v); })},
      {"ehr_bearer_token_file",
       str_flag([&](const std::string& v) { delivery->set_bearer_token_file(v); })},
      {"ehr_basic_auth_file",
       str_flag([&](const std::string& v) { delivery->set_basic_auth_file(v); })},
      {"delivery_concurrency",
       uint_flag(256, [&](uint64_t v) { delivery->set_concurrency(v); })},
      {"file_sink_dir",
       str_flag([&](const std::string& v) { delivery->set_file_sink_dir(v); })},
      // Ops HTTP server (http_port above).
      {"http_bind",
       str_flag([&](const std::string& v) { c.mutable_ops()->set_bind(v); })},
      {"http_tls_cert_file", str_flag([&](const std::string& v) {
         c.mutable_ops()->mutable_tls()->set_cert_file(v);
       })},
      {"http_tls_key_file", str_flag([&](const std::string& v) {
         c.mutable_ops()->mutable_tls()->set_key_file(v);
       })},
      {"http_viewer_token_sha256", str_flag([&](const std::string& v) {
         c.mutable_ops()->set_viewer_token_sha256(v);
       })},
      {"manual_entry_minutes", Setter([&](const std::string& f,
                                          const std::string& v) {
         char* end = nullptr;
         const double d = strtod(v.c_str(), &end);
         if (v.empty() || *end != '\0' || !(d >= 0 && d <= 1440)) {
           return absl::InvalidArgumentError(absl::StrCat(
               "--", f, "=", v, ": expected minutes from 0 to 1440"));
         }
         c.mutable_ops()->set_manual_entry_minutes_per_message(d);
         return absl::OkStatus();
       })},
      // gRPC control plane (grpc_port above; principals only in the file,
      // plus one admin token hash from the command line).
      {"grpc_bind",
       str_flag([&](const std::string& v) { c.mutable_control()->set_bind(v); })},
      {"grpc_tls_cert_file", str_flag([&](const std::string& v) {
         c.mutable_control()->mutable_tls()->set_cert_file(v);
       })},
      {"grpc_tls_key_file", str_flag([&](const std::string& v) {
         c.mutable_control()->mutable_tls()->set_key_file(v);
       })},
      {"grpc_tls_ca_file", str_flag([&](const std::string& v) {
         c.mutable_control()->mutable_tls()->set_ca_file(v);
       })},
      {"grpc_require_client_cert",
       Setter([&](const std::string& f, const std::string& v) {
         ASSIGN_OR_RETURN(bool b, ParseBool(f, v));
         c.mutable_control()->mutable_tls()->set_require_client_cert(b);
         return absl::OkStatus();
       })},
      {"grpc_admin_token_sha256", str_flag([&](const std::string& v) {
         auto* p = c.mutable_control()->add_principals();
         p->set_name("admin");
         p->set_role(::hl7appliance::config::v1::ROLE_ADMIN);
         p->set_token_sha256(v);
       })},
      // Mapping stage.
      {"terminology_csv", str_flag([&](const std::string& v) {
         c.mutable_mapping()->set_terminology_csv(v);
       })},
      {"unmapped_code_policy", str_flag([&](const std::string& v) {
         c.mutable_mapping()->set_unmapped_code_policy(v);
       })},
      {"tls_require_client_cert",
       Setter([&](const std::string& f, const std::string& v) {
         ASSIGN_OR_RETURN(bool b, ParseBool(f, v));
         tls->set_require_client_cert(b);
         return absl::OkStatus();
       })},
  };
  for (const auto& [name, value] : flags) {
    auto s = setters.find(name);
    if (s == setters.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    RETURN_IF_ERROR(s->second(name, value));
  }
  if (store->key_file().empty()) {
    std::string dir = store->data_dir();
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    store->set_key_file(dir + ".key");
  }
  if (delivery->ehr_url().empty() && delivery->file_sink_dir().empty()) {
    std::string dir = store->data_dir();
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    delivery->set_file_sink_dir(dir + ".out");
  }
  if (store->initial_map_mib() > store->max_map_mib()) {
    store->set_initial_map_mib(store->max_map_mib());
  }
  RETURN_IF_ERROR(Validate(c));
  return c;
}

absl::Status Validate(const ApplianceConfig& c) {
  if (c.retention().interval_s() == 0) {
    return absl::InvalidArgumentError("retention.interval_s must be >= 1");
  }
  const auto& mllp = c.mllp();
  if (mllp.port() > 65535 || c.grpc_port() > 65535 || c.http_port() > 65535) {
    return absl::InvalidArgumentError("ports must be from 0 to 65535");
  }
  if (c.store().data_dir().empty()) {
    return absl::InvalidArgumentError("store.data_dir must not be empty");
  }
  if (mllp.max_frame_bytes() < 1024) {
    return absl::InvalidArgumentError("mllp.max_frame_bytes must be >= 1024");
  }
  if (mllp.slow_sender_window_s() == 0 || mllp.max_unanswered_frames() == 0 ||
      mllp.tls_handshake_timeout_s() == 0) {
    return absl::InvalidArgumentError(
        "mllp.slow_sender_window_s, max_unanswered_frames and "
        "tls_handshake_timeout_s must be >= 1");
  }
  if (mllp.io_threads() == 0) {
    return absl::InvalidArgumentError("mllp.io_threads must be >= 1");
  }
  if (c.store().max_batch() == 0) {
    return absl::InvalidArgumentError("store.max_batch must be >= 1");
  }
  const auto& tls = mllp.tls();
  const bool has_tls = !tls.cert_file().empty() || !tls.key_file().empty();
  if (has_tls && (tls.cert_file().empty() || tls.key_file().empty())) {
    return absl::InvalidArgumentError(
        "MLLP TLS needs both a certificate (--tls_cert_file) and a key "
        "(--tls_key_file)");
  }
  if (tls.require_client_cert() && tls.ca_file().empty()) {
    return absl::InvalidArgumentError(
        "--tls_require_client_cert needs a CA file (--tls_ca_file) to verify "
        "client certificates");
  }
  if (!IsLoopbackAddress(mllp.bind()) && !has_tls) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to listen for MLLP on ", mllp.bind(),
        " without TLS: PHI must not cross the network in clear. Configure "
        "--tls_cert_file and --tls_key_file, or bind to 127.0.0.1"));
  }
  RETURN_IF_ERROR(ValidateOps(c.ops()));
  RETURN_IF_ERROR(ValidateMapping(c.mapping()));
  RETURN_IF_ERROR(ValidateControl(c.control()));
  return ValidateDelivery(c.delivery());
}

absl::Status ValidateControl(const ControlConfig& control) {
  const auto& tls = control.tls();
  const bool has_tls = !tls.cert_file().empty() || !tls.key_file().empty();
  if (has_tls && (tls.cert_file().empty() || tls.key_file().empty())) {
    return absl::InvalidArgumentError(
        "control plane TLS needs both a certificate (--grpc_tls_cert_file) "
        "and a key (--grpc_tls_key_file)");
  }
  if (!tls.ca_file().empty() && !has_tls) {
    return absl::InvalidArgumentError(
        "control.tls.ca_file (--grpc_tls_ca_file) needs a server certificate "
        "and key (--grpc_tls_cert_file, --grpc_tls_key_file)");
  }
  if (tls.require_client_cert() && tls.ca_file().empty()) {
    return absl::InvalidArgumentError(
        "--grpc_require_client_cert needs a CA file (--grpc_tls_ca_file) to "
        "verify client certificates");
  }
  std::set<std::string> names, tokens, subjects;
  for (int i = 0; i < control.principals_size(); ++i) {
    const auto& p = control.principals(i);
    const std::string where = absl::StrCat("control.principals[", i, "]");
    if (p.name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".name: required"));
    }
    if (!names.insert(p.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".name: \"", p.name(), "\" is used twice"));
    }
    if (p.role() == ::hl7appliance::config::v1::ROLE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".role: required (ROLE_VIEWER, ROLE_AUDITOR, ROLE_OPERATOR "
                 "or ROLE_ADMIN)"));
    }
    if (p.token_sha256().empty() == p.cert_subject().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": give exactly one of token_sha256 and cert_subject"));
    }
    if (!p.token_sha256().empty()) {
      const std::string& h = p.token_sha256();
      if (h.size() != 64 ||
          h.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".token_sha256: must be 64 lower-case hex digits (the "
                   "SHA-256 of the token, not the token)"));
      }
      if (!tokens.insert(h).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".token_sha256: the same token twice"));
      }
    } else {
      if (tls.ca_file().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".cert_subject: client certificates need "
                   "control.tls.ca_file (--grpc_tls_ca_file)"));
      }
      if (!subjects.insert(p.cert_subject()).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".cert_subject: the same subject twice"));
      }
    }
  }
  if (!IsLoopbackAddress(control.bind()) && !has_tls) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to serve the gRPC control plane on ", control.bind(),
        " without TLS: plain-text gRPC is allowed on loopback only. Configure "
        "--grpc_tls_cert_file and --grpc_tls_key_file (and client "
        "certificates or token principals), or bind to 127.0.0.1"));
  }
  return absl::OkStatus();
}

absl::Status ValidateMapping(const MappingConfig& mapping) {
  const std::string& policy = mapping.unmapped_code_policy();
  if (policy != "flag" && policy != "hold") {
    return absl::InvalidArgumentError(absl::StrCat(
        "mapping.unmapped_code_policy (--unmapped_code_policy) is \"", policy,
        "\": expected \"flag\" (keep and tag unmapped codes) or \"hold\" "
        "(strict: hold the message)"));
  }
  // FHIR R4 DiagnosticReport.status and Observation.status codes.
  static const std::set<std::string> kReport = {
      "registered", "partial",   "preliminary", "final",           "amended",
      "corrected",  "appended",  "cancelled",   "entered-in-error", "unknown"};
  static const std::set<std::string> kObservation = {
      "registered", "preliminary", "final",           "amended",
      "corrected",  "cancelled",   "entered-in-error", "unknown"};
  if (kReport.count(mapping.default_report_status()) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mapping.default_report_status \"", mapping.default_report_status(),
        "\" is not a FHIR DiagnosticReport status (e.g. unknown, "
        "preliminary, final)"));
  }
  if (kObservation.count(mapping.default_observation_status()) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mapping.default_observation_status \"",
        mapping.default_observation_status(),
        "\" is not a FHIR Observation status (e.g. unknown, preliminary, "
        "final)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateOps(const OpsConfig& ops) {
  const auto& tls = ops.tls();
  const bool has_tls = !tls.cert_file().empty() || !tls.key_file().empty();
  if (has_tls && (tls.cert_file().empty() || tls.key_file().empty())) {
    return absl::InvalidArgumentError(
        "ops HTTPS needs both a certificate (--http_tls_cert_file) and a key "
        "(--http_tls_key_file)");
  }
  const std::string& hash = ops.viewer_token_sha256();
  if (!hash.empty() &&
      (hash.size() != 64 ||
       hash.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    return absl::InvalidArgumentError(
        "ops.viewer_token_sha256 must be 64 lower-case hex digits (the "
        "SHA-256 of the token, not the token)");
  }
  if (ops.manual_entry_minutes_per_message() < 0 ||
      ops.manual_entry_minutes_per_message() > 1440) {
    return absl::InvalidArgumentError(
        "ops.manual_entry_minutes_per_message must be from 0 to 1440");
  }
  if (ops.max_connections() == 0) {
    return absl::InvalidArgumentError("ops.max_connections must be >= 1");
  }
  if (ops.heartbeat_interval_s() == 0) {
    return absl::InvalidArgumentError("ops.heartbeat_interval_s must be >= 1");
  }
  if (!IsLoopbackAddress(ops.bind()) && (!has_tls || hash.empty())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to serve the ops HTTP endpoints on ", ops.bind(),
        " without TLS and a viewer token. Configure --http_tls_cert_file, "
        "--http_tls_key_file and --http_viewer_token_sha256, or bind to "
        "127.0.0.1"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDelivery(const DeliveryConfig& d) {
  if (d.concurrency() == 0) {
    return absl::InvalidArgumentError("delivery.concurrency must be >= 1");
  }
  if (d.initial_backoff_ms() == 0 || d.max_backoff_ms() < d.initial_backoff_ms()) {
    return absl::InvalidArgumentError(
        "delivery: initial_backoff_ms must be >= 1 and <= max_backoff_ms");
  }
  if (!(d.backoff_multiplier() >= 1.0 && d.backoff_multiplier() <= 100.0)) {
    return absl::InvalidArgumentError(
        "delivery.backoff_multiplier must be from 1 to 100");
  }
  if (d.breaker_failures() == 0) {
    return absl::InvalidArgumentError("delivery.breaker_failures must be >= 1");
  }
  if (d.client_cert_file().empty() != d.client_key_file().empty()) {
    return absl::InvalidArgumentError(
        "EHR mutual TLS needs both --ehr_client_cert_file and "
        "--ehr_client_key_file");
  }
  if (!d.bearer_token_file().empty() && !d.basic_auth_file().empty()) {
    return absl::InvalidArgumentError(
        "give either --ehr_bearer_token_file or --ehr_basic_auth_file, not both");
  }
  if (d.ehr_url().empty()) return absl::OkStatus();  // The file sink.
  const std::string& url = d.ehr_url();
  std::string rest;
  if (absl::StartsWith(url, "https://")) {
    return absl::OkStatus();
  } else if (absl::StartsWith(url, "http://")) {
    rest = url.substr(7);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--ehr_url=", url, ": expected an http:// or https:// FHIR base URL"));
  }
  // Host of http://host[:port]/path, IPv6 literals in brackets.
  std::string host = rest.substr(0, rest.find_first_of("/?#"));
  if (!host.empty() && host[0] == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else {
    host = host.substr(0, host.rfind(':'));
  }
  if (!IsLoopbackAddress(host)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to deliver to ", url,
        " over plain HTTP: PHI must not cross the network in clear. Use an "
        "https:// URL (or an EHR on 127.0.0.1)"));
  }
  return absl::OkStatus();
}

}  // namespace appliance::config
