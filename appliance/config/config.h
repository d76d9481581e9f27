// Loading and validating the daemon's configuration: embedded defaults, then
// the text-format file given with --config, then command-line flags.
#ifndef APPLIANCE_CONFIG_CONFIG_H_
#define APPLIANCE_CONFIG_CONFIG_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "api/config/v1/config.pb.h"

namespace appliance::config {

using ::hl7appliance::config::v1::ApplianceConfig;
using ::hl7appliance::config::v1::ControlConfig;
using ::hl7appliance::config::v1::DeliveryConfig;
using ::hl7appliance::config::v1::MappingConfig;
using ::hl7appliance::config::v1::OpsConfig;

// Flags hl7d understands (name without "--" -> value), a fixed interface:
//   config, data_dir, mllp_port, grpc_port, http_port, bind, key_file,
//   tls_cert_file, tls_key_file, tls_ca_file, tls_require_client_cert,
//   max_frame_bytes, drain_timeout_s, io_threads, max_batch, max_map_mib,
//   ehr_url, ehr_ca_file, ehr_client_cert_file, ehr_client_key_file,
//   ehr_bearer_token_file, ehr_basic_auth_file, delivery_concurrency,
//   file_sink_dir, http_bind, http_tls_cert_file, http_tls_key_file,
//   http_viewer_token_sha256, manual_entry_minutes, grpc_bind,
//   grpc_tls_cert_file, grpc_tls_key_file, grpc_tls_ca_file,
//   grpc_require_client_cert, grpc_admin_token_sha256, terminology_csv,
//   unmapped_code_policy, payload_retention_days, audit_retention_days.
using FlagMap = std::map<std::string, std::string>;

// Parses "--name=value" / "--name value" / "--bool_flag" arguments (from
// argv[first] on) into `flags`; positional arguments are returned in order.
// INVALID_ARGUMENT for a malformed argument.
absl::StatusOr<std::vector<std::string>> ParseFlags(int argc, char** argv,
                                                    int first, FlagMap* flags);

// The embedded defaults (loopback only, ./var/hl7d, ports 2575/50051/8080).
ApplianceConfig DefaultConfig();

// Defaults, overlaid with the file named by flags["config"] (if any), then
// with the other flags. INVALID_ARGUMENT naming the file line or the flag on
// any error, including unknown flags; then Validate().
absl::StatusOr<ApplianceConfig> LoadConfig(const FlagMap& flags);

// Checks a complete configuration: ports in range, TLS files given together,
// and "secure by default": a non-loopback MLLP bind requires TLS.
absl::Status Validate(const ApplianceConfig& config);

// The delivery part of Validate(): limits in range, mTLS files together, one
// kind of credentials, and an EHR reached over plain HTTP only on loopback
// (FAILED_PRECONDITION otherwise).
absl::Status ValidateDelivery(const DeliveryConfig& delivery);

// The ops part of Validate(): TLS files together, a well-formed token hash,
// limits in range, and a non-loopback ops bind only with TLS and a viewer
// token (FAILED_PRECONDITION otherwise).
absl::Status ValidateOps(const OpsConfig& ops);

// The control part of Validate(): TLS files together, principals well formed
// (name, role, exactly one of a 64-hex token hash and a certificate subject,
// the latter only with a CA file), and plain-text gRPC only on loopback
// (FAILED_PRECONDITION otherwise).
absl::Status ValidateControl(const ControlConfig& control);

// The mapping part of Validate(): unmapped_code_policy "flag" or "hold",
// default statuses that are FHIR status codes (INVALID_ARGUMENT otherwise).
// The terminology CSV is read and checked by hl7d at start.
absl::Status ValidateMapping(const MappingConfig& mapping);

}  // namespace appliance::config

#endif  // APPLIANCE_CONFIG_CONFIG_H_
