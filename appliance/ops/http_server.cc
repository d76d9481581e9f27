#include "appliance/ops/http_server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/crypto/hash.h"
#include "appliance/crypto/openssl_errors.h"
#include "appliance/mllp/server.h"
#include "asio.hpp"
#include "asio/ssl.hpp"
#include "glog/logging.h"

namespace appliance::ops {
namespace {

using Tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 4096;

SteadyClock::duration ToClock(absl::Duration d) {
  d = std::min(std::max(d, absl::ZeroDuration()), absl::Hours(24));
  return std::chrono::duration_cast<SteadyClock::duration>(
      absl::ToChronoNanoseconds(d));
}

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// Parses a request head (request line and headers, without the final empty
// line's CRLF). Returns 0 on success or the status to answer with.
int ParseHead(std::string_view head, const HttpServerOptions& options,
              HttpRequest* req, bool* keep_alive) {
  size_t eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  if (line.size() > options.max_request_line) return 414;
  const size_t sp1 = line.find(' ');
  const size_t sp2 =
      sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != std::string_view::npos || sp1 == 0) {
    return 400;
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  for (char c : method) {
    if (!IsTokenChar(c)) return 400;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return version.rfind("HTTP/", 0) == 0 ? 505 : 400;
  }
  if (target.empty() || target[0] != '/') return 400;
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 ||
        static_cast<unsigned char>(c) >= 0x7f) {
      return 400;
    }
  }
  const size_t q = target.find('?');
  req->path = std::string(target.substr(0, q));
  req->query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  req->method = std::string(method);

  bool http11 = version == "HTTP/1.1";
  bool has_host = false;
  std::string connection;
  while (eol != std::string_view::npos) {
    const size_t start = eol + 2;
    eol = head.find("\r\n", start);
    const std::string_view h = head.substr(
        start, eol == std::string_view::npos ? std::string_view::npos
                                             : eol - start);
    if (h.empty()) continue;
    if (req->headers.size() >= options.max_headers) return 431;
    const size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return 400;
    std::string name(h.substr(0, colon));
    for (char c : name) {
      if (!IsTokenChar(c)) return 400;  // Also rejects obs-fold lines.
    }
    std::string value(h.substr(colon + 1));
    for (char c : value) {
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        return 400;
      }
    }
    absl::AsciiStrToLower(&name);
    value = std::string(absl::StripAsciiWhitespace(value));
    if (name == "host") {
      if (has_host) return 400;
      has_host = true;
    }
    if (name == "transfer-encoding") return 400;
    if (name == "content-length" && value != "0") return 413;
    if (name == "connection") connection = absl::AsciiStrToLower(value);
    req->headers.emplace_back(std::move(name), std::move(value));
  }
  if (http11 && !has_host) return 400;
  if (http11) {
    *keep_alive = connection.find("close") == std::string::npos;
  } else {
    *keep_alive = connection.find("keep-alive") != std::string::npos;
  }
  if (req->method != "GET" && req->method != "HEAD") return 405;
  return 0;
}

// Everything connections share; owned by HttpServer::Impl, which destroys its
// io_context (and with it every connection) before this.
struct Shared {
  HttpServerOptions options;
  std::map<std::string, HttpHandler> routes;
  asio::ssl::context* tls = nullptr;  // Owned by Impl; null without TLS.
  HttpServerStats stats;
};

