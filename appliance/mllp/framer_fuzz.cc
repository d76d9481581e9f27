// libFuzzer entry point for the MLLP FrameDecoder.
//
// Input layout: byte 0 chooses the decoder options (bit 7 set: defaults,
// otherwise a small max_frame_size so oversized frames are reached), byte 1
// seeds the chunk splits, the rest is the byte stream. Checked invariants:
//  * the events and counters do not depend on how the stream is split into
//    chunks (one chunk, byte at a time, pseudo-random splits, PrepareWrite);
//  * payloads contain no 0x0B/0x1C and respect max_frame_size; a kOversized
//    event is the last one, at most one, with the documented prefix length;
//  * every byte fed is accounted for by the counters plus the pending frame;
//  * re-encoding the decoded frames with EncodeFrame() and decoding again
//    yields the same frames with no anomalies.
//
// Build with clang for real fuzzing, e.g.
//   clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address -I. -o framer_fuzz
//     appliance/mllp/framer_fuzz.cc appliance/mllp/framer.cc
// Under Bazel/gcc, framer_fuzz_smoke_test runs it over deterministic inputs.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/mllp/framer.h"

namespace appliance::mllp {
namespace {

#define FUZZ_CHECK(cond)                                                    \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                  \
      std::abort();                                                         \
    }                                                                       \
  } while (false)

struct Decoded {
  FrameDecoder::EventType type;
  std::string payload;
  bool operator==(const Decoded& o) const {
    return type == o.type && payload == o.payload;
  }
};

struct Result {
  std::vector<Decoded> events;
  FrameDecoderStats stats;
  bool failed = false;
  bool in_frame = false;
  size_t pending = 0;
};

bool SameStats(const FrameDecoderStats& a, const FrameDecoderStats& b) {
  return a.frames == b.frames && a.payload_bytes == b.payload_bytes &&
         a.skipped_bytes == b.skipped_bytes &&
         a.filler_bytes == b.filler_bytes && a.missing_cr == b.missing_cr &&
         a.restarted_frames == b.restarted_frames &&
         a.discarded_bytes == b.discarded_bytes && a.oversized == b.oversized;
}

bool SameResult(const Result& a, const Result& b) {
  return a.events == b.events && SameStats(a.stats, b.stats) &&
         a.failed == b.failed && a.in_frame == b.in_frame &&
         a.pending == b.pending;
}

void Drain(FrameDecoder* decoder, std::vector<Decoded>* out) {
  FrameDecoder::Event event;
  while (decoder->Next(&event)) {
    out->push_back({event.type, std::string(event.payload)});
  }
}

Result Finish(const FrameDecoder& decoder, std::vector<Decoded> events) {
  Result r;
  r.events = std::move(events);
  r.stats = decoder.stats();
  r.failed = decoder.failed();
  r.in_frame = decoder.in_frame();
  r.pending = decoder.pending_bytes();
  return r;
}

// Feeds `stream` in pseudo-random chunks (sizes drawn from `seed`), through
// Feed() or PrepareWrite()/CommitWrite().
Result DecodeSplit(const FrameDecoderOptions& options, std::string_view stream,
                   uint32_t seed, bool use_prepare_write) {
  FrameDecoder decoder(options);
  std::vector<Decoded> events;
  uint32_t state = seed * 2654435761u + 1;
  size_t pos = 0;
  while (pos < stream.size()) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    // Mostly small chunks, sometimes large ones.
    size_t n = (state & 0x100) ? (state % 7) + 1 : (state % 257) + 1;
    if (n > stream.size() - pos) n = stream.size() - pos;
    if (use_prepare_write) {
      char* region = decoder.PrepareWrite(n + 3);
      std::copy(stream.begin() + pos, stream.begin() + pos + n, region);
      decoder.CommitWrite(n);
    } else {
      decoder.Feed(stream.substr(pos, n));
    }
    pos += n;
    Drain(&decoder, &events);
  }
  return Finish(decoder, std::move(events));
}

Result DecodeWhole(const FrameDecoderOptions& options,
                   std::string_view stream) {
  FrameDecoder decoder(options);
  std::vector<Decoded> events;
  decoder.Feed(stream);
  Drain(&decoder, &events);
  return Finish(decoder, std::move(events));
}

