#include "appliance/mllp/server.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/crypto/openssl_errors.h"
#include "appliance/mllp/framer.h"
#include "appliance/mllp/response_sequencer.h"
#include "appliance/mllp/slow_sender.h"
#include "asio.hpp"
#include "asio/ssl.hpp"
#include "glog/logging.h"

namespace appliance::mllp {
namespace {

using Clock = std::chrono::steady_clock;
using Tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;

// Bytes requested per socket read (straight into the decoder's buffer).
constexpr size_t kReadChunk = 16 * 1024;
// Bytes of an oversized frame passed to OnOversized().
constexpr size_t kOversizedPrefix = 4096;
// Scratch space for input discarded while lingering on close.
constexpr size_t kLingerChunk = 4096;
// Write buffers larger than this are released once written.
constexpr size_t kRetainedWriteCapacity = 64 * 1024;
// Pause before accepting again after an accept error (e.g. EMFILE), so the
// loop does not spin.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
// Longest duration a timer is given; longer ones (including infinite) are
// clamped so time_point arithmetic cannot overflow.
constexpr absl::Duration kMaxDuration = absl::Hours(24 * 365);

Clock::duration ToClock(absl::Duration d) {
  d = std::clamp(d, absl::ZeroDuration(), kMaxDuration);
  return std::chrono::duration_cast<Clock::duration>(
      absl::ToChronoNanoseconds(d));
}

// "127.0.0.1:2575", "[::1]:2575".
std::string HostPort(const std::string& address, uint16_t port) {
  if (address.find(':') != std::string::npos) {
    return absl::StrCat("[", address, "]:", port);
  }
  return absl::StrCat(address, ":", port);
}

absl::Status CheckReadable(const std::string& path, const char* option) {
  return CheckTlsFileReadable("MLLP TLS", path, option);
}

// RFC 2253 subject of the peer's certificate, or "" if it sent none.
std::string PeerSubject(SSL* ssl) {
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      SSL_get1_peer_certificate(ssl), &X509_free);
  if (cert == nullptr) return "";
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()),
                                                &BIO_free);
  if (bio == nullptr) return "";
  if (X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert.get()), 0,
                         XN_FLAG_RFC2253) < 0) {
    return "";
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : "";
}

std::string Normalize(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6())
        .to_string();
  }
  return address.to_string();
}

struct Counters {
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_active{0};
  std::atomic<uint64_t> connections_rejected_limit{0};
  std::atomic<uint64_t> frames_received{0};
  std::atomic<uint64_t> frames_oversized{0};
  std::atomic<uint64_t> bytes_skipped{0};
  std::atomic<uint64_t> bytes_discarded{0};
  std::atomic<uint64_t> idle_timeouts{0};
  std::atomic<uint64_t> slow_sender_closes{0};
  std::atomic<uint64_t> tls_handshake_failures{0};
  std::atomic<uint64_t> responses_sent{0};
  std::atomic<uint64_t> responders_dropped{0};
};

void Bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

// Lets Responders post to connection strands only while the io_context is
// alive. Responders hold it shared; the server closes it (exclusively) after
// joining its threads and before destroying the io_context.
struct PostGate {
  std::shared_mutex mu;
  bool open ABSL_GUARDED_BY(mu) = true;
};

class Connection;

// What every connection shares. Owned by Server::Impl, which destroys its
// io_context (and with it every connection) before this.
struct ServerContext {
  ServerContext(const ServerOptions& o, FrameHandler* h)
      : options(o), handler(h) {}

  // Called by a connection once, when it closes.
  void Unregister(uint64_t id, const std::string& address) {
    std::lock_guard<std::mutex> lock(mu);
    connections.erase(id);
    auto it = per_address.find(address);
    if (it != per_address.end() && --it->second <= 0) per_address.erase(it);
    counters.connections_active.fetch_sub(1, std::memory_order_relaxed);
    if (connections.empty()) cv.notify_all();
  }

  std::vector<std::shared_ptr<Connection>> Snapshot() {
    std::vector<std::shared_ptr<Connection>> out;
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [id, weak] : connections) {
      if (auto conn = weak.lock()) out.push_back(std::move(conn));
    }
    return out;
  }

  const ServerOptions options;
  FrameHandler* const handler;  // Not owned; outlives the server.
  // Owned by Server::Impl; null without TLS.
  asio::ssl::context* tls = nullptr;
  Counters counters;
  const std::shared_ptr<PostGate> gate = std::make_shared<PostGate>();

  std::mutex mu;
  std::condition_variable cv;  // Signalled when `connections` empties.
  bool draining ABSL_GUARDED_BY(mu) = false;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> connections
      ABSL_GUARDED_BY(mu);
  std::unordered_map<std::string, int> per_address ABSL_GUARDED_BY(mu);
};

