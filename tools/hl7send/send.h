// `hl7send`: sends HL7 messages over one MLLP connection, one at a time, and
// reports each acknowledgment.
#ifndef TOOLS_HL7SEND_SEND_H_
#define TOOLS_HL7SEND_SEND_H_

#include <chrono>
#include <cstdint>
#include <ostream>
#include <vector>

#include "tools/hl7send/input.h"
#include "tools/hl7send/mllp_client.h"

namespace hl7send {

// Exit statuses of hl7send (a fixed interface).
inline constexpr int kExitAllAccepted = 0;
inline constexpr int kExitNotAccepted = 1;  // AE/AR/CE/CR, timeout, bad ACK
                                            // or connection error.
inline constexpr int kExitUnreadable = 2;   // Input (or TLS file) unreadable.
inline constexpr int kExitUsage = 64;       // EX_USAGE.

struct SendOptions {
  std::chrono::milliseconds timeout{10000};  // Connect, send and ACK wait.
  bool quiet = false;                        // Only the summary line.
};

struct SendCounts {
  int64_t sent = 0;
  int64_t accepted = 0;  // AA, CA.
  int64_t errors = 0;    // AE, CE.
  int64_t rejected = 0;  // AR, CR.
  int64_t timeouts = 0;
  int64_t bad_acks = 0;  // Unreadable ACK, unknown code, or MSA-2 not the
                         // control id just sent.
  bool connection_failed = false;
};

// Sends `messages` in order on `client`, connecting (again) when needed: after
// an ACK timeout the connection is closed and the next message goes on a new
// one, so a late ACK is never taken for the next message's. Prints per
// message "<file>#<n> <ACK code> <MSA-2> <round trip ms>" (TIMEOUT and "-" when
// no ACK came) to `out` unless quiet, then the summary line "sent N, AA N, AE
// N, AR N, timeouts N". A connection error stops the run with a line on `err`.
SendCounts SendAll(const std::vector<InputMessage>& messages,
                   const SendOptions& options, MllpClient& client,
                   std::ostream& out, std::ostream& err);

// The exit status for `counts`.
int ExitStatus(const SendCounts& counts);

}  // namespace hl7send

#endif  // TOOLS_HL7SEND_SEND_H_
