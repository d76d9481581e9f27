// Conversions between the store's records and the control API's messages,
// and the paging helpers every list call shares. No gRPC runtime here.
#ifndef APPLIANCE_CONTROL_CONVERT_H_
#define APPLIANCE_CONTROL_CONVERT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/control/v1/audit.pb.h"
#include "api/control/v1/common.pb.h"
#include "api/control/v1/messages.pb.h"
#include "api/store/v1/records.pb.h"
#include "appliance/base/status_macros.h"
#include "google/protobuf/timestamp.pb.h"

namespace appliance::control {

namespace api = ::hl7appliance::control::v1;
namespace spb = ::hl7appliance::store::v1;

// Paging: page_size 0 -> kDefaultPageSize, capped at kMaxPageSize; a call
// reads at most kMaxScan records before it returns a (possibly short) page.
inline constexpr uint32_t kDefaultPageSize = 100;
inline constexpr uint32_t kMaxPageSize = 1000;
inline constexpr uint64_t kMaxScan = 100000;
// Records read per store call while scanning.
inline constexpr size_t kScanChunk = 1000;

uint32_t EffectivePageSize(uint32_t requested);

// An opaque token for "continue after `seq`" in listing `kind` (e.g.
// "queue"), and its inverse: 0 for an empty token; INVALID_ARGUMENT naming
// the field "page_token" for a malformed one or one from another listing.
std::string EncodePageToken(std::string_view kind, uint64_t after);
absl::StatusOr<uint64_t> DecodePageToken(std::string_view kind,
                                         std::string_view token);

// Microseconds since the epoch <-> Timestamp. 0 / unset map to each other.
void ToTimestamp(int64_t micros, google::protobuf::Timestamp* out);
int64_t FromTimestamp(const google::protobuf::Timestamp& ts);
// INVALID_ARGUMENT naming `field` when the timestamp is out of range.
absl::Status CheckTimestamp(const google::protobuf::Timestamp& ts,
                            std::string_view field);

void ToSummary(const spb::MessageMeta& meta, api::MessageSummary* out);
void ToQueueItem(const spb::PipelineEntry& entry, api::QueueItem* out);
// The message's type, control id and receive time on a queue item.
void AddMessageFields(const spb::MessageMeta& meta, api::QueueItem* out);
void ToAuditEvent(const spb::AuditRecord& record, api::AuditEvent* out);

// One page of a listing over records with a seq(): reads records after
// `after` in chunks with `fetch(after, limit)` (a store call such as
// ListPipeline) and hands each to `visit`, which returns whether it added an
// item, until `page` items were added, kMaxScan records were read or the
// records end. Returns the cursor for the next page, 0 at the end.
template <typename Record, typename Fetch, typename Visit>
absl::StatusOr<uint64_t> ScanPage(uint64_t after, uint32_t page, Fetch fetch,
                                  Visit visit) {
  uint64_t cursor = after;
  uint64_t scanned = 0;
  uint32_t added = 0;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<Record> chunk, fetch(cursor, kScanChunk));
    for (size_t i = 0; i < chunk.size(); ++i) {
      cursor = chunk[i].seq();
      ++scanned;
      ASSIGN_OR_RETURN(bool took, visit(chunk[i]));
      if (took) ++added;
      if (added >= page || scanned >= kMaxScan) {
        const bool more = i + 1 < chunk.size() || chunk.size() == kScanChunk;
        return more ? cursor : 0;
      }
    }
    if (chunk.size() < kScanChunk) return 0;
  }
}

// INVALID_ARGUMENT "<field>: required" when seq is 0.
absl::Status RequireSeq(uint64_t seq, std::string_view field = "seq");

// An operator's free text for the audit trail and the logs (a reason, a
// comment): at most `max_size` characters, no control characters, and not
// empty when `required`. INVALID_ARGUMENT naming `field` otherwise.
absl::Status CheckOperatorText(const std::string& text, const char* field,
                               size_t max_size, bool required);

}  // namespace appliance::control

#endif  // APPLIANCE_CONTROL_CONVERT_H_
