// Puts responses that complete in any order back into frame arrival order, so
// a pipelining sender reads its ACKs in the order it sent its messages. Pure:
// no sockets, no threads; the server uses one per connection, on that
// connection's strand.
#ifndef APPLIANCE_MLLP_RESPONSE_SEQUENCER_H_
#define APPLIANCE_MLLP_RESPONSE_SEQUENCER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "appliance/mllp/handler.h"

namespace appliance::mllp {

class ResponseSequencer {
 public:
  ResponseSequencer() = default;
  ResponseSequencer(const ResponseSequencer&) = delete;
  ResponseSequencer& operator=(const ResponseSequencer&) = delete;

  // Reserves the slot for the next frame and returns its sequence number
  // (0, 1, 2, ...).
  uint64_t Add();

  // Stores the response for `sequence`. Returns false (and stores nothing) if
  // `sequence` was never added, was already completed, or was already popped.
  bool Complete(uint64_t sequence, Response response);

  // Moves the oldest response into `*out` and returns true if it has been
  // completed; returns false while the oldest frame is still unanswered (or
  // nothing is pending).
  bool PopReady(Response* out);

  // Frames added and not yet popped (answered or not): the connection's
  // backlog, which bounds the work it has handed to the handler.
  size_t pending() const { return slots_.size(); }

 private:
  // slots_[i] belongs to sequence number first_ + i.
  std::deque<std::optional<Response>> slots_;
  uint64_t first_ = 0;
};

}  // namespace appliance::mllp

#endif  // APPLIANCE_MLLP_RESPONSE_SEQUENCER_H_
