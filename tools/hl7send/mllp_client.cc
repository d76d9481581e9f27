#include "tools/hl7send/mllp_client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/mllp/framer.h"

namespace hl7send {
namespace {

using appliance::mllp::FrameDecoder;
using asio::ip::tcp;
using Clock = MllpClient::Clock;
using TlsStream = asio::ssl::stream<tcp::socket>;

constexpr size_t kReadChunk = 16 * 1024;

absl::Status CheckReadable(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (in) return absl::OkStatus();
  const int e = errno;
  const std::string message =
      absl::StrCat("cannot read ", what, " ", path, ": ", strerror(e));
  if (e == ENOENT || e == ENOTDIR) return absl::NotFoundError(message);
  if (e == EACCES) return absl::PermissionDeniedError(message);
  return absl::InvalidArgumentError(message);
}

bool IsIpAddress(const std::string& name) {
  asio::error_code ec;
  asio::ip::make_address(name, ec);
  return !ec;
}

class AsioMllpClient final : public MllpClient {
 public:
  explicit AsioMllpClient(const ClientOptions& options)
      : options_(options),
        peer_(options.host.find(':') == std::string::npos
                  ? absl::StrCat(options.host, ":", options.port)
                  : absl::StrCat("[", options.host, "]:", options.port)) {
    if (options_.server_name.empty()) options_.server_name = options_.host;
  }
  ~AsioMllpClient() override { Close(); }

  // Builds the TLS context: CA, client certificate and key, TLS 1.2 minimum.
  absl::Status InitTls();

  absl::Status Connect(Clock::time_point deadline) override;
  absl::Status Send(std::string_view payload,
                    Clock::time_point deadline) override;
  absl::Status WaitForFrame(Clock::time_point deadline) override;
  bool PopFrame(Frame* out) override;
  void Close() override;
  bool connected() const override { return open() && read_status_.ok(); }
  const std::string& peer() const override { return peer_; }

 private:
  bool open() const { return socket_ != nullptr || tls_ != nullptr; }
  tcp::socket& lowest() { return tls_ ? tls_->next_layer() : *socket_; }

  // Runs handlers until done() or `deadline`; returns done().
  template <typename Done>
  bool RunUntil(Done done, Clock::time_point deadline);
  // Runs handlers until no operation is outstanding (after a close).
  void Drain();
  absl::Status Handshake(Clock::time_point deadline);
  void StartRead();
  void OnRead(const asio::error_code& ec, size_t n);

  ClientOptions options_;
  const std::string peer_;
  asio::io_context io_{1};
  std::unique_ptr<asio::ssl::context> tls_context_;
  // Exactly one of these is set while open(): the plain socket, or the TLS
  // stream owning its socket.
  std::unique_ptr<tcp::socket> socket_;
  std::unique_ptr<TlsStream> tls_;
  // Outstanding asynchronous operations; their handlers refer to this object
  // (and, for connect/handshake/write, to locals of the waiting call), so no
  // call returns while one started by it is outstanding unless it is the read.
  int pending_ = 0;
  std::unique_ptr<FrameDecoder> decoder_;
  std::string write_buffer_;  // The frame being written.
  std::deque<Frame> frames_;
  absl::Status read_status_;  // Why reading stopped; OK while reading.
};

absl::Status AsioMllpClient::InitTls() {
  tls_context_ =
      std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(tls_context_->native_handle(), TLS1_2_VERSION);
  asio::error_code ec;
  if (!options_.ca_file.empty()) {
    RETURN_IF_ERROR(CheckReadable(options_.ca_file, "CA file"));
    tls_context_->load_verify_file(options_.ca_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot load CA file ", options_.ca_file, ": ", ec.message()));
    }
  } else {
    tls_context_->set_default_verify_paths(ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load the system CAs: ", ec.message()));
    }
  }
  if (!options_.cert_file.empty()) {
    const std::string& key_file =
        options_.key_file.empty() ? options_.cert_file : options_.key_file;
    RETURN_IF_ERROR(CheckReadable(options_.cert_file, "certificate file"));
    RETURN_IF_ERROR(CheckReadable(key_file, "key file"));
    tls_context_->use_certificate_chain_file(options_.cert_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load certificate file ", options_.cert_file,
                       ": ", ec.message()));
    }
    tls_context_->use_private_key_file(key_file, asio::ssl::context::pem, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load key file ", key_file, ": ", ec.message()));
    }
  } else if (!options_.key_file.empty()) {
    return absl::InvalidArgumentError("a key file needs a certificate file");
  }
  tls_context_->set_verify_mode(asio::ssl::verify_peer, ec);
  return absl::OkStatus();
}

