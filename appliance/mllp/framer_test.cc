#include "appliance/mllp/framer.h"

#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace appliance::mllp {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using EventType = FrameDecoder::EventType;

constexpr char kMsh[] =
    "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240101120000||ORU^R01|MSG00001|P|2.5.1\r"
    "PID|1||12345^^^HOSP^MR||DOE^JANE\r";

// A decoded event with its payload copied out of the decoder.
struct Decoded {
  EventType type;
  std::string payload;
  bool operator==(const Decoded& o) const {
    return type == o.type && payload == o.payload;
  }
};

void PrintTo(const Decoded& d, std::ostream* os) {
  *os << (d.type == EventType::kFrame ? "Frame(" : "Oversized(")
      << ::testing::PrintToString(d.payload) << ")";
}

Decoded F(std::string payload) {
  return {EventType::kFrame, std::move(payload)};
}
Decoded Oversized(std::string prefix) {
  return {EventType::kOversized, std::move(prefix)};
}

bool operator==(const FrameDecoderStats& a, const FrameDecoderStats& b) {
  return a.frames == b.frames && a.payload_bytes == b.payload_bytes &&
         a.skipped_bytes == b.skipped_bytes &&
         a.filler_bytes == b.filler_bytes && a.missing_cr == b.missing_cr &&
         a.restarted_frames == b.restarted_frames &&
         a.discarded_bytes == b.discarded_bytes && a.oversized == b.oversized;
}

// Drains `decoder`, appending copies of the events to `*out`.
void Drain(FrameDecoder* decoder, std::vector<Decoded>* out) {
  FrameDecoder::Event event;
  while (decoder->Next(&event)) {
    out->push_back({event.type, std::string(event.payload)});
  }
}

// Feeds `chunks` one by one, draining after each.
std::vector<Decoded> DecodeChunks(FrameDecoder* decoder,
                                  const std::vector<std::string_view>& chunks) {
  std::vector<Decoded> out;
  for (std::string_view chunk : chunks) {
    decoder->Feed(chunk);
    Drain(decoder, &out);
  }
  return out;
}

std::vector<Decoded> DecodeAll(FrameDecoder* decoder, std::string_view bytes) {
  return DecodeChunks(decoder, {bytes});
}

// Total bytes accounted for by the counters plus the pending partial frame;
// equals the bytes fed while the decoder has not failed.
uint64_t AccountedBytes(const FrameDecoder& d) {
  const FrameDecoderStats& s = d.stats();
  return s.payload_bytes + s.frames * kFrameOverhead - s.missing_cr +
         s.skipped_bytes + s.filler_bytes + s.discarded_bytes +
         (d.in_frame() ? 1 + d.pending_bytes() : 0);
}

TEST(EncodeFrameTest, WrapsPayload) {
  EXPECT_EQ(EncodeFrame("ABC"), std::string("\x0b"
                                            "ABC\x1c\r"));
  EXPECT_EQ(EncodeFrame(""), std::string("\x0b\x1c\r"));
  std::string out = "x";
  AppendFrame("AB", &out);
  AppendFrame("C", &out);
  EXPECT_EQ(out, std::string("x\x0b"
                             "AB\x1c\r\x0b"
                             "C\x1c\r"));
}

TEST(FrameDecoderTest, SingleFrame) {
  FrameDecoder decoder;
  EXPECT_THAT(DecodeAll(&decoder, EncodeFrame(kMsh)), ElementsAre(F(kMsh)));
  EXPECT_EQ(decoder.stats().frames, 1u);
  EXPECT_EQ(decoder.stats().payload_bytes, strlen(kMsh));
  EXPECT_FALSE(decoder.in_frame());
  EXPECT_FALSE(decoder.failed());
  EXPECT_EQ(decoder.pending_bytes(), 0u);
}

TEST(FrameDecoderTest, EmptyPayload) {
  FrameDecoder decoder;
  EXPECT_THAT(DecodeAll(&decoder, EncodeFrame("")), ElementsAre(F("")));
}

TEST(FrameDecoderTest, PipelinedFramesInOneChunk) {
  FrameDecoder decoder;
  const std::string stream =
      EncodeFrame("MSH|1") + EncodeFrame("MSH|2") + EncodeFrame("MSH|3");
  EXPECT_THAT(DecodeAll(&decoder, stream),
              ElementsAre(F("MSH|1"), F("MSH|2"), F("MSH|3")));
  EXPECT_EQ(decoder.stats().frames, 3u);
  EXPECT_EQ(decoder.stats().payload_bytes, 15u);
}