// One accepted connection. Every member function other than the constructor,
// Post*() and strand() runs on `strand_`. Kept alive by the completion
// handlers of its outstanding operations (a timer wait is always outstanding
// until it closes); Responders and the registry hold weak references.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerContext* ctx, Strand strand, Tcp::socket socket,
             PeerInfo peer)
      : ctx_(ctx),
        strand_(std::move(strand)),
        timer_(strand_),
        peer_(std::move(peer)),
        decoder_(
            FrameDecoderOptions{ctx->options.max_frame_size, kOversizedPrefix}),
        slow_(ctx->options.min_bytes_per_second,
              ToClock(ctx->options.slow_sender_window)),
        idle_timeout_(ToClock(ctx->options.read_idle_timeout)) {
    if (ctx_->tls != nullptr) {
      tls_.emplace(std::move(socket), *ctx_->tls);
    } else {
      plain_.emplace(std::move(socket));
    }
  }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void PostStart() {
    asio::post(strand_, [self = shared_from_this()] { self->Start(); });
  }
  // Server shutdown: hand over no more frames, finish the ones handed over,
  // then close gracefully.
  void PostDrain() {
    asio::post(strand_, [self = shared_from_this()] { self->Drain(); });
  }
  void PostClose() {
    asio::post(strand_, [self = shared_from_this()] { self->Close(); });
  }
  // From a Responder, on any thread.
  void PostResponse(uint64_t sequence, Response response, bool dropped) {
    asio::post(strand_, [self = shared_from_this(), sequence, dropped,
                         response = std::move(response)]() mutable {
      self->OnResponse(sequence, std::move(response), dropped);
    });
  }

 private:
  enum class Phase {
    kHandshake,  // TLS handshake in progress.
    kOpen,       // Reading frames.
    kFinishing,  // No new frames; answering and writing the ones handed over.
    kClosing,    // Graceful close: TLS close_notify, FIN, linger.
    kClosed,
  };

  Tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }

  template <typename Handler>
  auto OnStrand(Handler&& handler) {
    return asio::bind_executor(strand_, std::forward<Handler>(handler));
  }

  void Start() {
    if (phase_ == Phase::kClosed) return;
    const Clock::time_point now = Clock::now();
    last_activity_ = now;
    VLOG(1) << "MLLP connection " << peer_.connection_id << " from "
            << HostPort(peer_.address, peer_.port) << " opened";
    if (tls_) {
      phase_ = Phase::kHandshake;
      timer_.expires_at(now + ToClock(ctx_->options.tls->handshake_timeout));
      ArmTimer();
      tls_->async_handshake(
          asio::ssl::stream_base::server,
          OnStrand([self = shared_from_this()](const asio::error_code& ec) {
            self->OnHandshake(ec);
          }));
      return;
    }
    phase_ = Phase::kOpen;
    ScheduleChecks(now);
    ArmTimer();
    ReadMore();
  }

  void OnHandshake(const asio::error_code& ec) {
    if (phase_ != Phase::kHandshake) return;  // Timed out or shut down.
    if (ec) {
      Bump(ctx_->counters.tls_handshake_failures);
      LOG(WARNING) << "MLLP connection " << peer_.connection_id << " from "
                   << HostPort(peer_.address, peer_.port)
                   << ": TLS handshake failed: " << ec.message();
      ctx_->handler->OnTlsRefused(peer_, ec.message());
      Close();
      return;
    }
    peer_.tls_subject = PeerSubject(tls_->native_handle());
    VLOG(1) << "MLLP connection " << peer_.connection_id << ": TLS "
            << SSL_get_version(tls_->native_handle()) << ", client cert "
            << (peer_.tls_subject.empty() ? "none" : peer_.tls_subject);
    phase_ = Phase::kOpen;
    const Clock::time_point now = Clock::now();
    last_activity_ = now;
    ScheduleChecks(now);
    ReadMore();
  }

  // Frames handed to the handler whose responses have not been written yet.
  size_t Backlog() const {
    return sequencer_.pending() + queued_responses_ + inflight_responses_;
  }
  // True while the peer is waiting for us rather than the other way round.
  bool Owed() const { return Backlog() > 0 || writing_; }

  // Reads more input if the connection is open, the decoder has nothing left
  // to hand over and the backlog allows it.
  void ReadMore() {
    if (phase_ != Phase::kOpen || reading_ || !decoder_drained_ ||
        Backlog() >= ctx_->options.max_unanswered_frames) {
      return;
    }
    reading_ = true;
    char* buffer = decoder_.PrepareWrite(kReadChunk);
    auto handler = OnStrand(
        [self = shared_from_this()](const asio::error_code& ec, size_t n) {
          self->OnRead(ec, n);
        });
    if (tls_) {
      tls_->async_read_some(asio::buffer(buffer, kReadChunk),
                            std::move(handler));
    } else {
      plain_->async_read_some(asio::buffer(buffer, kReadChunk),
                              std::move(handler));
    }
  }

  void OnRead(const asio::error_code& ec, size_t n) {
    reading_ = false;
    decoder_.CommitWrite(ec ? 0 : n);
    if (phase_ == Phase::kClosed) return;
    if (phase_ == Phase::kClosing) {  // The read was cancelled to close.
      ContinueClosing();
      return;
    }
    const Clock::time_point now = Clock::now();
    if (ec) {
      if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
        if (decoder_.in_frame()) {
          VLOG(1) << "MLLP connection " << peer_.connection_id
                  << ": peer closed with " << decoder_.pending_bytes()
                  << " bytes of an incomplete frame";
        }
        BeginFinishing(now);
        MaybeFinish();
        return;
      }
      VLOG(1) << "MLLP connection " << peer_.connection_id
              << ": read error: " << ec.message();
      Close();
      return;
    }
    last_activity_ = now;
    if (phase_ != Phase::kOpen) return;  // Finishing: input is ignored.
    HandOff(now);
    ReadMore();
    UpdateSlowSender(now, n);
  }

  // Passes decoded frames to the handler while the backlog allows.
  void HandOff(Clock::time_point now) {
    FrameDecoder::Event event;
    while (phase_ == Phase::kOpen) {
      if (Backlog() >= ctx_->options.max_unanswered_frames) {
        decoder_drained_ = false;
        break;
      }
      if (!decoder_.Next(&event)) {
        decoder_drained_ = true;
        break;
      }
      const uint64_t sequence = sequencer_.Add();
      if (event.type == FrameDecoder::EventType::kFrame) {
        Bump(ctx_->counters.frames_received);
        ctx_->handler->OnFrame(peer_, std::string(event.payload),
                               MakeResponder(sequence));
      } else {
        Bump(ctx_->counters.frames_oversized);
        LOG(WARNING) << "MLLP connection " << peer_.connection_id << " from "
                     << HostPort(peer_.address, peer_.port)
                     << ": frame exceeds " << ctx_->options.max_frame_size
                     << " bytes; closing after the response";
        // The decoder has failed: nothing follows, so the connection closes
        // once this response is written.
        BeginFinishing(now);
        ctx_->handler->OnOversized(peer_, std::string(event.payload),
                                   MakeResponder(sequence));
      }
    }
    const FrameDecoderStats& stats = decoder_.stats();
    Bump(ctx_->counters.bytes_skipped, stats.skipped_bytes - seen_skipped_);
    Bump(ctx_->counters.bytes_discarded,
         stats.discarded_bytes - seen_discarded_);
    seen_skipped_ = stats.skipped_bytes;
    seen_discarded_ = stats.discarded_bytes;
  }

  Responder MakeResponder(uint64_t sequence);

  void OnResponse(uint64_t sequence, Response response, bool dropped) {
    if (phase_ == Phase::kClosing || phase_ == Phase::kClosed) return;
    if (dropped) {
      Bump(ctx_->counters.responders_dropped);
      LOG(ERROR) << "MLLP connection " << peer_.connection_id
                 << ": responder for frame " << sequence
                 << " destroyed without a response; closing the connection";
    }
    if (!sequencer_.Complete(sequence, std::move(response))) {
      LOG(DFATAL) << "MLLP connection " << peer_.connection_id
                  << ": unexpected response for frame " << sequence;
      return;
    }
    const Clock::time_point now = Clock::now();
    Response ready;
    while (sequencer_.PopReady(&ready)) {
      if (stop_responding_) continue;  // After a close_after response.
      if (!ready.payload.empty()) {
        AppendFrame(ready.payload, &write_queue_);
        ++queued_responses_;
      }
      if (ready.close_after) {
        stop_responding_ = true;
        BeginFinishing(now);
      }
    }
    StartWrite();
    Resume(now);
    MaybeFinish();
  }

  void StartWrite() {
    if (writing_ || write_queue_.empty() ||
        (phase_ != Phase::kOpen && phase_ != Phase::kFinishing)) {
      return;
    }
    writing_ = true;
    write_started_ = Clock::now();
    write_inflight_.clear();
    write_inflight_.swap(write_queue_);
    inflight_responses_ = queued_responses_;
    queued_responses_ = 0;
    auto handler =
        OnStrand([self = shared_from_this()](const asio::error_code& ec,
                                             size_t) { self->OnWrite(ec); });
    if (tls_) {
      asio::async_write(*tls_, asio::buffer(write_inflight_),
                        std::move(handler));
    } else {
      asio::async_write(*plain_, asio::buffer(write_inflight_),
                        std::move(handler));
    }
  }

  void OnWrite(const asio::error_code& ec) {
    writing_ = false;
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      VLOG(1) << "MLLP connection " << peer_.connection_id
              << ": write error: " << ec.message();
      Close();
      return;
    }
    Bump(ctx_->counters.responses_sent, inflight_responses_);
    inflight_responses_ = 0;
    if (write_inflight_.capacity() > kRetainedWriteCapacity) {
      std::string().swap(write_inflight_);
    }
    const Clock::time_point now = Clock::now();
    last_activity_ = now;
    StartWrite();
    Resume(now);
    MaybeFinish();
  }

  // After the backlog shrank: hand over frames already decoded, read again.
  void Resume(Clock::time_point now) {
    if (phase_ != Phase::kOpen) return;
    if (!decoder_drained_) HandOff(now);
    ReadMore();
    UpdateSlowSender(now, 0);
  }

  // The slowloris check applies while a frame is partial and we are waiting
  // for its bytes (not while we hold off reading).
  void UpdateSlowSender(Clock::time_point now, uint64_t bytes) {
    slow_.Update(now, bytes,
                 phase_ == Phase::kOpen && reading_ && decoder_.in_frame());
    const std::optional<Clock::time_point> check = slow_.next_check();
    if (check.has_value() && *check < timer_.expiry()) {
      timer_.expires_at(*check);  // Restarts the wait chain (see OnTimer).
    }
  }

  void BeginFinishing(Clock::time_point now) {
    if (phase_ != Phase::kOpen) return;
    phase_ = Phase::kFinishing;
    slow_.Update(now, 0, false);
  }

  // Closes gracefully once a finishing connection owes nothing more.
  void MaybeFinish() {
    if (phase_ != Phase::kFinishing || writing_ || !write_queue_.empty()) {
      return;
    }
    if (!stop_responding_ && sequencer_.pending() > 0) return;
    BeginClosing();
  }

  void Drain() {
    if (phase_ == Phase::kHandshake) {
      Close();
      return;
    }
    BeginFinishing(Clock::now());
    MaybeFinish();
  }

  // Graceful close, bounded by close_linger: stop reading, send TLS
  // close_notify, half-close, then discard input until the peer closes, so
  // the last response is not lost to a TCP reset.
  void BeginClosing() {
    if (phase_ == Phase::kClosing || phase_ == Phase::kClosed) return;
    if (phase_ == Phase::kHandshake) {
      Close();
      return;
    }
    phase_ = Phase::kClosing;
    timer_.expires_at(Clock::now() + ToClock(ctx_->options.close_linger));
    if (reading_) {
      // No write is outstanding here, so cancel only aborts the read; its
      // handler continues with ContinueClosing().
      asio::error_code ignored;
      socket().cancel(ignored);
      return;
    }
    ContinueClosing();
  }

  void ContinueClosing() {
    if (tls_ && !tls_shutdown_done_) {
      tls_shutdown_done_ = true;
      tls_->async_shutdown(
          OnStrand([self = shared_from_this()](const asio::error_code&) {
            if (self->phase_ == Phase::kClosing) self->ContinueClosing();
          }));
      return;
    }
    asio::error_code ignored;
    socket().shutdown(Tcp::socket::shutdown_send, ignored);
    linger_buffer_ = std::make_unique<char[]>(kLingerChunk);
    LingerRead();
  }

  void LingerRead() {
    socket().async_read_some(asio::buffer(linger_buffer_.get(), kLingerChunk),
                             OnStrand([self = shared_from_this()](
                                          const asio::error_code& ec, size_t) {
                               if (self->phase_ != Phase::kClosing) return;
                               if (ec) {
                                 self->Close();
                               } else {
                                 self->LingerRead();
                               }
                             }));
  }

  // Immediate close: aborts every outstanding operation.
  void Close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    timer_.cancel();
    asio::error_code ignored;
    socket().close(ignored);
    VLOG(1) << "MLLP connection " << peer_.connection_id << " closed";
    ctx_->Unregister(peer_.connection_id, peer_.address);
  }

  // One wait on timer_ is outstanding from Start() until Close(). Changing
  // the expiry cancels it; its handler then re-arms for the new expiry.
  void ArmTimer() {
    timer_.async_wait(
        OnStrand([self = shared_from_this()](const asio::error_code&) {
          self->OnTimer();
        }));
  }

  void OnTimer() {
    if (phase_ == Phase::kClosed) return;
    const Clock::time_point now = Clock::now();
    if (now >= timer_.expiry()) OnDeadline(now);
    if (phase_ == Phase::kClosed) return;
    ArmTimer();
  }

  void OnDeadline(Clock::time_point now) {
    switch (phase_) {
      case Phase::kHandshake:
        Bump(ctx_->counters.tls_handshake_failures);
        LOG(WARNING) << "MLLP connection " << peer_.connection_id << " from "
                     << HostPort(peer_.address, peer_.port)
                     << ": TLS handshake timed out";
        ctx_->handler->OnTlsRefused(peer_, "handshake timed out");
        Close();
        return;
      case Phase::kClosing:  // Linger over.
      case Phase::kClosed:
        Close();
        return;
      case Phase::kOpen:
      case Phase::kFinishing:
        if (slow_.TooSlow(now)) {
          Bump(ctx_->counters.slow_sender_closes);
          LOG(WARNING) << "MLLP connection " << peer_.connection_id << " from "
                       << HostPort(peer_.address, peer_.port)
                       << ": closing slow sender (" << decoder_.pending_bytes()
                       << " bytes of a frame buffered)";
          Close();
          return;
        }
        if (writing_ && now - write_started_ >= idle_timeout_) {
          // The peer has not read its responses for that long.
          Bump(ctx_->counters.idle_timeouts);
          LOG(WARNING) << "MLLP connection " << peer_.connection_id << " from "
                       << HostPort(peer_.address, peer_.port)
                       << ": closing, peer not reading its responses";
          Close();
          return;
        }
        if (!Owed() && now - last_activity_ >= idle_timeout_) {
          Bump(ctx_->counters.idle_timeouts);
          VLOG(1) << "MLLP connection " << peer_.connection_id
                  << ": idle timeout";
          BeginClosing();
          return;
        }
        ScheduleChecks(now);
        return;
    }
  }

  // Sets the timer to the next idle, stalled-write or slow-sender check.
  void ScheduleChecks(Clock::time_point now) {
    Clock::time_point next = (Owed() ? now : last_activity_) + idle_timeout_;
    if (writing_) next = std::min(next, write_started_ + idle_timeout_);
    if (const auto check = slow_.next_check()) next = std::min(next, *check);
    timer_.expires_at(next);
  }

  ServerContext* const ctx_;  // Outlives every connection (see ServerContext).
  const Strand strand_;
  asio::steady_timer timer_;
  // Exactly one of these is set.
  std::optional<Tcp::socket> plain_;
  std::optional<asio::ssl::stream<Tcp::socket>> tls_;
  PeerInfo peer_;
  FrameDecoder decoder_;
  ResponseSequencer sequencer_;
  SlowSenderDetector slow_;
  const Clock::duration idle_timeout_;

  Phase phase_ = Phase::kHandshake;
  bool reading_ = false;          // A read into decoder_ is outstanding.
  bool decoder_drained_ = true;   // decoder_.Next() returned false last.
  bool writing_ = false;          // write_inflight_ is being written.
  bool stop_responding_ = false;  // A close_after response was queued.
  bool tls_shutdown_done_ = false;
  std::string write_queue_;          // Framed responses not yet being written.
  std::string write_inflight_;       // Framed responses being written.
  size_t queued_responses_ = 0;      // Non-empty responses in write_queue_.
  size_t inflight_responses_ = 0;    // Non-empty responses in write_inflight_.
  Clock::time_point last_activity_;  // Last byte read or response written.
  Clock::time_point write_started_;  // When the current write began.
  std::unique_ptr<char[]> linger_buffer_;
  uint64_t seen_skipped_ = 0;  // decoder_ stats already added to counters.
  uint64_t seen_discarded_ = 0;
};