bool Authorized(const Shared& s, const HttpRequest& req) {
  if (s.options.bearer_token_sha256.empty()) return true;
  for (const std::string& p : s.options.public_paths) {
    if (p == req.path) return true;
  }
  const std::string* auth = req.Header("authorization");
  if (auth == nullptr) return false;
  constexpr std::string_view kBearer = "bearer ";
  if (auth->size() <= kBearer.size() ||
      absl::AsciiStrToLower(auth->substr(0, kBearer.size())) != kBearer) {
    return false;
  }
  const std::string got = TokenSha256Hex(
      std::string(absl::StripAsciiWhitespace(auth->substr(kBearer.size()))));
  return crypto::ConstantTimeEquals(got, s.options.bearer_token_sha256);
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Shared* shared, Tcp::socket socket)
      : shared_(shared), timer_(socket.get_executor()) {
    asio::error_code ec;
    const Tcp::endpoint ep = socket.remote_endpoint(ec);
    if (!ec) peer_ = absl::StrCat(ep.address().to_string(), ":", ep.port());
    if (shared_->tls != nullptr) {
      tls_.emplace(std::move(socket), *shared_->tls);
    } else {
      plain_.emplace(std::move(socket));
    }
    shared_->stats.connections_active++;
  }
  ~Connection() { shared_->stats.connections_active--; }

  void Start() {
    ArmTimer();
    if (tls_) {
      tls_->async_handshake(
          asio::ssl::stream_base::server,
          [self = shared_from_this()](const asio::error_code& ec) {
            if (ec) {
              self->shared_->stats.tls_handshake_failures++;
              VLOG(1) << "ops HTTP: TLS handshake from " << self->peer_
                      << " failed: " << ec.message();
              self->Close();
              return;
            }
            self->ReadRequest();
          });
      return;
    }
    ReadRequest();
  }

 private:
  Tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }

  void ArmTimer() {
    timer_.expires_after(ToClock(shared_->options.read_timeout));
    timer_.async_wait([self = shared_from_this(),
                       generation = ++timer_generation_](
                          const asio::error_code& ec) {
      if (ec || generation != self->timer_generation_ || self->closed_) return;
      self->shared_->stats.timeouts++;
      self->Close();
    });
  }

  void ReadRequest() {
    if (closed_) return;
    const size_t end = buffer_.find("\r\n\r\n");
    if (end != std::string::npos) {
      if (end + 4 > shared_->options.max_header_bytes) {
        Answer(Error(431), /*keep_alive=*/false);
        return;
      }
      const std::string head = buffer_.substr(0, end);
      buffer_.erase(0, end + 4);
      Handle(head);
      return;
    }
    if (buffer_.size() >= shared_->options.max_header_bytes) {
      Answer(Error(buffer_.find("\r\n") == std::string::npos ? 414 : 431),
             /*keep_alive=*/false);
      return;
    }
    auto handler = [self = shared_from_this()](const asio::error_code& ec,
                                               size_t n) {
      if (self->closed_) return;
      if (ec) {
        self->Close();
        return;
      }
      self->buffer_.append(self->chunk_, n);
      self->ReadRequest();
    };
    if (tls_) {
      tls_->async_read_some(asio::buffer(chunk_, kReadChunk), handler);
    } else {
      plain_->async_read_some(asio::buffer(chunk_, kReadChunk), handler);
    }
  }

  HttpResponse Error(int status) {
    HttpResponse r;
    r.status = status;
    r.body = absl::StrCat(status, " ", ReasonPhrase(status), "\n");
    if (status == 405) r.headers.emplace_back("Allow", "GET, HEAD");
    if (status == 401) {
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"hl7d\"");
      shared_->stats.unauthorized++;
    } else if (status == 404) {
      shared_->stats.not_found++;
    } else {
      shared_->stats.bad_requests++;
    }
    return r;
  }

  void Handle(const std::string& head) {
    HttpRequest req;
    req.peer = peer_;
    bool keep_alive = false;
    const int error = ParseHead(head, shared_->options, &req, &keep_alive);
    head_only_ = req.method == "HEAD";
    if (error != 0) {
      Answer(Error(error), /*keep_alive=*/false);
      return;
    }
    if (++requests_ >= shared_->options.max_requests_per_connection) {
      keep_alive = false;
    }
    auto route = shared_->routes.find(req.path);
    if (route == shared_->routes.end()) {
      Answer(Error(404), keep_alive);
      return;
    }
    if (!Authorized(*shared_, req)) {
      if (shared_->options.on_unauthorized) {
        shared_->options.on_unauthorized(req.peer, req.path);
      }
      Answer(Error(401), keep_alive);
      return;
    }
    Answer(route->second(req), keep_alive);
  }

  void Answer(const HttpResponse& r, bool keep_alive) {
    shared_->stats.requests++;
    keep_alive_ = keep_alive;
    out_ = absl::StrCat("HTTP/1.1 ", r.status, " ", ReasonPhrase(r.status),
                        "\r\nContent-Type: ", r.content_type,
                        "\r\nContent-Length: ", r.body.size(),
                        "\r\nCache-Control: no-store"
                        "\r\nX-Content-Type-Options: nosniff"
                        "\r\nConnection: ",
                        keep_alive ? "keep-alive" : "close", "\r\n");
    for (const auto& [name, value] : r.headers) {
      absl::StrAppend(&out_, name, ": ", value, "\r\n");
    }
    out_ += "\r\n";
    if (!head_only_) out_ += r.body;
    auto handler = [self = shared_from_this()](const asio::error_code& ec,
                                               size_t) {
      if (self->closed_) return;
      if (ec || !self->keep_alive_) {
        self->Finish();
        return;
      }
      self->ArmTimer();
      self->ReadRequest();
    };
    if (tls_) {
      asio::async_write(*tls_, asio::buffer(out_), handler);
    } else {
      asio::async_write(*plain_, asio::buffer(out_), handler);
    }
  }

  // Graceful end after the last response: TLS close_notify, then close.
  void Finish() {
    if (tls_) {
      tls_->async_shutdown(
          [self = shared_from_this()](const asio::error_code&) {
            self->Close();
          });
      return;
    }
    asio::error_code ignored;
    socket().shutdown(Tcp::socket::shutdown_send, ignored);
    Close();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    asio::error_code ignored;
    socket().close(ignored);
  }

  Shared* const shared_;  // Outlives every connection (see Shared).
  asio::steady_timer timer_;
  std::optional<Tcp::socket> plain_;
  std::optional<asio::ssl::stream<Tcp::socket>> tls_;
  std::string peer_;
  std::string buffer_;
  char chunk_[kReadChunk];
  std::string out_;
  uint64_t timer_generation_ = 0;
  int requests_ = 0;
  bool keep_alive_ = false;
  bool head_only_ = false;
  bool closed_ = false;
};

