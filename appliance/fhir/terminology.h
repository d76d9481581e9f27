// In-memory terminology maps for the HL7 v2 -> FHIR mappers.
//
// Holds: HL7 coding-system names (LN, SCT, UCUM, HL70078, L, 99xxx...) ->
// FHIR system URIs; (source system, source code[, sending facility]) -> one
// or more target codings (LOINC, SNOMED CT...); unit text -> UCUM coding;
// identifier assigning authority -> identifier system URI.
//
// A Terminology is immutable once built and shared by the mapping workers
// through a std::shared_ptr<const Terminology> snapshot; a change builds a
// new one with a higher version (LMDB persistence of versions: not yet).
//
// CSV format (LoadCsv), one mapping per line, '#' comments, RFC 4180 quotes:
//   kind,source_system,source_code,facility,target_system,target_code,target_display
//   code,L,GLU,,http://loinc.org,2345-7,Glucose
//   code,99LAB,K,CHEMLAB,http://loinc.org,2823-3,Potassium (facility-specific)
//   system,99LAB,,,http://lab.example.org/codes,,
//   unit,,mmol/l,,http://unitsofmeasure.org,mmol/L,millimole per liter
//   authority,GENHOSP,,,urn:oid:2.999.1.1,,
// A first line starting with "kind," is a header and skipped.
#ifndef APPLIANCE_FHIR_TERMINOLOGY_H_
#define APPLIANCE_FHIR_TERMINOLOGY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"

namespace appliance::fhir {

inline constexpr char kLoincUri[] = "http://loinc.org";
inline constexpr char kSnomedUri[] = "http://snomed.info/sct";
inline constexpr char kUcumUri[] = "http://unitsofmeasure.org";

struct Coding {
  std::string system;  // URI.
  std::string code;
  std::string display;  // May be empty.
  bool operator==(const Coding& o) const {
    return system == o.system && code == o.code && display == o.display;
  }
};

// What the mapper does with a local code that has no mapping.
enum class UnmappedPolicy {
  kKeepAndFlag,  // Keep the original coding, tag the resource, warn.
  kHold,         // Strict: hold the message for an operator.
};

class Terminology {
 public:
  // Built-in coding systems (LN, SCT, UCUM, I10, RXNORM, HL7nnnn...) and the
  // common lab units whose text is already UCUM.
  Terminology();

  // Adds the mappings of a CSV text (format above). On error nothing after
  // the bad line is added; the error names the line.
  absl::Status LoadCsv(std::string_view csv);

  void AddSystem(const std::string& name, const std::string& uri);
  void AddCode(const std::string& source_system, const std::string& code,
               const std::string& facility, Coding target);
  void AddUnit(const std::string& unit, Coding ucum);
  void AddAuthority(const std::string& authority, const std::string& uri);
  // One mapping given as the CSV's columns (kind, source_system,
  // source_code, facility, target_system, target_code, target_display),
  // with the CSV's defaults (a unit's system is UCUM and its display its
  // code); the fields a kind needs must have been checked. False for an
  // unknown kind.
  bool AddMapping(const std::string& kind, const std::string& source_system,
                  const std::string& source_code, const std::string& facility,
                  const std::string& target_system,
                  const std::string& target_code,
                  const std::string& target_display);

  // The URI of an HL7 coding-system name. Standard names map to their
  // published URIs; local names (L, 99xxx, unknown or empty) not configured
  // with a `system` line become "<local_system_base><facility>/<name>".
  std::string SystemUri(std::string_view name, std::string_view facility) const;
  // True when `name` is a standard (non-local) coding system, built in or
  // configured.
  bool IsStandardSystem(std::string_view name) const;

  // Target codings for (system name, code), preferring a facility-specific
  // entry; nullptr when unmapped.
  const std::vector<Coding>* LookupCode(std::string_view system,
                                        std::string_view code,
                                        std::string_view facility) const;
  // UCUM coding for a unit text (exact match first, then case-insensitive);
  // nullptr when unmapped.
  const Coding* LookupUnit(std::string_view unit) const;
  // Identifier system for an assigning authority. Unconfigured authorities
  // become "<local_identifier_base><authority>".
  std::string AuthorityUri(std::string_view authority) const;

  // Version of this snapshot (0 for built-in only). Set by whoever publishes
  // a snapshot; recorded with each mapped message.
  int64_t version() const { return version_; }
  void set_version(int64_t v) {
    version_ = v;
    ++revision_;
  }

  // Changes with every modification (Add*, LoadCsv, set_*). What the
  // mapper caches from a terminology (ConceptCache) is tagged with the
  // terminology's address and revision, so that a terminology modified after
  // it was handed to a Mapper (against the contract above, but possible
  // through a non-const pointer) is never answered from stale entries.
  uint64_t revision() const { return revision_; }

  void set_local_system_base(std::string base) {
    local_system_base_ = std::move(base);
    ++revision_;
  }
  void set_local_identifier_base(std::string base) {
    local_identifier_base_ = std::move(base);
    ++revision_;
  }

 private:
  static std::string CodeKey(std::string_view system, std::string_view code,
                             std::string_view facility);

  absl::flat_hash_map<std::string, std::string> systems_;  // name -> URI.
  absl::flat_hash_map<std::string, std::vector<Coding>> codes_;
  absl::flat_hash_map<std::string, Coding> units_;
  absl::flat_hash_map<std::string, Coding> units_lower_;
  absl::flat_hash_map<std::string, std::string> authorities_;
  std::string local_system_base_ = "urn:hl7-appliance:codesystem:";
  std::string local_identifier_base_ = "urn:hl7-appliance:id:";
  int64_t version_ = 0;
  uint64_t revision_ = 0;
};

// Splits one CSV line into fields (RFC 4180 quoting: "a,b" and "" inside
// quotes). INVALID_ARGUMENT on an unterminated quote.
absl::Status SplitCsvLine(std::string_view line,
                          std::vector<std::string>* fields);

}  // namespace appliance::fhir

#endif  // APPLIANCE_FHIR_TERMINOLOGY_H_
