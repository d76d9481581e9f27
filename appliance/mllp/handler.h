// The contract between the MLLP network server (mllp::Server) and whatever
// consumes its frames (the intake). Kept apart from server.h so the intake
// depends on these few types only, never on sockets or Asio.
#ifndef APPLIANCE_MLLP_HANDLER_H_
#define APPLIANCE_MLLP_HANDLER_H_

#include <cstdint>
#include <functional>
#include <string>

namespace appliance::mllp {

// Who sent a frame. Copied into every callback; cheap enough at MLLP rates.
struct PeerInfo {
  // Unique per server instance, assigned in accept order from 1.
  uint64_t connection_id = 0;
  // Peer IP address as text ("127.0.0.1", "::1").
  std::string address;
  uint16_t port = 0;
  bool tls = false;
  // RFC 2253 subject of the verified client certificate ("CN=lab,O=Hosp");
  // empty without TLS or when the client presented no certificate.
  std::string tls_subject;
};

// What to send back for one frame.
struct Response {
  // Unframed reply (normally an HL7 ACK); the server frames it. Empty: send
  // nothing for this frame (the next frames' responses still follow in order).
  std::string payload;
  // Close the connection once this response has been written. Frames received
  // after this one on the same connection get no response.
  bool close_after = false;
};

// Delivers the response to one frame. Call it exactly once, from any thread,
// at any time: the server writes responses in the order their frames arrived,
// whatever order the Responders are called in. Calling it after the connection
// (or the server) has gone away is a harmless no-op. Copies share one slot: a
// second call is a programming error (LOG(DFATAL), then ignored). If every copy
// is destroyed without a call, the server treats it as
// Response{"", /*close_after=*/true} and logs an error, so a forgotten frame
// cannot leave its sender waiting forever.
using Responder = std::function<void(Response)>;

// Implemented by the intake. Called on a server I/O thread, so it must not
// block: hand the work off and answer later through the Responder. Frames of
// one connection are delivered one at a time, in arrival order; frames of
// different connections may be delivered concurrently.
class FrameHandler {
 public:
  virtual ~FrameHandler() = default;

  // A complete frame. `payload` excludes the MLLP framing bytes.
  virtual void OnFrame(const PeerInfo& peer, std::string payload,
                       Responder respond) = 0;

  // A frame exceeded ServerOptions::max_frame_size; `prefix` holds its first
  // bytes (up to 4 KiB, enough for MSH to build an AR). The server closes the
  // connection after writing the response (close_after is implied).
  virtual void OnOversized(const PeerInfo& peer, std::string prefix,
                           Responder respond) = 0;

  // A TLS handshake failed or timed out (the connection is closed). `reason`
  // is the TLS library's short text, without peer data. Default: nothing.
  virtual void OnTlsRefused(const PeerInfo& peer, const std::string& reason) {
    (void)peer;
    (void)reason;
  }
};

}  // namespace appliance::mllp

#endif  // APPLIANCE_MLLP_HANDLER_H_