absl::Status CheckReadable(const std::string& path, const char* what) {
  return mllp::CheckTlsFileReadable("ops HTTP TLS", path, what);
}

}  // namespace

const std::string* HttpRequest::Header(const std::string& lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

std::string TokenSha256Hex(const std::string& token) {
  return crypto::ToHex(crypto::Sha256(token));
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

class HttpServer::Impl {
 public:
  Impl(const HttpServerOptions& options,
       std::map<std::string, HttpHandler> routes)
      : io_(std::make_unique<asio::io_context>(options.io_threads)) {
    shared_.options = options;
    shared_.routes = std::move(routes);
  }

  ~Impl() {
    Shutdown();
    acceptor_.reset();
    io_.reset();  // Destroys every connection while shared_ lives.
  }

  absl::Status Init() {
    const HttpServerOptions& o = shared_.options;
    if (o.io_threads < 1 || o.max_connections < 1 ||
        o.max_requests_per_connection < 1 || o.max_headers < 1 ||
        o.max_request_line < 16 || o.max_header_bytes < o.max_request_line ||
        o.read_timeout <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError("ops HTTP: invalid server options");
    }
    if (!mllp::IsLoopbackAddress(o.bind_address) &&
        (!o.tls.has_value() || o.bearer_token_sha256.empty())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "refusing to serve ops HTTP on ", o.bind_address,
          " without TLS and a viewer token: configure ops.tls and "
          "ops.viewer_token_sha256, or bind to 127.0.0.1"));
    }
    if (o.tls.has_value()) RETURN_IF_ERROR(SetUpTls(*o.tls));
    asio::error_code ec;
    const std::string host =
        absl::AsciiStrToLower(o.bind_address) == "localhost" ? "127.0.0.1"
                                                             : o.bind_address;
    const asio::ip::address address = asio::ip::make_address(host, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("ops HTTP: cannot parse address '", o.bind_address,
                       "': ", ec.message()));
    }
    const Tcp::endpoint endpoint(address, o.port);
    acceptor_.emplace(asio::make_strand(*io_));
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(Tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("ops HTTP: cannot listen on ", o.bind_address, ":",
                       o.port, ": ", ec.message()));
    }
    port_ = acceptor_->local_endpoint().port();
    Accept();
    for (int i = 0; i < o.io_threads; ++i) {
      threads_.emplace_back([this] { io_->run(); });
    }
    return absl::OkStatus();
  }

  void Shutdown() {
    if (shut_down_) return;
    shut_down_ = true;
    if (acceptor_) {
      asio::post(acceptor_->get_executor(), [this] {
        asio::error_code ignored;
        acceptor_->close(ignored);
      });
    }
    io_->stop();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  uint16_t port() const { return port_; }
  const HttpServerStats& stats() const { return shared_.stats; }

 private:
  absl::Status SetUpTls(const HttpTlsOptions& tls) {
    RETURN_IF_ERROR(CheckReadable(tls.cert_file, "cert_file"));
    RETURN_IF_ERROR(CheckReadable(tls.key_file, "key_file"));
    ssl_ctx_.emplace(asio::ssl::context::tls_server);
    SSL_CTX* raw = ssl_ctx_->native_handle();
    SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
    SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(raw, tls.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(raw, tls.key_file.c_str(),
                                    SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(raw) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("ops HTTP TLS: cannot load certificate '",
                       tls.cert_file, "' and key '", tls.key_file,
                       "': ", crypto::OpenSslErrors()));
    }
    shared_.tls = &*ssl_ctx_;
    return absl::OkStatus();
  }

  void Accept() {
    acceptor_->async_accept(
        asio::make_strand(*io_),
        [this](const asio::error_code& ec, Tcp::socket socket) {
          if (!acceptor_->is_open() || ec == asio::error::operation_aborted) {
            return;
          }
          if (!ec) {
            if (shared_.stats.connections_active.load() >=
                static_cast<uint64_t>(shared_.options.max_connections)) {
              shared_.stats.connections_rejected++;
              asio::error_code ignored;
              socket.close(ignored);
            } else {
              shared_.stats.connections_accepted++;
              std::make_shared<Connection>(&shared_, std::move(socket))
                  ->Start();
            }
          }
          Accept();
        });
  }

  Shared shared_;
  std::optional<asio::ssl::context> ssl_ctx_;
  std::unique_ptr<asio::io_context> io_;
  std::optional<Tcp::acceptor> acceptor_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  bool shut_down_ = false;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options,
    std::map<std::string, HttpHandler> routes) {
  auto impl = std::make_unique<Impl>(options, std::move(routes));
  RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;
uint16_t HttpServer::port() const { return impl_->port(); }
const HttpServerStats& HttpServer::stats() const { return impl_->stats(); }
void HttpServer::Shutdown() { impl_->Shutdown(); }

}  // namespace appliance::ops