template <typename Done>
bool AsioMllpClient::RunUntil(Done done, Clock::time_point deadline) {
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    io_.restart();
    if (io_.run_one_until(deadline) == 0 && io_.stopped()) break;  // No work.
  }
  return done();
}

void AsioMllpClient::Drain() {
  while (pending_ > 0) {
    io_.restart();
    if (io_.run_one() == 0) break;
  }
}

absl::Status AsioMllpClient::Connect(Clock::time_point deadline) {
  Close();
  frames_.clear();
  asio::error_code ec;
  tcp::resolver resolver(io_);
  const tcp::resolver::results_type endpoints =
      resolver.resolve(options_.host, std::to_string(options_.port),
                       tcp::resolver::numeric_service, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", options_.host, ": ", ec.message()));
  }
  if (tls_context_) {
    tls_ = std::make_unique<TlsStream>(io_, *tls_context_);
  } else {
    socket_ = std::make_unique<tcp::socket>(io_);
  }
  bool done = false;
  ++pending_;
  asio::async_connect(
      lowest(), endpoints,
      [this, &done, &ec](const asio::error_code& e, const tcp::endpoint&) {
        --pending_;
        done = true;
        ec = e;
      });
  if (!RunUntil([&done] { return done; }, deadline)) {
    Close();
    return absl::DeadlineExceededError(
        absl::StrCat("connect to ", peer_, ": timed out"));
  }
  if (ec) {
    Close();
    return absl::UnavailableError(
        absl::StrCat("connect to ", peer_, ": ", ec.message()));
  }
  lowest().set_option(tcp::no_delay(true), ec);
  if (tls_) RETURN_IF_ERROR(Handshake(deadline));
  decoder_ = std::make_unique<FrameDecoder>();
  read_status_ = absl::OkStatus();
  StartRead();
  return absl::OkStatus();
}

absl::Status AsioMllpClient::Handshake(Clock::time_point deadline) {
  SSL* ssl = tls_->native_handle();
  const std::string& name = options_.server_name;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (IsIpAddress(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, name.c_str());
    X509_VERIFY_PARAM_set_hostflags(param,
                                    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
  }
  bool done = false;
  asio::error_code ec;
  ++pending_;
  tls_->async_handshake(asio::ssl::stream_base::client,
                        [this, &done, &ec](const asio::error_code& e) {
                          --pending_;
                          done = true;
                          ec = e;
                        });
  if (!RunUntil([&done] { return done; }, deadline)) {
    Close();
    return absl::DeadlineExceededError(
        absl::StrCat("TLS handshake with ", peer_, ": timed out"));
  }
  if (ec) {
    std::string reason = ec.message();
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      absl::StrAppend(&reason, " (", X509_verify_cert_error_string(verify),
                      ")");
    }
    Close();
    return absl::UnavailableError(
        absl::StrCat("TLS handshake with ", peer_, ": ", reason));
  }
  return absl::OkStatus();
}

void AsioMllpClient::StartRead() {
  char* region = decoder_->PrepareWrite(kReadChunk);
  ++pending_;
  auto handler = [this](const asio::error_code& ec, size_t n) {
    --pending_;
    OnRead(ec, n);
  };
  if (tls_) {
    tls_->async_read_some(asio::buffer(region, kReadChunk), handler);
  } else {
    socket_->async_read_some(asio::buffer(region, kReadChunk), handler);
  }
}