// Shared by the copies of one Responder.
class ResponseSlot {
 public:
  ResponseSlot(std::shared_ptr<PostGate> gate, std::weak_ptr<Connection> conn,
               uint64_t sequence)
      : gate_(std::move(gate)), conn_(std::move(conn)), sequence_(sequence) {}
  ResponseSlot(const ResponseSlot&) = delete;
  ResponseSlot& operator=(const ResponseSlot&) = delete;

  ~ResponseSlot() {
    if (!called_.load(std::memory_order_acquire)) {
      Deliver(Response{std::string(), /*close_after=*/true}, /*dropped=*/true);
    }
  }

  void Call(Response response) {
    if (called_.exchange(true, std::memory_order_acq_rel)) {
      LOG(DFATAL) << "MLLP Responder for frame " << sequence_
                  << " called more than once";
      return;
    }
    Deliver(std::move(response), /*dropped=*/false);
  }

 private:
  void Deliver(Response response, bool dropped) {
    std::shared_lock<std::shared_mutex> lock(gate_->mu);
    if (!gate_->open) return;  // The server is gone.
    std::shared_ptr<Connection> conn = conn_.lock();
    if (conn == nullptr) return;  // The connection is gone.
    conn->PostResponse(sequence_, std::move(response), dropped);
  }