TEST(FrameDecoderTest, PayloadsOfOneDrainStayValidTogether) {
  FrameDecoder decoder;
  decoder.Feed(EncodeFrame("first") + EncodeFrame("second"));
  FrameDecoder::Event a, b, c;
  ASSERT_TRUE(decoder.Next(&a));
  ASSERT_TRUE(decoder.Next(&b));
  EXPECT_FALSE(decoder.Next(&c));
  EXPECT_EQ(a.payload, "first");
  EXPECT_EQ(b.payload, "second");
  // Zero-copy: both point into one buffer, in stream order.
  EXPECT_LT(a.payload.data(), b.payload.data());
}

TEST(FrameDecoderTest, SkipsAndCountsBytesBeforeStartBlock) {
  FrameDecoder decoder;
  EXPECT_THAT(DecodeAll(&decoder, "junk" + EncodeFrame("A")),
              ElementsAre(F("A")));
  EXPECT_EQ(decoder.stats().skipped_bytes, 4u);
  EXPECT_EQ(decoder.stats().filler_bytes, 0u);
}

TEST(FrameDecoderTest, SkipsFillerBetweenFramesSeparately) {
  FrameDecoder decoder;
  const std::string stream = std::string("\r\n", 2) + std::string(3, '\0') +
                             EncodeFrame("A") + "\n" + EncodeFrame("B") +
                             std::string("\r\n\0", 3);
  EXPECT_THAT(DecodeAll(&decoder, stream), ElementsAre(F("A"), F("B")));
  EXPECT_EQ(decoder.stats().filler_bytes, 9u);
  EXPECT_EQ(decoder.stats().skipped_bytes, 0u);
  EXPECT_FALSE(decoder.in_frame());
}

TEST(FrameDecoderTest, StrayEndBlockOutsideFrameIsSkipped) {
  FrameDecoder decoder;
  EXPECT_THAT(DecodeAll(&decoder, "\x1c\r" + EncodeFrame("A") + "\x1c"),
              ElementsAre(F("A")));
  EXPECT_EQ(decoder.stats().skipped_bytes, 2u);
  EXPECT_EQ(decoder.stats().filler_bytes, 1u);
  EXPECT_FALSE(decoder.in_frame());
}

TEST(FrameDecoderTest, FillerInsideFrameIsPayload) {
  FrameDecoder decoder;
  const std::string payload("A\0B\r\nC", 6);
  EXPECT_THAT(DecodeAll(&decoder, EncodeFrame(payload)),
              ElementsAre(F(payload)));
  EXPECT_EQ(decoder.stats().filler_bytes, 0u);
}

TEST(FrameDecoderTest, EndBlockWithoutCrEndsFrameAndReprocessesByte) {
  FrameDecoder decoder;
  // 'X' after 0x1C is noise outside the frame; 0x0B after 0x1C starts the
  // next frame.
  EXPECT_THAT(DecodeAll(&decoder,
                        "\x0b"
                        "A\x1cX\x0b"
                        "B\x1c\x0b"
                        "C\x1c\r"),
              ElementsAre(F("A"), F("B"), F("C")));
  EXPECT_EQ(decoder.stats().missing_cr, 2u);
  EXPECT_EQ(decoder.stats().skipped_bytes, 1u);
  EXPECT_EQ(decoder.stats().frames, 3u);
}

TEST(FrameDecoderTest, EndBlockFollowedByLineFeedCountsFiller) {
  FrameDecoder decoder;
  EXPECT_THAT(DecodeAll(&decoder,
                        "\x0b"
                        "A\x1c\n"),
              ElementsAre(F("A")));
  EXPECT_EQ(decoder.stats().missing_cr, 1u);
  EXPECT_EQ(decoder.stats().filler_bytes, 1u);
}

TEST(FrameDecoderTest, EndBlockAtEndOfChunkIsPending) {
  FrameDecoder decoder;
  EXPECT_THAT(DecodeAll(&decoder,
                        "\x0b"
                        "ABC\x1c"),
              IsEmpty());
  EXPECT_TRUE(decoder.in_frame());
  EXPECT_EQ(decoder.pending_bytes(), 4u);  // "ABC" and the 0x1C.
  EXPECT_THAT(DecodeAll(&decoder, "\r"), ElementsAre(F("ABC")));
  EXPECT_EQ(decoder.stats().missing_cr, 0u);
  EXPECT_FALSE(decoder.in_frame());

  // Same, but the next chunk does not start with CR.
  EXPECT_THAT(DecodeAll(&decoder,
                        "\x0b"
                        "DEF\x1c"),
              IsEmpty());
  EXPECT_THAT(DecodeAll(&decoder,
                        "\x0b"
                        "G\x1c\r"),
              ElementsAre(F("DEF"), F("G")));
  EXPECT_EQ(decoder.stats().missing_cr, 1u);
}

