#include "appliance/terminology/store.h"

#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api/store/v1/records.pb.h"
#include "appliance/base/status_macros.h"
#include "appliance/store/keys.h"

namespace appliance::terminology {
namespace {

namespace pb = ::hl7appliance::store::v1;

constexpr char kDbName[] = "terminology";
constexpr char kCurrentKey[] = "terminology_current";
constexpr size_t kMaxField = 1024;
constexpr size_t kMaxDetail = 200;
constexpr char kCsvHeader[] =
    "kind,source_system,source_code,facility,target_system,target_code,"
    "target_display";

// Field names, in CSV order.
constexpr const char* kFieldNames[] = {
    "kind",          "source_system", "source_code",   "facility",
    "target_system", "target_code",   "target_display"};

std::string* Field(Row& r, int i) {
  std::string* fields[] = {&r.kind,          &r.source_system, &r.source_code,
                           &r.facility,      &r.target_system, &r.target_code,
                           &r.target_display};
  return fields[i];
}

// "scheme:rest" with an RFC 3986 scheme, a non-empty rest and no spaces.
bool IsUri(const std::string& s) {
  const size_t colon = s.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) {
    return false;
  }
  if (!absl::ascii_isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (size_t i = 1; i < colon; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (!absl::ascii_isalnum(c) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  for (unsigned char c : s) {
    if (c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

pb::TerminologyRow ToProto(const Row& r) {
  pb::TerminologyRow p;
  p.set_kind(r.kind);
  p.set_source_system(r.source_system);
  p.set_source_code(r.source_code);
  p.set_facility(r.facility);
  p.set_target_system(r.target_system);
  p.set_target_code(r.target_code);
  p.set_target_display(r.target_display);
  return p;
}

Row FromProto(const pb::TerminologyRow& p) {
  return Row{p.kind(),          p.source_system(), p.source_code(),
             p.facility(),      p.target_system(), p.target_code(),
             p.target_display()};
}

std::vector<Row> ToVector(const std::map<std::string, Row>& rows) {
  std::vector<Row> out;
  out.reserve(rows.size());
  for (const auto& [key, row] : rows) out.push_back(row);
  return out;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

absl::StatusOr<int64_t> DecodeVersion(std::string_view v) {
  ASSIGN_OR_RETURN(uint64_t u, store::DecodeU64BE(v));
  return static_cast<int64_t>(u);
}

std::string EncodeVersion(int64_t v) {
  return store::EncodeU64BE(static_cast<uint64_t>(v));
}

// The current version inside `txn`: 0 when none was ever stored.
absl::StatusOr<int64_t> ReadCurrent(const store::Txn& txn, store::Dbi meta) {
  ASSIGN_OR_RETURN(std::optional<std::string_view> v,
                   txn.Find(meta, kCurrentKey));
  if (!v.has_value()) return 0;
  absl::StatusOr<int64_t> version = DecodeVersion(*v);
  if (!version.ok()) {
    return absl::DataLossError(
        absl::StrCat("meta key ", kCurrentKey, " is malformed"));
  }
  return *version;
}

absl::StatusOr<pb::TerminologyVersion> ReadVersionProto(const store::Txn& txn,
                                                        store::Dbi db,
                                                        int64_t version) {
  ASSIGN_OR_RETURN(std::optional<std::string_view> v,
                   txn.Find(db, EncodeVersion(version)));
  if (!v.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no terminology version ", version));
  }
  pb::TerminologyVersion p;
  if (!p.ParseFromArray(v->data(), static_cast<int>(v->size()))) {
    return absl::DataLossError(
        absl::StrCat("terminology version ", version, " does not parse"));
  }
  return p;
}

std::map<std::string, Row> ToMap(const pb::TerminologyVersion& p) {
  std::map<std::string, Row> rows;
  for (const pb::TerminologyRow& r : p.rows()) {
    Row row = FromProto(r);
    std::string key = row.Key();
    rows.emplace(std::move(key), std::move(row));
  }
  return rows;
}

VersionDiff DiffRows(const std::map<std::string, Row>& from,
                     const std::map<std::string, Row>& to) {
  VersionDiff d;
  for (const auto& [key, row] : to) {
    auto it = from.find(key);
    if (it == from.end()) {
      d.added.push_back(row);
    } else if (!(it->second == row)) {
      d.changed.emplace_back(it->second, row);
    }
  }
  for (const auto& [key, row] : from) {
    if (to.find(key) == to.end()) d.removed.push_back(row);
  }
  return d;
}

}  // namespace

std::string Row::Key() const {
  std::string key =
      absl::StrCat(kind, "|", source_system, "|", source_code, "|", facility);
  if (kind == "code")
    absl::StrAppend(&key, "|", target_system, "|", target_code);
  return key;
}

bool Row::operator==(const Row& o) const {
  return kind == o.kind && source_system == o.source_system &&
         source_code == o.source_code && facility == o.facility &&
         target_system == o.target_system && target_code == o.target_code &&
         target_display == o.target_display;
}

absl::Status NormalizeRow(Row& row, const std::string& where) {
  for (int i = 0; i < 7; ++i) {
    std::string* f = Field(row, i);
    *f = std::string(absl::StripAsciiWhitespace(*f));
    if (f->size() > kMaxField) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", kFieldNames[i], " is longer than ",
                       kMaxField, " characters"));
    }
    for (unsigned char c : *f) {
      if (c < ' ' || c == 0x7f) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": ", kFieldNames[i], " contains a control character"));
      }
    }
    // '|' separates the fields of Row::Key().
    if (i < 6 && f->find('|') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", kFieldNames[i], " contains '|'"));
    }
  }
  auto need = [&](int i, const char* what) -> absl::Status {
    if (Field(row, i)->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " (", row.kind, "): ", kFieldNames[i],
                       " is required (", what, ")"));
    }
    return absl::OkStatus();
  };
  auto unused = [&](std::initializer_list<int> fields) -> absl::Status {
    for (int i : fields) {
      if (!Field(row, i)->empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, " (", row.kind, "): ", kFieldNames[i],
                         " must be empty for a ", row.kind, " mapping"));
      }
    }
    return absl::OkStatus();
  };
  auto uri = [&]() -> absl::Status {
    if (!row.target_system.empty() && !IsUri(row.target_system)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, " (", row.kind, "): target_system \"", row.target_system,
          "\" is not a URI (e.g. http://loinc.org, urn:oid:1.2.3)"));
    }
    return absl::OkStatus();
  };
  if (row.kind == "code") {
    RETURN_IF_ERROR(need(1, "the HL7 coding system of the local code"));
    RETURN_IF_ERROR(need(2, "the local code"));
    RETURN_IF_ERROR(need(4, "the URI of the target code system"));
    RETURN_IF_ERROR(need(5, "the target code"));
  } else if (row.kind == "system") {
    RETURN_IF_ERROR(need(1, "the HL7 coding-system name"));
    RETURN_IF_ERROR(need(4, "its URI"));
    RETURN_IF_ERROR(unused({2, 3, 5, 6}));
  } else if (row.kind == "unit") {
    RETURN_IF_ERROR(need(2, "the unit text as sent"));
    RETURN_IF_ERROR(need(5, "the UCUM code"));
    RETURN_IF_ERROR(unused({1, 3}));
  } else if (row.kind == "authority") {
    RETURN_IF_ERROR(need(1, "the assigning authority"));
    RETURN_IF_ERROR(need(4, "the identifier system URI"));
    RETURN_IF_ERROR(unused({2, 3, 5, 6}));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": kind \"", row.kind,
                     "\" is not one of code, system, unit, authority"));
  }
  return uri();
}

