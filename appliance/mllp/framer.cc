#include "appliance/mllp/framer.h"

#include <algorithm>
#include <cassert>

namespace appliance::mllp {
namespace {

// Capacity above which an emptied buffer is released, so one large frame does
// not pin a megabyte per idle connection.
constexpr size_t kRetainedCapacity = 64 * 1024;

bool IsFiller(char c) { return c == '\0' || c == '\r' || c == '\n'; }

}  // namespace

void AppendFrame(std::string_view payload, std::string* out) {
  out->reserve(out->size() + payload.size() + kFrameOverhead);
  out->push_back(kStartBlock);
  out->append(payload.data(), payload.size());
  out->push_back(kEndBlock);
  out->push_back(kCarriageReturn);
}

std::string EncodeFrame(std::string_view payload) {
  std::string out;
  AppendFrame(payload, &out);
  return out;
}

FrameDecoder::FrameDecoder(FrameDecoderOptions options) : options_(options) {}

size_t FrameDecoder::pending_bytes() const {
  return state_ == State::kInFrame ? buffer_.size() - frame_start_ : 0;
}

void FrameDecoder::Compact() {
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    frame_start_ -= std::min(frame_start_, consumed_);
    scan_ -= std::min(scan_, consumed_);
    consumed_ = 0;
  }
  if (buffer_.empty() && buffer_.capacity() > kRetainedCapacity) {
    std::string().swap(buffer_);
  }
}

void FrameDecoder::Feed(std::string_view bytes) {
  assert(write_base_ == std::string::npos);
  if (failed()) {
    std::string().swap(buffer_);  // The kOversized prefix may go now.
    return;
  }
  Compact();
  buffer_.append(bytes.data(), bytes.size());
}

char* FrameDecoder::PrepareWrite(size_t size) {
  assert(write_base_ == std::string::npos);
  if (failed()) {
    buffer_.clear();
  } else {
    Compact();
  }
  write_base_ = buffer_.size();
  buffer_.resize(write_base_ + size);
  return buffer_.data() + write_base_;
}

void FrameDecoder::CommitWrite(size_t written) {
  assert(write_base_ != std::string::npos);
  assert(write_base_ + written <= buffer_.size());
  buffer_.resize(failed() ? 0 : write_base_ + written);
  write_base_ = std::string::npos;
}

bool FrameDecoder::Next(Event* out) {
  assert(write_base_ == std::string::npos);
  const size_t size = buffer_.size();
  while (true) {
    switch (state_) {
      case State::kFailed:
        return false;

      case State::kIdle: {
        size_t pos = consumed_;
        while (pos < size && buffer_[pos] != kStartBlock) {
          if (IsFiller(buffer_[pos])) {
            ++stats_.filler_bytes;
          } else {
            ++stats_.skipped_bytes;
          }
          ++pos;
        }
        if (pos == size) {
          consumed_ = size;
          return false;
        }
        state_ = State::kInFrame;
        frame_start_ = scan_ = consumed_ = pos + 1;
        break;
      }

      case State::kInFrame: {
        // First offset at which a byte other than a terminator makes the
        // payload longer than allowed.
        size_t limit = frame_start_ + options_.max_frame_size;
        size_t pos = scan_;
        for (; pos < size; ++pos) {
          const char c = buffer_[pos];
          if (c == kEndBlock) {
            if (pos + 1 == size) break;  // Wait for the byte after 0x1C.
            const std::string_view payload(buffer_.data() + frame_start_,
                                           pos - frame_start_);
            if (buffer_[pos + 1] == kCarriageReturn) {
              consumed_ = pos + 2;
            } else {
              ++stats_.missing_cr;
              consumed_ = pos + 1;  // Reprocess that byte outside the frame.
            }
            state_ = State::kIdle;
            ++stats_.frames;
            stats_.payload_bytes += payload.size();
            out->type = EventType::kFrame;
            out->payload = payload;
            return true;
          }
          if (c == kStartBlock) {
            ++stats_.restarted_frames;
            // The abandoned frame's 0x0B and payload so far.
            stats_.discarded_bytes += pos - frame_start_ + 1;
            frame_start_ = consumed_ = pos + 1;
            limit = frame_start_ + options_.max_frame_size;
            continue;
          }
          if (pos >= limit) {
            ++stats_.oversized;
            state_ = State::kFailed;
            out->type = EventType::kOversized;
            out->payload =
                std::string_view(buffer_.data() + frame_start_,
                                 std::min(options_.oversized_prefix_size,
                                          options_.max_frame_size));
            return true;
          }
        }
        scan_ = pos;
        return false;
      }
    }
  }
}

}  // namespace appliance::mllp