  const std::shared_ptr<PostGate> gate_;
  const std::weak_ptr<Connection> conn_;
  const uint64_t sequence_;
  std::atomic<bool> called_{false};
};

Responder Connection::MakeResponder(uint64_t sequence) {
  auto slot =
      std::make_shared<ResponseSlot>(ctx_->gate, weak_from_this(), sequence);
  return [slot = std::move(slot)](Response response) {
    slot->Call(std::move(response));
  };
}

absl::Status ValidateOptions(const ServerOptions& options) {
  if (options.io_threads < 1) {
    return absl::InvalidArgumentError("MLLP: io_threads must be at least 1");
  }
  if (options.max_frame_size < 1) {
    return absl::InvalidArgumentError(
        "MLLP: max_frame_size must be at least 1");
  }
  if (options.read_idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "MLLP: read_idle_timeout must be positive");
  }
  if (options.min_bytes_per_second > 0 &&
      options.slow_sender_window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "MLLP: slow_sender_window must be positive when "
        "min_bytes_per_second is set");
  }
  if (options.max_connections < 1 || options.max_connections_per_address < 1) {
    return absl::InvalidArgumentError(
        "MLLP: max_connections and max_connections_per_address must be at "
        "least 1");
  }
  if (options.max_unanswered_frames < 1) {
    return absl::InvalidArgumentError(
        "MLLP: max_unanswered_frames must be at least 1");
  }
  if (options.close_linger < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "MLLP: close_linger must not be negative");
  }
  if (options.tls.has_value() &&
      options.tls->handshake_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "MLLP TLS: handshake_timeout must be positive");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckTlsFileReadable(const char* server, const std::string& path,
                                  const char* option) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(server, ": ", option, " is required"));
  }
  if (access(path.c_str(), R_OK) != 0) {
    const int err = errno;
    return absl::FailedPreconditionError(absl::StrCat(
        server, ": cannot read ", option, " '", path, "': ", strerror(err)));
  }
  return absl::OkStatus();
}