absl::StatusOr<std::vector<Row>> ParseCsv(std::string_view csv) {
  std::vector<Row> rows;
  std::map<std::string, size_t> line_of;  // Key -> CSV line.
  std::vector<std::string> f;
  size_t line_no = 0;
  while (!csv.empty()) {
    const size_t end = csv.find('\n');
    std::string_view line = csv.substr(0, end);
    csv.remove_prefix(end == std::string_view::npos ? csv.size() : end + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    const std::string where = absl::StrCat("CSV line ", line_no);
    absl::Status split = fhir::SplitCsvLine(line, &f);
    if (!split.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", std::string(split.message())));
    }
    if (line_no == 1 && !f.empty() && f[0] == "kind") continue;  // Header.
    if (f.size() < 5 || f.size() > 7) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected 5 to 7 fields (", kCsvHeader,
                       "), got ", f.size()));
    }
    f.resize(7);
    Row row{f[0], f[1], f[2], f[3], f[4], f[5], f[6]};
    RETURN_IF_ERROR(NormalizeRow(row, where));
    auto [it, inserted] = line_of.emplace(row.Key(), line_no);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": same mapping as CSV line ", it->second,
                       " (key ", row.Key(), ")"));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string ToCsv(const std::vector<Row>& rows) {
  std::string out = absl::StrCat(kCsvHeader, "\n");
  for (const Row& r : rows) {
    absl::StrAppend(&out, CsvField(r.kind), ",", CsvField(r.source_system), ",",
                    CsvField(r.source_code), ",", CsvField(r.facility), ",",
                    CsvField(r.target_system), ",", CsvField(r.target_code),
                    ",", CsvField(r.target_display), "\n");
  }
  return out;
}

