// Reading the acknowledgment a receiver sends back for one message.
#ifndef TOOLS_HL7SEND_ACK_H_
#define TOOLS_HL7SEND_ACK_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace hl7send {

// What a sender needs from an ACK.
struct AckInfo {
  std::string code;        // MSA-1: AA, AE, AR, CA, CE or CR.
  std::string control_id;  // MSA-2: MSH-10 of the acknowledged message.
};

// Parses an ACK payload. INVALID_ARGUMENT when it is not an HL7 message or has
// no MSA-1.
absl::StatusOr<AckInfo> ReadAck(std::string_view payload);

// How a sender should take an acknowledgment code. The commit-level codes of
// enhanced mode count as their application-level twins.
enum class AckClass {
  kAccept,   // AA, CA.
  kError,    // AE, CE.
  kReject,   // AR, CR.
  kUnknown,  // Anything else.
};
AckClass ClassifyAck(std::string_view code);

// MSH-10 of a message payload; empty when it has no readable MSH.
std::string ControlIdOf(std::string_view payload);

}  // namespace hl7send

#endif  // TOOLS_HL7SEND_ACK_H_