class Server::Impl {
 public:
  Impl(const ServerOptions& options, FrameHandler* handler)
      : ctx_(options, handler),
        io_(std::make_unique<asio::io_context>(options.io_threads)),
        acceptor_strand_(asio::make_strand(*io_)),
        acceptor_(std::in_place, *acceptor_strand_),
        accept_retry_timer_(std::in_place, *acceptor_strand_) {}

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  ~Impl() {
    // Threads are joined (Shutdown) or were never started. Destroy the I/O
    // objects, then the io_context (and any connection its queued handlers
    // still own) while ctx_ is alive.
    {
      std::unique_lock<std::shared_mutex> lock(ctx_.gate->mu);
      ctx_.gate->open = false;
    }
    work_.reset();
    accept_retry_timer_.reset();
    acceptor_.reset();
    acceptor_strand_.reset();
    io_.reset();
  }

  absl::Status SetUpTls(const TlsOptions& tls) {
    RETURN_IF_ERROR(CheckReadable(tls.cert_file, "tls.cert_file"));
    RETURN_IF_ERROR(CheckReadable(tls.key_file, "tls.key_file"));
    if (tls.require_client_cert && tls.ca_file.empty()) {
      return absl::InvalidArgumentError(
          "MLLP TLS: tls.ca_file is required with require_client_cert");
    }
    if (!tls.ca_file.empty()) {
      RETURN_IF_ERROR(CheckReadable(tls.ca_file, "tls.ca_file"));
    }
    ERR_clear_error();
    SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
    if (raw == nullptr) {
      return absl::InternalError(
          absl::StrCat("MLLP TLS: SSL_CTX_new: ", crypto::OpenSslErrors()));
    }
    ssl_ctx_.emplace(raw);  // Takes ownership.
    ctx_.tls = &*ssl_ctx_;
    if (SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) != 1) {
      return absl::InternalError(
          absl::StrCat("MLLP TLS: cannot require TLS 1.2: ", crypto::OpenSslErrors()));
    }
    SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(raw, tls.cert_file.c_str()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("MLLP TLS: cannot load certificate from tls.cert_file '",
                       tls.cert_file, "': ", crypto::OpenSslErrors()));
    }
    if (SSL_CTX_use_PrivateKey_file(raw, tls.key_file.c_str(),
                                    SSL_FILETYPE_PEM) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("MLLP TLS: cannot load private key from tls.key_file '",
                       tls.key_file, "': ", crypto::OpenSslErrors()));
    }
    if (SSL_CTX_check_private_key(raw) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("MLLP TLS: tls.key_file '", tls.key_file,
                       "' does not match the certificate in '", tls.cert_file,
                       "': ", crypto::OpenSslErrors()));
    }
    if (!tls.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(raw, tls.ca_file.c_str(), nullptr) !=
          1) {
        return absl::InvalidArgumentError(
            absl::StrCat("MLLP TLS: cannot load CA certificates from "
                         "tls.ca_file '",
                         tls.ca_file, "': ", crypto::OpenSslErrors()));
      }
      // Tell clients which CAs we accept, so they pick the right cert.
      if (STACK_OF(X509_NAME)* names =
              SSL_load_client_CA_file(tls.ca_file.c_str())) {
        SSL_CTX_set_client_CA_list(raw, names);  // Takes ownership.
      }
      SSL_CTX_set_verify(
          raw,
          SSL_VERIFY_PEER |
              (tls.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
          nullptr);
      // Session resumption with client verification needs a context id.
      static constexpr unsigned char kSessionContext[] = "appliance-mllp";
      SSL_CTX_set_session_id_context(raw, kSessionContext,
                                     sizeof(kSessionContext) - 1);
    }
    ERR_clear_error();
    return absl::OkStatus();
  }

  absl::Status Listen() {
    const ServerOptions& options = ctx_.options;
    std::string host = options.bind_address;
    if (absl::AsciiStrToLower(host) == "localhost") host = "127.0.0.1";
    asio::error_code ec;
    const asio::ip::address address = asio::ip::make_address(host, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("MLLP: bind_address '", options.bind_address,
                       "' is not a numeric IP address or 'localhost'"));
    }
    const Tcp::endpoint endpoint(address, options.port);
    const std::string where = HostPort(address.to_string(), options.port);
    auto fail = [&](const char* what) {
      return absl::UnavailableError(absl::StrCat("MLLP: cannot ", what, " on ",
                                                 where, ": ", ec.message()));
    };
    acceptor_->open(endpoint.protocol(), ec);
    if (ec) return fail("open a socket");
    acceptor_->set_option(Tcp::acceptor::reuse_address(true), ec);
    if (ec) return fail("set SO_REUSEADDR");
    acceptor_->bind(endpoint, ec);
    if (ec) return fail("bind");
    acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen");
    const Tcp::endpoint local = acceptor_->local_endpoint(ec);
    if (ec) return fail("read the bound address");
    port_ = local.port();
    LOG(INFO) << "MLLP server listening on "
              << HostPort(address.to_string(), port_)
              << (options.tls ? " (TLS)" : " (plain TCP)");
    return absl::OkStatus();
  }

  void StartThreads() {
    work_.emplace(io_->get_executor());
    asio::post(*acceptor_strand_, [this] { Accept(); });
    threads_.reserve(ctx_.options.io_threads);
    for (int i = 0; i < ctx_.options.io_threads; ++i) {
      threads_.emplace_back([this] { io_->run(); });
    }
  }

  void Shutdown(absl::Duration grace) {
    {
      std::lock_guard<std::mutex> lock(shutdown_mu_);
      if (shut_down_) return;
      shut_down_ = true;
    }
    LOG(INFO) << "MLLP server on port " << port_ << " shutting down (grace "
              << absl::FormatDuration(grace) << ")";
    {
      std::lock_guard<std::mutex> lock(ctx_.mu);
      ctx_.draining = true;
    }
    asio::post(*acceptor_strand_, [this] {
      asio::error_code ignored;
      acceptor_->close(ignored);
      accept_retry_timer_->cancel();
    });
    for (const auto& conn : ctx_.Snapshot()) conn->PostDrain();
    {
      std::unique_lock<std::mutex> lock(ctx_.mu);
      ctx_.cv.wait_for(lock, ToClock(grace),
                       [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
                         return ctx_.connections.empty();
                       });
    }
    const std::vector<std::shared_ptr<Connection>> remaining = ctx_.Snapshot();
    if (!remaining.empty()) {
      LOG(WARNING) << "MLLP server: closing " << remaining.size()
                   << " connection(s) still open after the grace period";
    }
    for (const auto& conn : remaining) conn->PostClose();
    work_.reset();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
    {
      std::unique_lock<std::shared_mutex> lock(ctx_.gate->mu);
      ctx_.gate->open = false;
    }
    LOG(INFO) << "MLLP server on port " << port_ << " stopped";
  }

  uint16_t port() const { return port_; }

  ServerStats stats() const {
    const Counters& c = ctx_.counters;
    auto get = [](const std::atomic<uint64_t>& v) {
      return v.load(std::memory_order_relaxed);
    };
    ServerStats s;
    s.connections_accepted = get(c.connections_accepted);
    s.connections_active = get(c.connections_active);
    s.connections_rejected_limit = get(c.connections_rejected_limit);
    s.frames_received = get(c.frames_received);
    s.frames_oversized = get(c.frames_oversized);
    s.bytes_skipped = get(c.bytes_skipped);
    s.bytes_discarded = get(c.bytes_discarded);
    s.idle_timeouts = get(c.idle_timeouts);
    s.slow_sender_closes = get(c.slow_sender_closes);
    s.tls_handshake_failures = get(c.tls_handshake_failures);
    s.responses_sent = get(c.responses_sent);
    s.responders_dropped = get(c.responders_dropped);
    return s;
  }

 private:
  // Runs on acceptor_strand_.
  void Accept() {
    if (!acceptor_->is_open()) return;
    Strand strand = asio::make_strand(*io_);
    auto socket = std::make_shared<Tcp::socket>(strand);
    acceptor_->async_accept(
        *socket,
        asio::bind_executor(*acceptor_strand_,
                            [this, socket, strand](const asio::error_code& ec) {
                              OnAccept(ec, std::move(*socket), strand);
                            }));
  }

  void OnAccept(const asio::error_code& ec, Tcp::socket socket, Strand strand) {
    if (!acceptor_->is_open()) return;  // Shutting down.
    if (ec) {
      LOG(WARNING) << "MLLP server: accept failed: " << ec.message();
      accept_retry_timer_->expires_after(kAcceptRetryDelay);
      accept_retry_timer_->async_wait(asio::bind_executor(
          *acceptor_strand_, [this](const asio::error_code& wait_ec) {
            if (!wait_ec) Accept();
          }));
      return;
    }
    Accept();  // Keep accepting while this one is set up.

    asio::error_code endpoint_ec;
    const Tcp::endpoint remote = socket.remote_endpoint(endpoint_ec);
    if (endpoint_ec) {  // Already gone.
      asio::error_code ignored;
      socket.close(ignored);
      return;
    }
    PeerInfo peer;
    peer.address = Normalize(remote.address());
    peer.port = remote.port();
    peer.tls = ctx_.tls != nullptr;

    std::shared_ptr<Connection> conn;
    {
      std::lock_guard<std::mutex> lock(ctx_.mu);
      const ServerOptions& options = ctx_.options;
      if (ctx_.draining) {
        asio::error_code ignored;
        socket.close(ignored);
        return;
      }
      int& from_address = ctx_.per_address[peer.address];
      const bool over_total = ctx_.connections.size() >=
                              static_cast<size_t>(options.max_connections);
      const bool over_address =
          from_address >= options.max_connections_per_address;
      if (over_total || over_address) {
        if (from_address == 0) ctx_.per_address.erase(peer.address);
        Bump(ctx_.counters.connections_rejected_limit);
        LOG_EVERY_N(WARNING, 100)
            << "MLLP server: rejected connection from "
            << HostPort(peer.address, peer.port) << ": "
            << (over_total ? "max_connections" : "max_connections_per_address")
            << " reached (" << google::COUNTER << " rejection(s) so far)";
        asio::error_code ignored;
        socket.close(ignored);
        return;
      }
      peer.connection_id = ++next_connection_id_;
      ++from_address;
      conn = std::make_shared<Connection>(&ctx_, std::move(strand),
                                          std::move(socket), peer);
      ctx_.connections.emplace(peer.connection_id, conn);
      Bump(ctx_.counters.connections_accepted);
      Bump(ctx_.counters.connections_active);
    }
    conn->PostStart();
  }

  ServerContext ctx_;
  // Owns the SSL_CTX; ctx_.tls points here. Declared before io_ so TLS
  // streams never outlive it.
  std::optional<asio::ssl::context> ssl_ctx_;
  std::unique_ptr<asio::io_context> io_;
  // The I/O objects below must go before io_ (see ~Impl), hence optional.
  std::optional<Strand> acceptor_strand_;
  std::optional<Tcp::acceptor> acceptor_;  // Used on acceptor_strand_.
  std::optional<asio::steady_timer> accept_retry_timer_;  // Likewise.
  uint64_t next_connection_id_ = 0;  // Used on acceptor_strand_.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>>
      work_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerOptions& options, FrameHandler* handler) {
  if (handler == nullptr) {
    return absl::InvalidArgumentError("MLLP: a FrameHandler is required");
  }
  RETURN_IF_ERROR(ValidateOptions(options));
  if (!options.tls.has_value() && !IsLoopbackAddress(options.bind_address)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "MLLP: refusing to listen on non-loopback address '",
        options.bind_address,
        "' without TLS; configure TLS (certificate and key) or bind to "
        "127.0.0.1"));
  }
  auto impl = std::make_unique<Impl>(options, handler);
  if (options.tls.has_value()) RETURN_IF_ERROR(impl->SetUpTls(*options.tls));
  RETURN_IF_ERROR(impl->Listen());
  impl->StartThreads();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { impl_->Shutdown(absl::ZeroDuration()); }

uint16_t Server::port() const { return impl_->port(); }

ServerStats Server::stats() const { return impl_->stats(); }

void Server::Shutdown(absl::Duration grace) { impl_->Shutdown(grace); }

}  // namespace appliance::mllp
