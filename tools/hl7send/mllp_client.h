// A blocking MLLP client for one connection (plain TCP or TLS) with a deadline
// on every call, as hl7send and hl7load use it.
//
// Frames from the peer are read, decoded and time-stamped whenever the caller
// is inside any call (Send, WaitForFrame), so a frame's arrival time is exact
// even while the caller was busy sending something else; frames queue until
// PopFrame().
//
// After an error or a deadline on Connect() or Send() the connection has been
// closed; call Connect() again to go on. A deadline on WaitForFrame() leaves
// the connection open (the answer may still come). Not thread-safe: one client
// per thread.
#ifndef TOOLS_HL7SEND_MLLP_CLIENT_H_
#define TOOLS_HL7SEND_MLLP_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hl7send {

struct ClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 2575;
  bool tls = false;
  // TLS only. PEM files; an empty ca_file means the system's trusted CAs.
  std::string ca_file;
  std::string cert_file;  // Client certificate (chain); optional.
  std::string key_file;   // Its private key; empty: read from cert_file.
  // Name sent as SNI and checked against the server certificate (DNS name or
  // IP address); empty: `host`.
  std::string server_name;
};

class MllpClient {
 public:
  using Clock = std::chrono::steady_clock;

  struct Frame {
    std::string payload;
    Clock::time_point received;  // When its last byte was read.
  };

  virtual ~MllpClient() = default;

  // Opens the connection (and does the TLS handshake), closing any previous
  // one and dropping its unread frames. DEADLINE_EXCEEDED, or UNAVAILABLE with
  // a readable reason ("connect to 127.0.0.1:2575: Connection refused").
  virtual absl::Status Connect(Clock::time_point deadline) = 0;

  // Writes `payload` as one frame. FAILED_PRECONDITION when not connected;
  // DEADLINE_EXCEEDED or UNAVAILABLE (the connection is then closed).
  virtual absl::Status Send(std::string_view payload,
                            Clock::time_point deadline) = 0;

  // Returns OK as soon as a frame is queued (at once if one already is);
  // DEADLINE_EXCEEDED when none came by `deadline` (still connected);
  // UNAVAILABLE when the peer closed or the connection failed, and
  // RESOURCE_EXHAUSTED for an oversized frame (the connection is then broken:
  // Close() or Connect()). Frames that arrived before a failure are still
  // returned first.
  virtual absl::Status WaitForFrame(Clock::time_point deadline) = 0;

  // Moves the oldest queued frame to `*out`; false when none is queued.
  virtual bool PopFrame(Frame* out) = 0;

  // Closes the connection, if any. Queued frames stay until Connect().
  virtual void Close() = 0;

  // True between a successful Connect() and a failure or Close().
  virtual bool connected() const = 0;

  // "host:port", for messages.
  virtual const std::string& peer() const = 0;
};

// Checks the options and, for TLS, loads the CA, certificate and key files:
// NOT_FOUND / PERMISSION_DENIED / INVALID_ARGUMENT naming the file. Does not
// connect.
absl::StatusOr<std::unique_ptr<MllpClient>> NewMllpClient(
    const ClientOptions& options);

}  // namespace hl7send

#endif  // TOOLS_HL7SEND_MLLP_CLIENT_H_