TerminologyStore::TerminologyStore(intake::MessageStore* store,
                                   const Clock* clock)
    : store_(store), clock_(clock) {}

absl::StatusOr<std::unique_ptr<TerminologyStore>> TerminologyStore::Open(
    intake::MessageStore* store, const Clock* clock) {
  std::unique_ptr<TerminologyStore> t(new TerminologyStore(store, clock));
  RETURN_IF_ERROR(t->Load());
  return t;
}

absl::Status TerminologyStore::Load() {
  ASSIGN_OR_RETURN(store::Dbi meta, store_->Db("meta"));
  ASSIGN_OR_RETURN(store::Dbi db, store_->Db(kDbName));
  int64_t version = 0;
  RowMap rows;
  {
    ASSIGN_OR_RETURN(store::ReadTxn txn, store_->env().BeginRead());
    ASSIGN_OR_RETURN(version, ReadCurrent(txn, meta));
    if (version != 0) {
      ASSIGN_OR_RETURN(pb::TerminologyVersion p,
                       ReadVersionProto(txn, db, version));
      rows = ToMap(p);
    }
  }
  Publish(version, rows);
  LOG(INFO) << "terminology version " << version << " (" << rows.size()
            << " rows)";
  return absl::OkStatus();
}

void TerminologyStore::Publish(int64_t version, const RowMap& rows) {
  auto t = std::make_shared<fhir::Terminology>();
  for (const auto& [key, r] : rows) {
    if (!t->AddMapping(r.kind, r.source_system, r.source_code, r.facility,
                       r.target_system, r.target_code, r.target_display)) {
      LOG(WARNING) << "terminology version " << version
                   << ": row of unknown kind skipped";
    }
  }
  t->set_version(version);
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(t);
}

std::shared_ptr<const fhir::Terminology> TerminologyStore::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

int64_t TerminologyStore::current_version() const {
  return Current()->version();  // Load() published one at Open().
}

void TerminologyStore::OnChange(
    std::function<void(std::shared_ptr<const fhir::Terminology>)> callback) {
  std::lock_guard<std::mutex> lock(mu_);
  callbacks_.push_back(std::move(callback));
}

absl::StatusOr<std::vector<VersionInfo>> TerminologyStore::ListVersions()
    const {
  ASSIGN_OR_RETURN(store::Dbi db, store_->Db(kDbName));
  ASSIGN_OR_RETURN(store::ReadTxn txn, store_->env().BeginRead());
  ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(db));
  std::vector<VersionInfo> out;
  absl::StatusOr<store::KeyValue> kv = c.Last();
  for (; kv.ok(); kv = c.Prev()) {
    pb::TerminologyVersion p;
    if (!p.ParseFromArray(kv->value.data(),
                          static_cast<int>(kv->value.size()))) {
      return absl::DataLossError("terminology version does not parse");
    }
    out.push_back(VersionInfo{p.version(), p.created_at_us(), p.actor(),
                              p.comment(), static_cast<size_t>(p.rows_size())});
  }
  if (!absl::IsNotFound(kv.status())) return kv.status();
  return out;
}