Result DecodeBytewise(const FrameDecoderOptions& options,
                      std::string_view stream) {
  FrameDecoder decoder(options);
  std::vector<Decoded> events;
  for (size_t i = 0; i < stream.size(); ++i) {
    decoder.Feed(stream.substr(i, 1));
    Drain(&decoder, &events);
    FUZZ_CHECK(decoder.pending_bytes() <= options.max_frame_size + 1);
  }
  return Finish(decoder, std::move(events));
}

bool HasFramingByte(std::string_view s) {
  return s.find(kStartBlock) != std::string_view::npos ||
         s.find(kEndBlock) != std::string_view::npos;
}

void CheckInvariants(const FrameDecoderOptions& options,
                     std::string_view stream, const Result& r) {
  uint64_t frames = 0, payload_bytes = 0;
  for (size_t i = 0; i < r.events.size(); ++i) {
    const Decoded& e = r.events[i];
    FUZZ_CHECK(!HasFramingByte(e.payload));
    if (e.type == FrameDecoder::EventType::kOversized) {
      FUZZ_CHECK(i + 1 == r.events.size());
      FUZZ_CHECK(r.failed);
      FUZZ_CHECK(e.payload.size() == std::min(options.oversized_prefix_size,
                                              options.max_frame_size));
    } else {
      FUZZ_CHECK(e.payload.size() <= options.max_frame_size);
      ++frames;
      payload_bytes += e.payload.size();
    }
  }
  FUZZ_CHECK(r.stats.frames == frames);
  FUZZ_CHECK(r.stats.payload_bytes == payload_bytes);
  FUZZ_CHECK(r.stats.oversized == (r.failed ? 1u : 0u));
  FUZZ_CHECK(r.stats.missing_cr <= r.stats.frames);
  if (!r.failed) {
    const FrameDecoderStats& s = r.stats;
    const uint64_t accounted = s.payload_bytes + s.frames * kFrameOverhead -
                               s.missing_cr + s.skipped_bytes + s.filler_bytes +
                               s.discarded_bytes +
                               (r.in_frame ? 1 + r.pending : 0);
    FUZZ_CHECK(accounted == stream.size());
  }
}

// Re-encodes the frames of `r` and checks they decode to the same frames,
// cleanly, both as one stream and one by one.
void CheckReencoding(const FrameDecoderOptions& options, const Result& r) {
  std::string encoded;
  std::vector<Decoded> frames;
  for (const Decoded& e : r.events) {
    if (e.type != FrameDecoder::EventType::kFrame) continue;
    frames.push_back(e);
    AppendFrame(e.payload, &encoded);

    FrameDecoder single(options);
    single.Feed(EncodeFrame(e.payload));
    FrameDecoder::Event event;
    FUZZ_CHECK(single.Next(&event));
    FUZZ_CHECK(event.type == FrameDecoder::EventType::kFrame);
    FUZZ_CHECK(event.payload == e.payload);
    FUZZ_CHECK(!single.Next(&event));
  }
  const Result again = DecodeWhole(options, encoded);
  FUZZ_CHECK(again.events == frames);
  FUZZ_CHECK(!again.failed && !again.in_frame);
  FUZZ_CHECK(again.stats.skipped_bytes == 0 && again.stats.filler_bytes == 0 &&
             again.stats.missing_cr == 0 && again.stats.restarted_frames == 0 &&
             again.stats.discarded_bytes == 0);
}

}  // namespace
}  // namespace appliance::mllp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace appliance::mllp;  // NOLINT(build/namespaces)
  if (size < 2) return 0;
  FrameDecoderOptions options;
  if ((data[0] & 0x80) == 0) {
    options.max_frame_size = (data[0] & 0x3f) + 1;
    options.oversized_prefix_size = (data[0] >> 6) ? 4 : 4096;
  }
  const uint32_t seed = data[1];
  const std::string_view stream(reinterpret_cast<const char*>(data + 2),
                                size - 2);

  const Result whole = DecodeWhole(options, stream);
  CheckInvariants(options, stream, whole);
  FUZZ_CHECK(SameResult(whole, DecodeBytewise(options, stream)));
  FUZZ_CHECK(SameResult(whole, DecodeSplit(options, stream, seed, false)));
  FUZZ_CHECK(SameResult(whole, DecodeSplit(options, stream, seed + 1, true)));
  CheckReencoding(options, whole);
  return 0;
}