TEST(FrameDecoderTest, StartBlockInsideFrameStartsOver) {
  FrameDecoder decoder;
  EXPECT_THAT(DecodeAll(&decoder,
                        "\x0b"
                        "PART\x0b"
                        "FULL\x1c\r"),
              ElementsAre(F("FULL")));
  EXPECT_EQ(decoder.stats().restarted_frames, 1u);
  EXPECT_EQ(decoder.stats().discarded_bytes, 5u);  // 0x0B + "PART".
  EXPECT_EQ(decoder.stats().frames, 1u);
}

TEST(FrameDecoderTest, RestartAcrossChunks) {
  FrameDecoder decoder;
  EXPECT_THAT(DecodeChunks(&decoder, {"\x0b"
                                      "PA",
                                      "RT", "\x0b", "OK\x1c\r"}),
              ElementsAre(F("OK")));
  EXPECT_EQ(decoder.stats().restarted_frames, 1u);
  EXPECT_EQ(decoder.stats().discarded_bytes, 5u);
}

TEST(FrameDecoderTest, MaxFrameSizeIsInclusive) {
  FrameDecoder decoder(FrameDecoderOptions{/*max_frame_size=*/10,
                                           /*oversized_prefix_size=*/4});
  const std::string ten(10, 'x');
  EXPECT_THAT(DecodeAll(&decoder, EncodeFrame(ten)), ElementsAre(F(ten)));
  EXPECT_FALSE(decoder.failed());
}

TEST(FrameDecoderTest, OversizedFrameReportsPrefixAndFails) {
  FrameDecoder decoder(FrameDecoderOptions{/*max_frame_size=*/10,
                                           /*oversized_prefix_size=*/4});
  // The first frame is fine; the second is one byte too long. Its trailer is
  // in the same chunk but the size decides.
  const std::string stream =
      EncodeFrame("ok") + EncodeFrame("MSH|567890X") + EncodeFrame("never");
  EXPECT_THAT(DecodeAll(&decoder, stream),
              ElementsAre(F("ok"), Oversized("MSH|")));
  EXPECT_TRUE(decoder.failed());
  EXPECT_FALSE(decoder.in_frame());
  EXPECT_EQ(decoder.stats().oversized, 1u);
  EXPECT_EQ(decoder.stats().frames, 1u);

  // Terminal: further input is ignored.
  EXPECT_THAT(DecodeAll(&decoder, EncodeFrame("later")), IsEmpty());
  FrameDecoder::Event event;
  EXPECT_FALSE(decoder.Next(&event));
  EXPECT_EQ(decoder.stats().oversized, 1u);
}

TEST(FrameDecoderTest, OversizedDetectedBeforeTrailerArrives) {
  FrameDecoder decoder(FrameDecoderOptions{/*max_frame_size=*/10,
                                           /*oversized_prefix_size=*/4});
  EXPECT_THAT(DecodeAll(&decoder,
                        "\x0b"
                        "0123456789"),
              IsEmpty());
  EXPECT_FALSE(decoder.failed());
  EXPECT_EQ(decoder.pending_bytes(), 10u);
  EXPECT_THAT(DecodeAll(&decoder, "A"), ElementsAre(Oversized("0123")));
  EXPECT_TRUE(decoder.failed());
}

TEST(FrameDecoderTest, OversizedPrefixCappedAtMaxFrameSize) {
  FrameDecoder decoder(FrameDecoderOptions{/*max_frame_size=*/3,
                                           /*oversized_prefix_size=*/4096});
  EXPECT_THAT(DecodeAll(&decoder,
                        "\x0b"
                        "ABCDEFG"),
              ElementsAre(Oversized("ABC")));
}

TEST(FrameDecoderTest, OversizedWithDefaultOptionsKeepsMsh) {
  FrameDecoder decoder;
  EXPECT_EQ(decoder.options().max_frame_size, 1u << 20);
  std::string payload = kMsh;
  payload.resize((1u << 20) + 1, 'O');
  std::vector<Decoded> events;
  // In 64 KiB chunks, as a server would read them.
  const std::string stream = EncodeFrame(payload);
  for (size_t i = 0; i < stream.size(); i += 65536) {
    decoder.Feed(std::string_view(stream).substr(i, 65536));
    Drain(&decoder, &events);
  }
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::kOversized);
  EXPECT_EQ(events[0].payload, payload.substr(0, 4096));
  EXPECT_EQ(events[0].payload.substr(0, strlen(kMsh)), kMsh);
}