absl::StatusOr<TerminologyStore::RowMap> TerminologyStore::ReadVersion(
    int64_t version) const {
  if (version < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("terminology version ", version, " is negative"));
  }
  ASSIGN_OR_RETURN(store::Dbi meta, store_->Db("meta"));
  ASSIGN_OR_RETURN(store::Dbi db, store_->Db(kDbName));
  ASSIGN_OR_RETURN(store::ReadTxn txn, store_->env().BeginRead());
  if (version == 0) {
    ASSIGN_OR_RETURN(version, ReadCurrent(txn, meta));
    if (version == 0) return RowMap();  // Built-in maps only.
  }
  ASSIGN_OR_RETURN(pb::TerminologyVersion p,
                   ReadVersionProto(txn, db, version));
  return ToMap(p);
}

absl::StatusOr<std::vector<Row>> TerminologyStore::Rows(int64_t version) const {
  ASSIGN_OR_RETURN(RowMap rows, ReadVersion(version));
  return ToVector(rows);
}

absl::StatusOr<std::string> TerminologyStore::ExportCsv(int64_t version) const {
  ASSIGN_OR_RETURN(std::vector<Row> rows, Rows(version));
  return ToCsv(rows);
}

absl::StatusOr<VersionDiff> TerminologyStore::Diff(int64_t from,
                                                   int64_t to) const {
  ASSIGN_OR_RETURN(RowMap a, ReadVersion(from));
  ASSIGN_OR_RETURN(RowMap b, ReadVersion(to));
  return DiffRows(a, b);
}

absl::StatusOr<int64_t> TerminologyStore::Upsert(const std::vector<Row>& rows,
                                                 const std::string& actor,
                                                 const std::string& comment) {
  if (rows.empty()) return absl::InvalidArgumentError("no rows to upsert");
  RowMap upserts;
  for (size_t i = 0; i < rows.size(); ++i) {
    Row row = rows[i];
    const std::string where = absl::StrCat("row ", i + 1);
    RETURN_IF_ERROR(NormalizeRow(row, where));
    std::string key = row.Key();
    if (!upserts.emplace(key, std::move(row)).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": same mapping as an earlier row (key ", key, ")"));
    }
  }
  return Commit(
      [upserts = std::move(upserts)](RowMap& current) {
        for (const auto& [key, row] : upserts) current[key] = row;
        return absl::OkStatus();
      },
      actor, comment);
}

absl::StatusOr<int64_t> TerminologyStore::Delete(
    const std::vector<std::string>& keys, const std::string& actor,
    const std::string& comment) {
  if (keys.empty()) return absl::InvalidArgumentError("no keys to delete");
  return Commit(
      [keys](RowMap& current) {
        size_t erased = 0;
        for (const std::string& key : keys) erased += current.erase(key);
        if (erased == 0) {
          return absl::NotFoundError(absl::StrCat(
              "none of the ", keys.size(),
              " keys names a current mapping (first: ", keys[0], ")"));
        }
        return absl::OkStatus();
      },
      actor, comment);
}

absl::StatusOr<int64_t> TerminologyStore::ImportCsv(
    std::string_view csv, bool replace, const std::string& actor,
    const std::string& comment) {
  ASSIGN_OR_RETURN(std::vector<Row> rows, ParseCsv(csv));
  if (rows.empty() && !replace) {
    return absl::InvalidArgumentError("the CSV holds no mappings");
  }
  RowMap imported;
  for (Row& row : rows) {
    std::string key = row.Key();
    imported.emplace(std::move(key), std::move(row));
  }
  return Commit(
      [imported = std::move(imported), replace](RowMap& current) {
        if (replace) {
          current = imported;
        } else {
          for (const auto& [key, row] : imported) current[key] = row;
        }
        return absl::OkStatus();
      },
      actor, comment);
}