void AsioMllpClient::OnRead(const asio::error_code& ec, size_t n) {
  decoder_->CommitWrite(n);
  const Clock::time_point now = Clock::now();
  FrameDecoder::Event event;
  while (decoder_->Next(&event)) {
    if (event.type == FrameDecoder::EventType::kOversized) {
      read_status_ = absl::ResourceExhaustedError(
          absl::StrCat("frame from ", peer_, " larger than ",
                       decoder_->options().max_frame_size, " bytes"));
      return;
    }
    frames_.push_back({std::string(event.payload), now});
  }
  if (!ec) {
    StartRead();
  } else if (ec == asio::error::eof ||
             ec == asio::ssl::error::stream_truncated) {
    read_status_ =
        absl::UnavailableError(absl::StrCat("connection closed by ", peer_));
  } else {
    read_status_ = absl::UnavailableError(
        absl::StrCat("connection to ", peer_, ": ", ec.message()));
  }
}

absl::Status AsioMllpClient::Send(std::string_view payload,
                                  Clock::time_point deadline) {
  if (!open()) {
    return absl::FailedPreconditionError(
        absl::StrCat("not connected to ", peer_));
  }
  if (!read_status_.ok()) {
    const absl::Status status = read_status_;
    Close();
    return status;
  }
  write_buffer_.clear();
  appliance::mllp::AppendFrame(payload, &write_buffer_);
  bool done = false;
  asio::error_code ec;
  auto handler = [this, &done, &ec](const asio::error_code& e, size_t) {
    --pending_;
    done = true;
    ec = e;
  };
  ++pending_;
  if (tls_) {
    asio::async_write(*tls_, asio::buffer(write_buffer_), handler);
  } else {
    asio::async_write(*socket_, asio::buffer(write_buffer_), handler);
  }
  if (!RunUntil([&done] { return done; }, deadline)) {
    Close();
    return absl::DeadlineExceededError(
        absl::StrCat("sending to ", peer_, ": timed out"));
  }
  if (ec) {
    Close();
    return absl::UnavailableError(
        absl::StrCat("sending to ", peer_, ": ", ec.message()));
  }
  return absl::OkStatus();
}

absl::Status AsioMllpClient::WaitForFrame(Clock::time_point deadline) {
  if (frames_.empty() && open() && read_status_.ok()) {
    RunUntil([this] { return !frames_.empty() || !read_status_.ok(); },
             deadline);
  }
  if (!frames_.empty()) return absl::OkStatus();
  if (!open()) {
    return absl::FailedPreconditionError(
        absl::StrCat("not connected to ", peer_));
  }
  if (!read_status_.ok()) return read_status_;
  return absl::DeadlineExceededError(absl::StrCat("no answer from ", peer_));
}

bool AsioMllpClient::PopFrame(Frame* out) {
  if (frames_.empty()) return false;
  *out = std::move(frames_.front());
  frames_.pop_front();
  return true;
}

void AsioMllpClient::Close() {
  if (open()) {
    asio::error_code ignored;
    lowest().close(ignored);
    Drain();  // The aborted handlers run now, before anything they refer to
              // goes away.
  }
  tls_.reset();
  socket_.reset();
}

}  // namespace

absl::StatusOr<std::unique_ptr<MllpClient>> NewMllpClient(
    const ClientOptions& options) {
  if (options.host.empty()) return absl::InvalidArgumentError("empty host");
  if (!options.tls && (!options.ca_file.empty() || !options.cert_file.empty() ||
                       !options.key_file.empty())) {
    return absl::InvalidArgumentError("certificate files need TLS");
  }
  auto client = std::make_unique<AsioMllpClient>(options);
  if (options.tls) RETURN_IF_ERROR(client->InitTls());
  return std::unique_ptr<MllpClient>(std::move(client));
}

}  // namespace hl7send
