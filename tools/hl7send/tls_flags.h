// The TLS flags hl7send and hl7load share: --tls, --ca_file, --cert_file,
// --key_file, --server_name.
#ifndef TOOLS_HL7SEND_TLS_FLAGS_H_
#define TOOLS_HL7SEND_TLS_FLAGS_H_

#include <string>

#include "tools/hl7send/flags.h"
#include "tools/hl7send/mllp_client.h"

namespace hl7send {

struct TlsFlags {
  bool tls = false;
  std::string ca_file, cert_file, key_file, server_name;

  // Registers the five flags on `flags`, writing into this object (which must
  // outlive the parse).
  void Register(FlagSet& flags);
  // A usage error for an inconsistent combination, or "" when fine.
  std::string Check() const;
  // Copies the values into client options.
  void Apply(ClientOptions* options) const;
};

}  // namespace hl7send

#endif  // TOOLS_HL7SEND_TLS_FLAGS_H_
