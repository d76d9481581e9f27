// Verification of control-plane client certificates in the application,
// not in the TLS handshake.
//
// The gRPC server asks for a client certificate but lets the handshake
// complete without checking its chain (GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_
// BUT_DONT_VERIFY; the handshake still proves the client holds the
// certificate's private key). Every call then verifies the presented chain
// against the configured CA here, so a certificate from another CA, an expired
// one or a missing one (when required) is refused with UNAUTHENTICATED by the
// call guard — and audited like every refusal — instead of vanishing in a
// failed handshake nobody records.
#ifndef APPLIANCE_CONTROL_CLIENT_CERT_H_
#define APPLIANCE_CONTROL_CLIENT_CERT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace appliance::control {

class ClientCertVerifier {
 public:
  // `ca_pem`: the PEM CA bundle. INVALID_ARGUMENT when it holds no
  // certificate.
  static absl::StatusOr<std::unique_ptr<ClientCertVerifier>> Create(
      const std::string& ca_pem);
  ~ClientCertVerifier();
  ClientCertVerifier(const ClientCertVerifier&) = delete;
  ClientCertVerifier& operator=(const ClientCertVerifier&) = delete;

  // OK when `cert_pem` (the leaf) chains to the CA, with `chain_pem` (the
  // leaf and any intermediates, as the client sent them) as untrusted
  // helpers, and is currently valid for TLS client authentication.
  // UNAUTHENTICATED naming the reason otherwise.
  absl::Status Verify(const std::string& cert_pem,
                      const std::string& chain_pem) const;

 private:
  explicit ClientCertVerifier(void* store) : store_(store) {}
  void* store_;  // X509_STORE*.
};

}  // namespace appliance::control

#endif  // APPLIANCE_CONTROL_CLIENT_CERT_H_
