// Test helpers for mllp::Server: a recording FrameHandler and a blocking MLLP
// client over a raw socket (optionally TLS through OpenSSL) whose reads all
// have timeouts, so a misbehaving server fails a test instead of hanging it.
#ifndef APPLIANCE_MLLP_SERVER_TEST_UTIL_H_
#define APPLIANCE_MLLP_SERVER_TEST_UTIL_H_

#include <openssl/ssl.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "appliance/mllp/framer.h"
#include "appliance/mllp/handler.h"

namespace appliance::mllp::testing {

// Polls `done` every few milliseconds until it returns true (then returns
// true) or `timeout` passes (then returns false).
bool WaitFor(const std::function<bool()>& done,
             absl::Duration timeout = absl::Seconds(5));

// Records every call. With auto_respond it answers each frame at once (on
// the I/O thread) with "ACK:" + payload, and each oversized frame with
// "AR:" + its first 16 bytes; otherwise the test answers through the stored
// Responders.
class RecordingHandler : public FrameHandler {
 public:
  struct Call {
    PeerInfo peer;
    std::string payload;  // The prefix for an oversized frame.
    bool oversized = false;
    Responder respond;  // Copies share one slot: call one copy once.
  };

  explicit RecordingHandler(bool auto_respond) : auto_respond_(auto_respond) {}

  void OnFrame(const PeerInfo& peer, std::string payload,
               Responder respond) override;
  void OnOversized(const PeerInfo& peer, std::string prefix,
                   Responder respond) override;

  // Waits until at least `n` calls have been recorded.
  bool WaitForCalls(size_t n, absl::Duration timeout = absl::Seconds(5));
  size_t size() const;
  Call call(size_t i) const;
  std::vector<std::string> payloads() const;
  // Forgets every call, destroying the stored Responders.
  void Clear();

 private:
  void Record(Call call);

  const bool auto_respond_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Call> calls_;  // Guarded by mu_.
};

// A blocking client connection. Not thread-safe.
class TestClient {
 public:
  // Connects to 127.0.0.1:`port`, from `source_address` if not empty (any
  // 127.x.y.z works on Linux). With `tls` (not owned), performs the TLS
  // handshake; a failed handshake is an error.
  static absl::StatusOr<std::unique_ptr<TestClient>> Connect(
      uint16_t port, const std::string& source_address = "",
      SSL_CTX* tls = nullptr);

  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;
  ~TestClient();

  // Writes all of `bytes`; false on error.
  bool Send(const std::string& bytes);
  bool SendFrame(const std::string& payload) {
    return Send(EncodeFrame(payload));
  }
  // The next response payload, or nullopt on close, error or timeout.
  std::optional<std::string> ReadFrame(
      absl::Duration timeout = absl::Seconds(5));
  // True once the server has closed the connection (EOF, reset or TLS
  // close), discarding whatever else arrives; false on timeout.
  bool WaitForClose(absl::Duration timeout = absl::Seconds(5));
  // Half-closes (TCP FIN) the sending side.
  void ShutdownWrite();

  SSL* ssl() const { return ssl_; }

 private:
  explicit TestClient(int fd) : fd_(fd) {}

  // Reads what is available into the decoder, waiting until `deadline`.
  // Returns the bytes read, 0 on EOF, -1 on error, -2 on timeout.
  long ReadSome(absl::Time deadline);

  int fd_;
  SSL* ssl_ = nullptr;
  FrameDecoder decoder_;
  std::deque<std::string> frames_;
};

}  // namespace appliance::mllp::testing

#endif  // APPLIANCE_MLLP_SERVER_TEST_UTIL_H_
