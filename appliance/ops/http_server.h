// A small, strict HTTP/1.1 server for the operations endpoints: GET and HEAD
// only, no request bodies, bounded request line and headers, a read timeout,
// a connection limit, keep-alive and pipelining, optional TLS and an optional
// bearer token. Answers 400 (malformed), 404 (no route), 405 (other
// methods), 401 (token missing or wrong), 413/431 (too large) itself.
//
// Handlers run on the server's I/O thread and must be quick (they read the
// store in short read transactions and return). Sockets and Asio stay inside
// http_server.cc.
#ifndef APPLIANCE_OPS_HTTP_SERVER_H_
#define APPLIANCE_OPS_HTTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace appliance::ops {

struct HttpRequest {
  std::string method;  // "GET" or "HEAD".
  std::string path;    // Without the query, e.g. "/metrics".
  std::string query;   // After '?', undecoded; "" when none.
  // Header names lower-cased; values trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string peer;  // "ip:port".

  // The first header named `lower_name`, or null.
  const std::string* Header(const std::string& lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Extra headers (the server adds Content-Length, Content-Type, Date-less
  // defaults: Cache-Control: no-store, X-Content-Type-Options: nosniff).
  std::vector<std::pair<std::string, std::string>> headers;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpTlsOptions {
  std::string cert_file;  // PEM chain.
  std::string key_file;   // PEM private key.
};

struct HttpServerOptions {
  // Numeric address or "localhost". Non-loopback requires `tls` and
  // `bearer_token_sha256` (FAILED_PRECONDITION otherwise).
  std::string bind_address = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port.
  int io_threads = 1;
  size_t max_request_line = 4096;
  size_t max_header_bytes = 16384;  // Request line + headers.
  size_t max_headers = 64;
  // A request (or the TLS handshake) must arrive completely within this time
  // from the moment the server starts waiting for it; idle keep-alive
  // connections are closed after it too.
  absl::Duration read_timeout = absl::Seconds(10);
  int max_connections = 32;
  int max_requests_per_connection = 1000;
  std::optional<HttpTlsOptions> tls;
  // Lower-case hex SHA-256 of the bearer token; when set, every path not in
  // `public_paths` requires "Authorization: Bearer <token>".
  std::string bearer_token_sha256;
  std::vector<std::string> public_paths;
  // Called (on an I/O thread; must not block) for every request refused for
  // a missing or wrong token, with the peer ("ip:port") and the path.
  std::function<void(const std::string& peer, const std::string& path)>
      on_unauthorized;
};

struct HttpServerStats {
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_rejected{0};  // Over max_connections.
  std::atomic<uint64_t> connections_active{0};
  std::atomic<uint64_t> requests{0};  // Answered, any status.
  std::atomic<uint64_t> bad_requests{0};  // 400, 405, 413, 431.
  std::atomic<uint64_t> not_found{0};
  std::atomic<uint64_t> unauthorized{0};
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> tls_handshake_failures{0};
};

class HttpServer {
 public:
  // Routes: exact path -> handler. Errors: INVALID_ARGUMENT (options, bad
  // certificate), FAILED_PRECONDITION (non-loopback without TLS and token,
  // unreadable files), UNAVAILABLE (bind failed).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpServerOptions& options, std::map<std::string, HttpHandler> routes);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();  // Shutdown().

  uint16_t port() const;
  const HttpServerStats& stats() const;
  // Stops accepting, closes every connection and joins the I/O threads.
  // Idempotent.
  void Shutdown();

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Lower-case hex SHA-256 of `token` (what HttpServerOptions and the config
// hold).
std::string TokenSha256Hex(const std::string& token);

// The status line reason for `status` ("OK", "Not Found", ...).
const char* ReasonPhrase(int status);

}  // namespace appliance::ops

#endif  // APPLIANCE_OPS_HTTP_SERVER_H_
