// The MLLP network server: accepts TCP (optionally TLS) connections, decodes
// MLLP frames with FrameDecoder, hands each frame to a FrameHandler and writes
// the handler's responses back, framed, in frame arrival order.
//
// One asio::io_context run by `io_threads` threads serves every connection;
// each connection's work is serialised on its own strand. Per connection the
// server bounds the frames awaiting a response (it stops reading at
// max_unanswered_frames), the frame size, the time without input and the byte
// rate inside a frame; in total it bounds the number of connections, overall
// and per source address. Each limit has a counter in ServerStats.
//
// Sockets and Asio stay inside server.cc: this header and handler.h are all
// the rest of the appliance sees.
#ifndef APPLIANCE_MLLP_SERVER_H_
#define APPLIANCE_MLLP_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "appliance/base/loopback.h"
#include "appliance/mllp/handler.h"

namespace appliance::mllp {

struct TlsOptions {
  // PEM server certificate (chain) and private key. Required.
  std::string cert_file;
  std::string key_file;
  // PEM CA certificates that client certificates must chain to. Required when
  // require_client_cert; when set without it, a client certificate is asked
  // for, verified if presented, but optional.
  std::string ca_file;
  bool require_client_cert = false;
  // A TCP connection that has not completed its handshake by then is closed
  // and counted in tls_handshake_failures.
  absl::Duration handshake_timeout = absl::Seconds(10);
};

struct ServerOptions {
  // A numeric IPv4/IPv6 address or "localhost". Anything but loopback
  // (127.0.0.0/8, ::1, localhost) requires `tls`.
  std::string bind_address = "127.0.0.1";
  // 0 picks a free port; Server::port() tells which.
  uint16_t port = 2575;
  int io_threads = 2;
  // Largest accepted frame payload; a larger frame gets OnOversized() and the
  // connection is closed after the response.
  size_t max_frame_size = 1 << 20;
  // A connection that receives no byte for this long while nothing is owed to
  // it (no frame awaiting its response) is closed gracefully; one whose
  // response write has not completed for this long (the peer does not read)
  // is closed at once. Both count as idle_timeouts.
  absl::Duration read_idle_timeout = absl::Minutes(5);
  // While a frame is partially received and the server is reading, the sender
  // must deliver at least this many bytes per slow_sender_window, pro rata,
  // or the connection is closed. 0 disables the check.
  uint64_t min_bytes_per_second = 64;
  absl::Duration slow_sender_window = absl::Seconds(10);
  // Connections over these limits are accepted and closed at once.
  int max_connections = 1024;
  int max_connections_per_address = 64;
  // Backpressure: a connection with this many frames handed to the handler
  // and not yet answered and written gets no more frames (and is not read)
  // until some are.
  size_t max_unanswered_frames = 64;
  // On a graceful close the server half-closes, then reads and discards what
  // the peer still sends for up to this long, so that the final response is
  // not destroyed by a TCP reset.
  absl::Duration close_linger = absl::Seconds(2);
  std::optional<TlsOptions> tls;
};

// Counter snapshot. All monotonic except connections_active.
struct ServerStats {
  uint64_t connections_accepted = 0;  // Admitted (not counting rejected).
  uint64_t connections_active = 0;
  uint64_t connections_rejected_limit = 0;  // Total or per-address limit.
  uint64_t frames_received = 0;             // Handed to OnFrame().
  uint64_t frames_oversized = 0;            // Handed to OnOversized().
  uint64_t bytes_skipped = 0;    // Junk outside frames (filler not counted).
  uint64_t bytes_discarded = 0;  // Partial frames abandoned by a new 0x0B.
  uint64_t idle_timeouts = 0;
  uint64_t slow_sender_closes = 0;
  uint64_t tls_handshake_failures = 0;  // Including handshake timeouts.
  uint64_t responses_sent = 0;          // Non-empty responses written.
  uint64_t responders_dropped = 0;      // Responders destroyed uncalled.
};

// appliance/base/loopback.h, here for the server's callers and tests.
using ::appliance::IsLoopbackAddress;

// Checks a TLS file setting before a server starts: INVALID_ARGUMENT when
// empty, FAILED_PRECONDITION when unreadable; messages start with `server`
// ("MLLP TLS") and name `option` and the path.
absl::Status CheckTlsFileReadable(const char* server, const std::string& path,
                                  const char* option);

class Server {
 public:
  // Validates `options`, sets up TLS, binds, listens and starts the I/O
  // threads. Errors: INVALID_ARGUMENT (bad option, unparsable address, bad
  // certificate or key), FAILED_PRECONDITION (non-loopback address without
  // TLS, certificate/key/CA file missing or unreadable), UNAVAILABLE (bind or
  // listen failed, e.g. address in use). `handler` is not owned and must
  // outlive the server.
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerOptions& options, FrameHandler* handler);

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  // Shutdown(absl::ZeroDuration()) unless already shut down.
  ~Server();

  // The bound port (the real one when options.port was 0).
  uint16_t port() const;
  ServerStats stats() const;

  // Stops accepting and reading new frames; waits up to `grace` for every
  // frame already handed to the handler to be answered and its response
  // written (and for those connections to close gracefully); then closes all
  // connections and joins the I/O threads. Idempotent. Must not be called
  // from a FrameHandler callback (it would wait for its own thread).
  void Shutdown(absl::Duration grace);

 private:
  class Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace appliance::mllp

#endif  // APPLIANCE_MLLP_SERVER_H_