absl::StatusOr<int64_t> TerminologyStore::Commit(Edit edit,
                                                 const std::string& actor,
                                                 const std::string& comment) {
  if (actor.empty()) return absl::InvalidArgumentError("actor is required");
  std::lock_guard<std::mutex> change_lock(change_mu_);
  // Filled by the job (which may run more than once: each run overwrites).
  struct Result {
    int64_t version = 0;
    bool unchanged = false;
    RowMap rows;
  };
  auto result = std::make_shared<Result>();
  RETURN_IF_ERROR(store_->RunJob(
      [this, edit, actor, comment, result](
          store::WriteTxn& txn, intake::AuditAppender& audit) -> absl::Status {
        ASSIGN_OR_RETURN(store::Dbi meta, store_->Db("meta"));
        ASSIGN_OR_RETURN(store::Dbi db, store_->Db(kDbName));
        ASSIGN_OR_RETURN(const int64_t base, ReadCurrent(txn, meta));
        RowMap before;
        if (base != 0) {
          ASSIGN_OR_RETURN(pb::TerminologyVersion p,
                           ReadVersionProto(txn, db, base));
          before = ToMap(p);
        }
        RowMap after = before;
        RETURN_IF_ERROR(edit(after));
        if (after == before) {
          result->version = base;
          result->unchanged = true;
          return absl::OkStatus();
        }
        // Versions only grow, also past a pointer someone reset by hand.
        int64_t version = base + 1;
        {
          ASSIGN_OR_RETURN(store::Cursor c, txn.OpenCursor(db));
          absl::StatusOr<store::KeyValue> last = c.Last();
          if (last.ok()) {
            ASSIGN_OR_RETURN(int64_t max, DecodeVersion(last->key));
            version = std::max(version, max + 1);
          } else if (!absl::IsNotFound(last.status())) {
            return last.status();
          }
        }
        const int64_t now = clock_->NowMicros();
        pb::TerminologyVersion p;
        p.set_version(version);
        p.set_created_at_us(now);
        p.set_actor(actor);
        p.set_comment(comment);
        for (const auto& [key, row] : after) *p.add_rows() = ToProto(row);
        std::string value;
        p.SerializeToString(&value);
        RETURN_IF_ERROR(txn.Put(db, EncodeVersion(version), value));
        RETURN_IF_ERROR(txn.Put(meta, kCurrentKey, EncodeVersion(version)));
        const VersionDiff counts = DiffRows(before, after);
        pb::AuditRecord r;
        r.set_time_us(now);
        r.set_type(pb::AUDIT_TERMINOLOGY_CHANGED);
        r.set_outcome(pb::AUDIT_OUTCOME_SUCCESS);
        r.set_actor(actor);
        std::string detail = absl::StrCat(
            "terminology v", version, " (from v", base, "): ",
            counts.added.size(), " added, ", counts.removed.size(),
            " removed, ", counts.changed.size(),
            " changed, ", after.size(), " rows");
        if (!comment.empty()) absl::StrAppend(&detail, "; ", comment);
        if (detail.size() > kMaxDetail) detail.resize(kMaxDetail);
        r.set_detail(detail);
        RETURN_IF_ERROR(audit.Append(std::move(r)));
        result->version = version;
        result->unchanged = false;
        result->rows = std::move(after);
        return absl::OkStatus();
      }));
  if (result->unchanged) return result->version;
  Publish(result->version, result->rows);
  LOG(INFO) << "terminology version " << result->version << " by " << actor
            << " (" << result->rows.size() << " rows)";
  std::shared_ptr<const fhir::Terminology> snapshot;
  std::vector<std::function<void(std::shared_ptr<const fhir::Terminology>)>>
      callbacks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot = current_;
    callbacks = callbacks_;
  }
  for (const auto& cb : callbacks) cb(snapshot);
  return result->version;
}

}  // namespace appliance::terminology
