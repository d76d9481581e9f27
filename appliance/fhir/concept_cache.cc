#include "appliance/fhir/concept_cache.h"

namespace appliance::fhir::internal {
namespace {

// Debian's Abseil has its own absl::string_view (the map's heterogeneous
// lookup takes that one).
absl::string_view Av(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// What an entry costs against max_bytes: its strings (the map's own
// overhead per entry is bounded by max_entries).
size_t EntryBytes(std::string_view key, const RenderedConcept& value) {
  return key.size() + value.json.size() + value.finding.size();
}

}  // namespace

ConceptCache::ConceptCache(const Terminology* terminology, size_t max_entries,
                           size_t max_bytes)
    : terminology_(terminology),
      max_entries_(max_entries),
      max_bytes_(max_bytes),
      revision_(terminology->revision()) {}

bool ConceptCache::Lookup(std::string_view key, RenderedConcept* out) {
  std::lock_guard<std::mutex> lock(mu_);
  CheckRevision();
  const auto it = entries_.find(Av(key));
  if (it == entries_.end()) {
    ++stats_.misses;
    return false;
  }
  ++stats_.hits;
  const RenderedConcept& e = it->second;
  out->json.assign(e.json);
  out->empty = e.empty;
  out->unmapped = e.unmapped;
  if (e.finding.empty()) {  // Nearly always.
    out->finding.clear();
  } else {
    out->finding.assign(e.finding);
  }
  return true;
}

void ConceptCache::Insert(std::string_view key, const RenderedConcept& value) {
  const size_t bytes = EntryBytes(key, value);
  if (key.size() > kMaxKeySize || bytes > max_bytes_ || max_entries_ == 0) {
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  CheckRevision();
  if (entries_.contains(Av(key))) return;  // Another thread made it meanwhile.
  if (entries_.size() + 1 > max_entries_ || bytes_ + bytes > max_bytes_) {
    Clear();
  }
  entries_.emplace(key, value);
  bytes_ += bytes;
}

ConceptCache::Stats ConceptCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.entries = entries_.size();
  s.bytes = bytes_;
  return s;
}

void ConceptCache::CheckRevision() {
  const uint64_t revision = terminology_->revision();
  if (revision == revision_) return;
  revision_ = revision;
  Clear();
}

void ConceptCache::Clear() {
  if (entries_.empty()) return;
  entries_.clear();
  bytes_ = 0;
  ++stats_.flushes;
}

}  // namespace appliance::fhir::internal
