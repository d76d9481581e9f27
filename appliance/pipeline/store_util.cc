#include "appliance/pipeline/store_util.h"

#include <optional>

namespace appliance::pipeline {

absl::Status AddCounter(store::WriteTxn& txn, store::Dbi counters,
                        const std::string& name, uint64_t delta) {
  ASSIGN_OR_RETURN(std::optional<std::string_view> old, txn.Find(counters, name));
  uint64_t value = delta;
  if (old.has_value()) {
    ASSIGN_OR_RETURN(uint64_t before, store::DecodeU64BE(*old));
    value += before;
  }
  return txn.Put(counters, name, store::EncodeU64BE(value));
}

}  // namespace appliance::pipeline