TEST(FrameDecoderTest, OversizedByteAtATimeBuffersAtMostTheLimit) {
  FrameDecoder decoder(FrameDecoderOptions{/*max_frame_size=*/100,
                                           /*oversized_prefix_size=*/8});
  const std::string stream = "\x0b" + std::string(500, 'z');
  std::vector<Decoded> events;
  for (char c : stream) {
    decoder.Feed(std::string_view(&c, 1));
    Drain(&decoder, &events);
    EXPECT_LE(decoder.pending_bytes(), 100u);
  }
  EXPECT_THAT(events, ElementsAre(Oversized("zzzzzzzz")));
}

TEST(FrameDecoderTest, RestartResetsSizeLimit) {
  FrameDecoder decoder(FrameDecoderOptions{/*max_frame_size=*/10,
                                           /*oversized_prefix_size=*/4});
  const std::string eight(8, 'e');
  EXPECT_THAT(DecodeAll(&decoder, "\x0b" + eight + EncodeFrame(eight)),
              ElementsAre(F(eight)));
  EXPECT_FALSE(decoder.failed());
  EXPECT_EQ(decoder.stats().restarted_frames, 1u);
}

TEST(FrameDecoderTest, ByteAtATime) {
  FrameDecoder decoder;
  const std::string stream =
      "\r\n" + EncodeFrame(kMsh) + "noise" + EncodeFrame("B") + EncodeFrame("");
  std::vector<Decoded> events;
  for (char c : stream) {
    decoder.Feed(std::string_view(&c, 1));
    Drain(&decoder, &events);
  }
  EXPECT_THAT(events, ElementsAre(F(kMsh), F("B"), F("")));
  EXPECT_EQ(decoder.stats().filler_bytes, 2u);
  EXPECT_EQ(decoder.stats().skipped_bytes, 5u);
  EXPECT_EQ(AccountedBytes(decoder), stream.size());
}

// A stream exercising every behaviour but the oversized one.
std::string MixedStream() {
  return std::string("\0\r\n", 3) + "garbage" + EncodeFrame("MSH|1\rPID|1") +
         EncodeFrame("") +
         "\x0b"
         "A\x1cZ" +
         "\x0b"
         "broken\x0b"
         "MSH|2\x1c\r" +
         "\n" +
         "\x0b"
         "B\x1c\x0b"
         "C\x1c\r" +
         EncodeFrame("MSH|3") +
         "\x0b"
         "partial";
}

TEST(FrameDecoderTest, MixedStreamCounters) {
  FrameDecoder decoder;
  const std::string stream = MixedStream();
  EXPECT_THAT(DecodeAll(&decoder, stream),
              ElementsAre(F("MSH|1\rPID|1"), F(""), F("A"), F("MSH|2"), F("B"),
                          F("C"), F("MSH|3")));
  const FrameDecoderStats& s = decoder.stats();
  EXPECT_EQ(s.frames, 7u);
  EXPECT_EQ(s.skipped_bytes, 7u + 1u);  // "garbage" and 'Z'.
  EXPECT_EQ(s.filler_bytes, 4u);
  EXPECT_EQ(s.missing_cr, 2u);
  EXPECT_EQ(s.restarted_frames, 1u);
  EXPECT_EQ(s.discarded_bytes, 7u);
  EXPECT_EQ(s.oversized, 0u);
  EXPECT_TRUE(decoder.in_frame());
  EXPECT_EQ(decoder.pending_bytes(), 7u);
  EXPECT_EQ(AccountedBytes(decoder), stream.size());
}

// Splitting the stream anywhere, once or twice, changes neither the events
// nor the counters.
TEST(FrameDecoderTest, SplitAtEveryPosition) {
  const std::string stream = MixedStream();
  const std::string_view s(stream);
  FrameDecoder reference;
  const std::vector<Decoded> expected = DecodeAll(&reference, stream);

  for (size_t i = 0; i <= s.size(); ++i) {
    FrameDecoder decoder;
    ASSERT_EQ(DecodeChunks(&decoder, {s.substr(0, i), s.substr(i)}), expected)
        << "split at " << i;
    ASSERT_TRUE(decoder.stats() == reference.stats()) << "split at " << i;
    ASSERT_EQ(decoder.pending_bytes(), reference.pending_bytes());
  }
  for (size_t i = 0; i <= s.size(); ++i) {
    for (size_t j = i; j <= s.size(); ++j) {
      FrameDecoder decoder;
      ASSERT_EQ(DecodeChunks(&decoder,
                             {s.substr(0, i), s.substr(i, j - i), s.substr(j)}),
                expected)
          << "split at " << i << " and " << j;
      ASSERT_TRUE(decoder.stats() == reference.stats());
    }
  }
}

