#include "appliance/mllp/response_sequencer.h"

#include <utility>

namespace appliance::mllp {

uint64_t ResponseSequencer::Add() {
  slots_.emplace_back();
  return first_ + slots_.size() - 1;
}

bool ResponseSequencer::Complete(uint64_t sequence, Response response) {
  if (sequence < first_ || sequence - first_ >= slots_.size()) return false;
  std::optional<Response>& slot = slots_[sequence - first_];
  if (slot.has_value()) return false;
  slot = std::move(response);
  return true;
}

bool ResponseSequencer::PopReady(Response* out) {
  if (slots_.empty() || !slots_.front().has_value()) return false;
  *out = std::move(*slots_.front());
  slots_.pop_front();
  ++first_;
  return true;
}

}  // namespace appliance::mllp
