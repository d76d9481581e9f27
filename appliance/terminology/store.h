// Versioned terminology maps persisted in the appliance's LMDB store.
//
// The maps of appliance/fhir/terminology.h (coding systems, local codes ->
// LOINC/SNOMED..., units -> UCUM, assigning authorities -> identifier
// systems), kept as rows. Every change (upsert, delete, CSV import) commits
// one new version — a full snapshot of the rows, with time, actor and comment —
// through the message store's writer, in the same transaction as an
// AUDIT_TERMINOLOGY_CHANGED record. Old versions stay readable (list, export,
// diff); the mapping stage maps with the current one and records its number
// with each message.
//
// Sub-database "terminology": version (8 bytes big-endian) ->
// hl7appliance.store.v1.TerminologyVersion; meta key "terminology_current"
// -> current version. Not PHI.
#ifndef APPLIANCE_TERMINOLOGY_STORE_H_
#define APPLIANCE_TERMINOLOGY_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "appliance/base/clock.h"
#include "appliance/fhir/terminology.h"
#include "appliance/intake/message_store.h"

namespace appliance::terminology {

// One mapping row; the fields of the CSV format in fhir/terminology.h.
struct Row {
  std::string kind;           // "code", "system", "unit" or "authority".
  std::string source_system;  // code: HL7 system name; system: the name;
                              // authority: the authority name (as in CSV).
  std::string source_code;    // code: the code; unit: the unit text.
  std::string facility;       // code rows only; empty: any facility.
  std::string target_system;  // URI.
  std::string target_code;
  std::string target_display;

  // Identity of a row within a version: kind, source_system, source_code,
  // facility and (code rows, which may map to several targets)
  // target_system + target_code.
  std::string Key() const;
  bool operator==(const Row& o) const;
};

struct VersionInfo {
  int64_t version = 0;
  int64_t created_at_us = 0;
  std::string actor;
  std::string comment;
  size_t rows = 0;
};

struct VersionDiff {
  std::vector<Row> added;    // In `to`, not in `from` (by Key()).
  std::vector<Row> removed;  // In `from`, not in `to`.
  std::vector<std::pair<Row, Row>> changed;  // Same key, other display.
};

class TerminologyStore {
 public:
  // Loads the current version (or starts at version 0: built-in maps only).
  // `store` and `clock` must outlive this object.
  static absl::StatusOr<std::unique_ptr<TerminologyStore>> Open(
      intake::MessageStore* store, const Clock* clock);

  // The current snapshot for the mappers (version() set). Thread-safe.
  std::shared_ptr<const fhir::Terminology> Current() const;
  int64_t current_version() const;

  // Newest first.
  absl::StatusOr<std::vector<VersionInfo>> ListVersions() const;
  // Rows of `version` (0: current), sorted by Key(). NOT_FOUND for an
  // unknown version.
  absl::StatusOr<std::vector<Row>> Rows(int64_t version) const;

  // Each change below validates its rows first (INVALID_ARGUMENT naming the
  // row and field: unknown kind, missing code, a target system that is not a
  // URI...), then commits a new version and returns its number; the change
  // callback runs after the commit. `actor` (required) and `comment` go into
  // the version and the audit record (no PHI). A change that leaves the rows
  // as they are commits nothing and returns the current version. Changes are
  // serialised; the commit goes through the message store's writer thread,
  // so never call these from it (e.g. from a WriteJobCallback).
  absl::StatusOr<int64_t> Upsert(const std::vector<Row>& rows,
                                 const std::string& actor,
                                 const std::string& comment);
  // Deletes the rows with these keys (Row::Key()); NOT_FOUND when none of
  // them exists.
  absl::StatusOr<int64_t> Delete(const std::vector<std::string>& keys,
                                 const std::string& actor,
                                 const std::string& comment);
  // Imports a CSV text (format of fhir/terminology.h): replaces all rows when
  // `replace`, else upserts. Errors name the CSV line.
  absl::StatusOr<int64_t> ImportCsv(std::string_view csv, bool replace,
                                    const std::string& actor,
                                    const std::string& comment);
  // The rows of `version` (0: current) as CSV with a header line.
  absl::StatusOr<std::string> ExportCsv(int64_t version) const;
  absl::StatusOr<VersionDiff> Diff(int64_t from, int64_t to) const;

  // Called (after the commit, on the caller's thread) with each new current
  // snapshot, e.g. MappingWorker::SetTerminology.
  void OnChange(
      std::function<void(std::shared_ptr<const fhir::Terminology>)> callback);

  TerminologyStore(const TerminologyStore&) = delete;
  TerminologyStore& operator=(const TerminologyStore&) = delete;

 private:
  // Rows by Row::Key().
  using RowMap = std::map<std::string, Row>;
  // Edits the current rows inside the write job; an error aborts the change.
  using Edit = std::function<absl::Status(RowMap& rows)>;

  TerminologyStore(intake::MessageStore* store, const Clock* clock);
  absl::Status Load();
  absl::StatusOr<RowMap> ReadVersion(int64_t version) const;
  // Runs `edit` on the current rows in one write job that stores the new
  // version, the current pointer and the audit record; then publishes the
  // snapshot. A change that leaves the rows as they are stores nothing and
  // returns the current version.
  absl::StatusOr<int64_t> Commit(Edit edit, const std::string& actor,
                                 const std::string& comment);
  void Publish(int64_t version, const RowMap& rows);

  intake::MessageStore* const store_;  // Not owned.
  const Clock* const clock_;           // Not owned.
  // Serialises changes (one at a time, callbacks in version order). Never
  // held by readers, never taken on the store's writer thread.
  std::mutex change_mu_;
  mutable std::mutex mu_;  // Guards the two below; held only briefly.
  std::shared_ptr<const fhir::Terminology> current_;
  std::vector<std::function<void(std::shared_ptr<const fhir::Terminology>)>>
      callbacks_;
};

// Checks one row (kinds and required fields as fhir::Terminology::LoadCsv,
// target systems that are URIs, no stray fields, no line breaks) after
// trimming its fields; `where` ("row 3", "CSV line 7") starts the
// INVALID_ARGUMENT message.
absl::Status NormalizeRow(Row& row, const std::string& where);
// The rows of a CSV text (format of fhir/terminology.h), normalized and
// checked; duplicate keys are an error naming both lines.
absl::StatusOr<std::vector<Row>> ParseCsv(std::string_view csv);
// CSV with a header line; fields quoted where needed (RFC 4180).
std::string ToCsv(const std::vector<Row>& rows);

}  // namespace appliance::terminology

#endif  // APPLIANCE_TERMINOLOGY_STORE_H_
