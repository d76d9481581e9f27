#include "tools/hl7send/tls_flags.h"

namespace hl7send {

void TlsFlags::Register(FlagSet& flags) {
  flags.Bool("tls", &tls, "use TLS (verifies the server certificate)");
  flags.String("ca_file", &ca_file, "PEM",
               "CA certificates to trust (default: the system's)");
  flags.String("cert_file", &cert_file, "PEM",
               "client certificate chain (optional)");
  flags.String("key_file", &key_file, "PEM",
               "client private key (default: from --cert_file)");
  flags.String("server_name", &server_name, "NAME",
               "TLS name to send (SNI) and verify (default: --host)");
}

std::string TlsFlags::Check() const {
  if (!tls && (!ca_file.empty() || !cert_file.empty() || !key_file.empty() ||
               !server_name.empty())) {
    return "--ca_file, --cert_file, --key_file and --server_name need --tls";
  }
  if (!key_file.empty() && cert_file.empty()) {
    return "--key_file needs --cert_file";
  }
  return "";
}

void TlsFlags::Apply(ClientOptions* options) const {
  options->tls = tls;
  options->ca_file = ca_file;
  options->cert_file = cert_file;
  options->key_file = key_file;
  options->server_name = server_name;
}

}  // namespace hl7send
