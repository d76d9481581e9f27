// Zero-copy HL7 v2 message model.
//
// Parse() indexes the received bytes: every segment and field is a view into
// the caller's buffer, which must outlive the Message (and must not change).
// Repetitions, components and subcomponents are split on demand from a field's
// view, so parsing allocates only the two index vectors (and a Message reused
// through ParseInto() allocates nothing once warm).
//
// Values are raw: escape sequences are still encoded. Use hl7::Unescape()
// (escape.h) or Message::GetText() for display text.
//
// Numbering follows HL7: fields, repetitions, components and subcomponents are
// 1-based; Segment::field(0) is the segment name; for MSH, field(1) is the
// field separator and field(2) the encoding characters, so MSH-n is field(n).
#ifndef APPLIANCE_HL7_MESSAGE_H_
#define APPLIANCE_HL7_MESSAGE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "appliance/hl7/delimiters.h"

namespace appliance::hl7 {

// A location in a message, as in "PID-3(2).1.1" or "OBX[4]-5.2". A field,
// repetition, component or subcomponent of 0 means "not specified" (the whole
// segment, all repetitions, the whole field or component).
struct Location {
  std::string segment;  // "PID".
  int occurrence = 1;   // Which PID (1-based) among segments of that name.
  int field = 0;
  int repetition = 0;
  int component = 0;
  int subcomponent = 0;

  // Parses the path syntax above. INVALID_ARGUMENT on malformed paths.
  static absl::StatusOr<Location> Parse(std::string_view path);
  // "PID-3(2).1" style; occurrence shown only when > 1.
  std::string ToString() const;
  bool operator==(const Location& o) const;
};

struct ParseOptions {
  // Accept CRLF and bare LF as segment terminators (sloppy senders). When
  // false, only CR ends a segment and LF is data.
  bool accept_lf = true;
};

class Message;

// A segment name packed into an integer for fast comparison: the three
// characters of a standard name; longer or shorter names map to codes no
// three-character name has.
constexpr uint32_t SegmentCode(std::string_view name) {
  if (name.size() != 3) return 0x80000000u | static_cast<uint32_t>(name.size());
  return static_cast<uint32_t>(static_cast<unsigned char>(name[0])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(name[1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(name[2]));
}

// One segment: a view of its fields. Cheap to copy; valid while its Message.
class Segment {
 public:
  std::string_view name() const { return fields_[0]; }
  // Number of fields including the name (so the last field is field_count()-1).
  size_t field_count() const { return count_; }
  // Field n (0 = name); empty when absent.
  std::string_view field(size_t n) const {
    return n < count_ ? fields_[n] : std::string_view();
  }
  // The segment's raw text without its terminator.
  std::string_view raw() const { return raw_; }
  // 0-based position of this segment in the message.
  size_t index() const { return index_; }

 private:
  friend class Message;
  const std::string_view* fields_ = nullptr;
  size_t count_ = 0;
  size_t index_ = 0;
  std::string_view raw_;
};

class Message {
 public:
  Message() = default;
  // Views point into the caller's buffer; copying would be fine but is rarely
  // intended and would copy the index.
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  Message(Message&&) = default;
  Message& operator=(Message&&) = default;

  // Indexes `bytes`, which must start with "MSH" (leading whitespace and a
  // UTF-8 byte-order mark are skipped) and stay alive and unchanged while the
  // Message is used. INVALID_ARGUMENT when there is no readable MSH header.
  static absl::StatusOr<Message> Parse(std::string_view bytes,
                                       const ParseOptions& options = {});
  // Same, reusing this object's storage. On error the Message is empty.
  absl::Status ParseInto(std::string_view bytes,
                         const ParseOptions& options = {});

  const Delimiters& delimiters() const { return delimiters_; }
  std::string_view raw() const { return raw_; }

  size_t segment_count() const { return segments_.size(); }
  Segment segment(size_t i) const;
  // SegmentCode() of segment i's name (precomputed while parsing).
  uint32_t segment_code(size_t i) const { return segments_[i].code; }
  // Finds the occurrence-th (1-based) segment named `name`; false if none.
  bool FindSegment(std::string_view name, int occurrence, Segment* out) const;
  // Number of segments named `name`.
  int CountSegments(std::string_view name) const;

  // Raw value at `location` (escapes still encoded). When the location names no
  // repetition, the first one is meant (as HL7 paths do); when it names no
  // component, the whole repetition. Empty when absent.
  std::string_view Get(const Location& location) const;
  // Same with a path string; empty on a malformed path.
  std::string_view Get(std::string_view path) const;
  // Unescaped text (UTF-8) at `path`.
  std::string GetText(std::string_view path) const;

  // Frequently used MSH fields.
  std::string_view msh(size_t n) const;
  std::string_view control_id() const { return msh(10); }
  std::string_view version() const {
    return Piece(msh(12), delimiters_.component, 1);
  }
  std::string_view charset() const { return msh(18); }

 private:
  struct SegmentIndex {
    uint32_t first_field;  // Index into fields_.
    uint32_t field_count;
    uint32_t code;  // SegmentCode() of the name.
    std::string_view raw;
  };
  std::string_view raw_;
  Delimiters delimiters_;
  std::vector<SegmentIndex> segments_;
  // The fields of all segments, in order. Used as a buffer: ParseInto() grows
  // it as needed but never shrinks it, so its size() is a capacity and entries
  // past the last segment's fields are stale.
  std::vector<std::string_view> fields_;
};

// Inline: the validator walks every segment of every message.
inline Segment Message::segment(size_t i) const {
  Segment s;
  const SegmentIndex& idx = segments_[i];
  s.fields_ = fields_.data() + idx.first_field;
  s.count_ = idx.field_count;
  s.index_ = i;
  s.raw_ = idx.raw;
  return s;
}

// Splits a batch file or stream (FHS/BHS ... BTS/FTS, or several messages back
// to back) into the texts of its messages, each starting at "MSH". Batch
// header/trailer segments are dropped. Text before the first MSH other than
// batch headers and whitespace is ignored.
std::vector<std::string_view> SplitMessages(std::string_view bytes,
                                            const ParseOptions& options = {});

}  // namespace appliance::hl7

#endif  // APPLIANCE_HL7_MESSAGE_H_
