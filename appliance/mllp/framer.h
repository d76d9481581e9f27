// MLLP (Minimal Lower Layer Protocol, HL7 v2 Implementation Guide appendix C)
// framing codec. Pure: no sockets, no clocks, no threads.
//
// A frame on the wire is
//
//   0x0B  payload  0x1C 0x0D
//
// FrameDecoder turns a byte stream, fed in chunks of any size, into the
// sequence of frame payloads it carries. It is tolerant of what real senders
// put on the wire and strict about what could exhaust memory:
//
//  * Between frames, NUL, CR and LF bytes (keep-alives, a stray line end after
//    the trailer) are skipped and counted in `filler_bytes`; any other byte
//    outside a frame (noise, a sender that forgot the start block) is skipped
//    and counted in `skipped_bytes`. Both are dropped, never delivered.
//  * 0x1C followed by any byte other than 0x0D ends the frame anyway; this is
//    counted in `missing_cr` and that byte is processed again as the first
//    byte after the frame (so "...0x1C 0x0B..." starts the next frame). A
//    0x1C that is the last byte fed so far stays pending until the next byte
//    arrives: a pure codec cannot wait "a short while" for the CR, and the
//    standard trailer always has one.
//  * 0x0B inside a frame (a sender that gave up on a frame and started over)
//    discards the partial frame and starts a new one; counted in
//    `restarted_frames`, the discarded bytes (0x0B included) in
//    `discarded_bytes`.
//  * A payload longer than `max_frame_size` produces one kOversized event
//    carrying the frame's first `oversized_prefix_size` bytes (enough for the
//    MSH segment, so the server can still build an AR) as soon as byte
//    `max_frame_size + 1` of the payload has been fed, without buffering the
//    rest. The decoder then enters a terminal error state (failed() is true):
//    it ignores further input and returns no more events; the connection must
//    be closed, since the stream can no longer be resynchronised reliably.
//
// Decoded payloads never contain 0x0B or 0x1C, so EncodeFrame() of any
// decoded payload decodes back to the same payload. The event sequence and
// the counters depend only on the bytes fed, never on how they were split into
// chunks, provided Next() is drained after each Feed().
//
// Usage (one decoder per connection, not thread-safe):
//
//   FrameDecoder decoder;
//   ... on readable:
//   decoder.Feed(chunk);            // or PrepareWrite()/CommitWrite()
//   FrameDecoder::Event event;
//   while (decoder.Next(&event)) {
//     if (event.type == FrameDecoder::EventType::kOversized) { ...; close; }
//     Handle(event.payload);        // view valid until the next Feed()
//   }
#ifndef APPLIANCE_MLLP_FRAMER_H_
#define APPLIANCE_MLLP_FRAMER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace appliance::mllp {

inline constexpr char kStartBlock = '\x0b';
inline constexpr char kEndBlock = '\x1c';
inline constexpr char kCarriageReturn = '\x0d';
// Bytes of framing around each payload: start block, end block, CR.
inline constexpr size_t kFrameOverhead = 3;

// Wraps `payload` in a frame. `payload` must not contain 0x0B or 0x1C (HL7 v2
// text never does); if it does, the receiver will not decode it as one frame.
std::string EncodeFrame(std::string_view payload);
// Appends the frame for `payload` to `*out`.
void AppendFrame(std::string_view payload, std::string* out);

struct FrameDecoderOptions {
  // Largest accepted payload, in bytes (framing bytes not included).
  size_t max_frame_size = 1 << 20;
  // Bytes of an oversized frame kept for the kOversized event (capped at
  // max_frame_size).
  size_t oversized_prefix_size = 4096;
};

// Counters since construction. All are monotonic.
struct FrameDecoderStats {
  uint64_t frames = 0;            // kFrame events returned.
  uint64_t payload_bytes = 0;     // Sum of their payload sizes.
  uint64_t skipped_bytes = 0;     // Non-filler bytes outside any frame.
  uint64_t filler_bytes = 0;      // NUL, CR, LF outside any frame.
  uint64_t missing_cr = 0;        // Frames ended by 0x1C without 0x0D.
  uint64_t restarted_frames = 0;  // 0x0B inside a frame: partial dropped.
  uint64_t discarded_bytes = 0;   // Bytes of those dropped partial frames.
  uint64_t oversized = 0;         // kOversized events (0 or 1).
};

class FrameDecoder {
 public:
  enum class EventType {
    kFrame,      // `payload` is a complete frame's payload.
    kOversized,  // `payload` is the first bytes of an oversized frame.
  };
  struct Event {
    EventType type = EventType::kFrame;
    // Points into the decoder's buffer; valid until the next call to Feed(),
    // PrepareWrite() or the decoder's destruction, whichever comes first.
    // Several events returned by consecutive Next() calls stay valid together.
    std::string_view payload;
  };

  explicit FrameDecoder(FrameDecoderOptions options = FrameDecoderOptions());
  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;

  // Appends `bytes` (copied) to the stream. Invalidates the payloads of events
  // already returned. Ignored once failed().
  void Feed(std::string_view bytes);

  // Zero-copy alternative to Feed() for reading straight from a socket:
  // returns a writable region of at least `size` bytes at the end of the
  // buffer; write into it, then call CommitWrite(n) with the number of bytes
  // actually written (n <= size). Invalidates returned payloads like Feed().
  // Exactly one CommitWrite() must follow each PrepareWrite() before any other
  // call. Once failed() the region is scratch space and its contents are
  // discarded on commit.
  char* PrepareWrite(size_t size);
  void CommitWrite(size_t written);

  // Returns the next event in stream order and true, or false when more input
  // is needed or the decoder has failed (its kOversized event, returned by the
  // call that detected the oversized frame, is the last event). Drain it (call
  // until false) after every Feed() so an oversized frame is detected before
  // more of it is buffered.
  bool Next(Event* out);

  // True after a kOversized event: the connection must be closed.
  bool failed() const { return state_ == State::kFailed; }
  // True while part of a frame (or a pending trailing 0x1C) is buffered: if
  // the peer closes now, a message was cut off.
  bool in_frame() const { return state_ == State::kInFrame; }
  // Bytes held for an incomplete frame (after its 0x0B), and the size of a
  // pending 0x1C. 0 outside a frame.
  size_t pending_bytes() const;

  const FrameDecoderStats& stats() const { return stats_; }
  const FrameDecoderOptions& options() const { return options_; }

 private:
  enum class State { kIdle, kInFrame, kFailed };

  // Drops the consumed prefix of buffer_ and rebases the offsets.
  void Compact();

  const FrameDecoderOptions options_;
  State state_ = State::kIdle;
  FrameDecoderStats stats_;
  // Fed bytes; [0, consumed_) have been turned into events or skipped and are
  // only kept because returned payloads may point at them.
  std::string buffer_;
  size_t consumed_ = 0;
  // kInFrame: offset of the first payload byte (just after 0x0B).
  size_t frame_start_ = 0;
  // kInFrame: offset of the next byte to examine (all bytes in
  // [frame_start_, scan_) are ordinary payload bytes).
  size_t scan_ = 0;
  // Size of buffer_ before the outstanding PrepareWrite(), or npos.
  size_t write_base_ = std::string::npos;
};

}  // namespace appliance::mllp

#endif  // APPLIANCE_MLLP_FRAMER_H_
