// Coded elements (CE/CWE/CNE) as the mappers write them, remembered across
// messages. Internal to the mappers: not a public API.
//
// Analysers send the same few hundred codes over and over. Turning one into a
// CodeableConcept (splitting its components, terminology lookups, system
// URIs) and writing its JSON cost about as much as the rest of an
// Observation; a lookup here costs a hash and a copy.
//
// The caller (Context::RenderConcept) builds the key from everything the
// concept depends on besides the terminology: the raw field, the separator
// its components are split on and the sending facility (local systems and
// facility-specific mappings are scoped by it), and caches only fields that
// need no decoding (no escapes, ASCII only), whose concept then does not
// depend on the message's delimiters or character set.
//
// A cache belongs to one terminology object (the Mapper's snapshot) and
// empties itself when that object's revision changes, so a terminology that
// is modified after the fact (Terminology::revision) is never answered from
// stale entries. It is bounded: at most `max_entries` entries and `max_bytes`
// of keys and values; an insertion that would pass either limit empties the
// cache first (a stream with more distinct codes than the limit misses more
// often, memory stays bounded). Thread-safe: a Mapper may serve several
// threads.
#ifndef APPLIANCE_FHIR_CONCEPT_CACHE_H_
#define APPLIANCE_FHIR_CONCEPT_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "appliance/fhir/terminology.h"

namespace appliance::fhir::internal {

// What a coded element becomes: the JSON the mappers write and what they
// need to know besides.
struct RenderedConcept {
  // Compact JSON of the CodeableConcept, or of the concept with only the
  // text "unknown" when the element is empty (ConceptOrUnknown).
  std::string json;
  bool empty = true;      // No code and no text.
  bool unmapped = false;  // Local codes only: the resource gets the tag.
  // Text of the "unmapped-code" warning the element makes; empty for none.
  // The finding's location belongs to the message, so it is not kept here:
  // the caller makes the finding (Context::RenderConcept).
  std::string finding;
};

class ConceptCache {
 public:
  static constexpr size_t kDefaultMaxEntries = 4096;
  static constexpr size_t kDefaultMaxBytes = size_t{1} << 20;
  // Longer keys are not cached (Context::RenderConcept builds keys on the
  // stack).
  static constexpr size_t kMaxKeySize = 256;

  // `terminology` must outlive the cache (the Mapper holds both).
  explicit ConceptCache(const Terminology* terminology,
                        size_t max_entries = kDefaultMaxEntries,
                        size_t max_bytes = kDefaultMaxBytes);
  ConceptCache(const ConceptCache&) = delete;
  ConceptCache& operator=(const ConceptCache&) = delete;

  // Copies the entry of `key` into `*out` (its strings keep their storage);
  // false when there is none.
  bool Lookup(std::string_view key, RenderedConcept* out);
  // Remembers `value` for `key`. A key longer than kMaxKeySize, or an entry
  // larger than max_bytes on its own, is not kept.
  void Insert(std::string_view key, const RenderedConcept& value);

  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t flushes = 0;  // Emptied at a limit or on a terminology change.
    size_t entries = 0;
    size_t bytes = 0;
  };
  Stats stats() const;

 private:
  // Empties the cache when the terminology changed since the entries were
  // made.
  void CheckRevision() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Clear() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Terminology* const terminology_;  // Not owned; see the constructor.
  const size_t max_entries_;
  const size_t max_bytes_;
  // std::mutex rather than absl::Mutex: see appliance/crypto/keys.h (TSan).
  mutable std::mutex mu_;
  uint64_t revision_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, RenderedConcept> entries_
      ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace appliance::fhir::internal

#endif  // APPLIANCE_FHIR_CONCEPT_CACHE_H_
