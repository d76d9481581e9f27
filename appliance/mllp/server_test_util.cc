#include "appliance/mllp/server_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace appliance::mllp::testing {

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void RecordingHandler::OnFrame(const PeerInfo& peer, std::string payload,
                               Responder respond) {
  if (auto_respond_) respond(Response{"ACK:" + payload});
  Record(Call{peer, std::move(payload), false, std::move(respond)});
}

void RecordingHandler::OnOversized(const PeerInfo& peer, std::string prefix,
                                   Responder respond) {
  if (auto_respond_) respond(Response{"AR:" + prefix.substr(0, 16)});
  Record(Call{peer, std::move(prefix), true, std::move(respond)});
}

void RecordingHandler::Record(Call call) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back(std::move(call));
  cv_.notify_all();
}

bool RecordingHandler::WaitForCalls(size_t n, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                      [&] { return calls_.size() >= n; });
}

size_t RecordingHandler::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_.size();
}

RecordingHandler::Call RecordingHandler::call(size_t i) const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_.at(i);
}

std::vector<std::string> RecordingHandler::payloads() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const Call& c : calls_) out.push_back(c.payload);
  return out;
}

void RecordingHandler::Clear() {
  std::vector<Call> calls;
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls.swap(calls_);
  }
}

absl::StatusOr<std::unique_ptr<TestClient>> TestClient::Connect(
    uint16_t port, const std::string& source_address, SSL_CTX* tls) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(strerror(errno));
  std::unique_ptr<TestClient> client(new TestClient(fd));
  // Backstop for blocking OpenSSL calls; ReadSome() polls with deadlines.
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (!source_address.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, source_address.c_str(), &local.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
      return absl::InternalError(
          absl::StrCat("bind ", source_address, ": ", strerror(errno)));
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::UnavailableError(absl::StrCat("connect: ", strerror(errno)));
  }
  if (tls != nullptr) {
    client->ssl_ = SSL_new(tls);
    SSL_set_fd(client->ssl_, fd);
    ERR_clear_error();
    if (SSL_connect(client->ssl_) != 1) {
      char buf[256] = "handshake failed";
      if (unsigned long err = ERR_get_error()) {
        ERR_error_string_n(err, buf, sizeof(buf));
      }
      ERR_clear_error();
      return absl::UnavailableError(absl::StrCat("TLS: ", buf));
    }
  }
  return client;
}

TestClient::~TestClient() {
  if (ssl_ != nullptr) {
    SSL_shutdown(ssl_);  // Best effort close_notify.
    SSL_free(ssl_);
  }
  close(fd_);
}

bool TestClient::Send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    long n;
    if (ssl_ != nullptr) {
      n = SSL_write(ssl_, bytes.data() + sent,
                    static_cast<int>(bytes.size() - sent));
    } else {
      n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    }
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

void TestClient::ShutdownWrite() { shutdown(fd_, SHUT_WR); }

long TestClient::ReadSome(absl::Time deadline) {
  if (ssl_ == nullptr || SSL_pending(ssl_) == 0) {
    const absl::Duration left = deadline - absl::Now();
    pollfd p{fd_, POLLIN, 0};
    const int ready =
        poll(&p, 1,
             left > absl::ZeroDuration()
                 ? static_cast<int>(absl::ToInt64Milliseconds(left)) + 1
                 : 0);
    if (ready == 0) return -2;
    if (ready < 0) return -1;
  }
  char* buffer = decoder_.PrepareWrite(4096);
  long n;
  if (ssl_ != nullptr) {
    n = SSL_read(ssl_, buffer, 4096);
    if (n <= 0) {
      const int err = SSL_get_error(ssl_, static_cast<int>(n));
      ERR_clear_error();
      decoder_.CommitWrite(0);
      if (err == SSL_ERROR_WANT_READ) return -2;  // Partial record so far.
      return err == SSL_ERROR_ZERO_RETURN ? 0 : -1;
    }
  } else {
    n = recv(fd_, buffer, 4096, 0);
    if (n < 0) {
      decoder_.CommitWrite(0);
      return -1;
    }
  }
  decoder_.CommitWrite(static_cast<size_t>(n));
  FrameDecoder::Event event;
  while (decoder_.Next(&event)) frames_.emplace_back(event.payload);
  return n;
}

std::optional<std::string> TestClient::ReadFrame(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (frames_.empty()) {
    const long n = ReadSome(deadline);
    if (n == -2 && absl::Now() < deadline) continue;
    if (n <= 0) return std::nullopt;
  }
  std::string frame = std::move(frames_.front());
  frames_.pop_front();
  return frame;
}

bool TestClient::WaitForClose(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const long n = ReadSome(deadline);
    if (n == 0 || n == -1) return true;
    if (n == -2 && absl::Now() >= deadline) return false;
  }
}

}  // namespace appliance::mllp::testing