TEST(FrameDecoderTest, OversizedSplitAtEveryPosition) {
  const FrameDecoderOptions options{/*max_frame_size=*/12,
                                    /*oversized_prefix_size=*/5};
  const std::string stream = EncodeFrame("MSH|ok") +
                             "\x0b"
                             "big\x0b" +
                             EncodeFrame("MSH|0123456789") + EncodeFrame("x");
  const std::string_view s(stream);
  FrameDecoder reference(options);
  const std::vector<Decoded> expected = DecodeAll(&reference, stream);
  ASSERT_THAT(expected, ElementsAre(F("MSH|ok"), Oversized("MSH|0")));
  for (size_t i = 0; i <= s.size(); ++i) {
    for (size_t j = i; j <= s.size(); ++j) {
      FrameDecoder decoder(options);
      ASSERT_EQ(DecodeChunks(&decoder,
                             {s.substr(0, i), s.substr(i, j - i), s.substr(j)}),
                expected)
          << "split at " << i << " and " << j;
      ASSERT_TRUE(decoder.stats() == reference.stats());
    }
  }
}

TEST(FrameDecoderTest, LargeFrameInSmallChunks) {
  FrameDecoder decoder;
  std::string payload;
  for (int i = 0; payload.size() < 900000; ++i) {
    payload += "OBX|" + std::to_string(i) + "|NM|GLU^Glucose||5.5|mmol/L\r";
  }
  const std::string stream = EncodeFrame(payload) + EncodeFrame(kMsh);
  std::vector<Decoded> events;
  for (size_t i = 0; i < stream.size(); i += 1000) {
    decoder.Feed(std::string_view(stream).substr(i, 1000));
    Drain(&decoder, &events);
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0] == F(payload));
  EXPECT_TRUE(events[1] == F(kMsh));
}

TEST(FrameDecoderTest, PrepareAndCommitWrite) {
  FrameDecoder decoder;
  const std::string stream = EncodeFrame("MSH|1") + EncodeFrame("MSH|2");
  std::vector<Decoded> events;
  // Write into the decoder's own buffer, committing fewer bytes than asked.
  size_t pos = 0;
  while (pos < stream.size()) {
    char* region = decoder.PrepareWrite(4);
    const size_t n = std::min<size_t>(3, stream.size() - pos);
    memcpy(region, stream.data() + pos, n);
    decoder.CommitWrite(n);
    pos += n;
    Drain(&decoder, &events);
  }
  EXPECT_THAT(events, ElementsAre(F("MSH|1"), F("MSH|2")));
  EXPECT_EQ(AccountedBytes(decoder), stream.size());

  // Committing nothing (EOF or EAGAIN) changes nothing.
  decoder.PrepareWrite(1024);
  decoder.CommitWrite(0);
  Drain(&decoder, &events);
  EXPECT_EQ(events.size(), 2u);
  EXPECT_EQ(AccountedBytes(decoder), stream.size());
}

TEST(FrameDecoderTest, PrepareWriteAfterFailureIsScratch) {
  FrameDecoder decoder(FrameDecoderOptions{/*max_frame_size=*/2,
                                           /*oversized_prefix_size=*/2});
  EXPECT_THAT(DecodeAll(&decoder,
                        "\x0b"
                        "abc"),
              ElementsAre(Oversized("ab")));
  char* region = decoder.PrepareWrite(16);
  memcpy(region, EncodeFrame("x").data(), 4);
  decoder.CommitWrite(4);
  FrameDecoder::Event event;
  EXPECT_FALSE(decoder.Next(&event));
  EXPECT_TRUE(decoder.failed());
}

TEST(FrameDecoderTest, EmptyFeedIsHarmless) {
  FrameDecoder decoder;
  EXPECT_THAT(DecodeChunks(&decoder, {"", "\x0b", "", "A\x1c", "", "\r", ""}),
              ElementsAre(F("A")));
}

}  // namespace
}  // namespace appliance::mllp
