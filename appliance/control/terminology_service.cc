#include "appliance/control/terminology_service.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/control/convert.h"

namespace appliance::control {
namespace {

using TS = api::TerminologyService;
using terminology::Row;
constexpr char kKind[] = "terminology";
constexpr size_t kMaxCsvBytes = 16 << 20;

void ToApi(const Row& r, api::TerminologyRow* out) {
  out->set_kind(r.kind);
  out->set_source_system(r.source_system);
  out->set_source_code(r.source_code);
  out->set_facility(r.facility);
  out->set_target_system(r.target_system);
  out->set_target_code(r.target_code);
  out->set_target_display(r.target_display);
  out->set_key(r.Key());
}

Row FromApi(const api::TerminologyRow& r) {
  Row row;
  row.kind = r.kind();
  row.source_system = r.source_system();
  row.source_code = r.source_code();
  row.facility = r.facility();
  row.target_system = r.target_system();
  row.target_code = r.target_code();
  row.target_display = r.target_display();
  return row;
}

absl::Status CheckVersion(int64_t version, const char* field) {
  if (version < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be >= 0 (0: the current version)"));
  }
  return absl::OkStatus();
}

absl::Status CheckComment(const std::string& comment) {
  return CheckOperatorText(comment, "comment", 200, /*required=*/false);
}

// The version's number as the store resolved it (0 -> current).
int64_t Resolve(const terminology::TerminologyStore& t, int64_t version) {
  return version == 0 ? t.current_version() : version;
}

}  // namespace

grpc::Status TerminologyServiceImpl::Run(grpc::ServerContext* ctx,
                                         const char* method,
                                         const CallGuard::Body& body) const {
  return guard_->Run(
      ctx, FullMethod<TS>(method), 0,
      [&](const Principal& who) -> absl::Status {
        if (terminology_ == nullptr) {
          return absl::UnavailableError("the terminology store is not running");
        }
        return body(who);
      });
}

grpc::Status TerminologyServiceImpl::ListVersions(
    grpc::ServerContext* ctx, const api::ListVersionsRequest*,
    api::ListVersionsResponse* resp) {
  return Run(ctx, "ListVersions", [&](const Principal&) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<terminology::VersionInfo> versions,
                     terminology_->ListVersions());
    const int64_t current = terminology_->current_version();
    resp->set_current_version(current);
    for (const terminology::VersionInfo& v : versions) {
      api::TerminologyVersion* out = resp->add_versions();
      out->set_version(v.version);
      ToTimestamp(v.created_at_us, out->mutable_created_at());
      out->set_actor(v.actor);
      out->set_comment(v.comment);
      out->set_rows(v.rows);
      out->set_current(v.version == current);
    }
    return absl::OkStatus();
  });
}

grpc::Status TerminologyServiceImpl::ListMaps(grpc::ServerContext* ctx,
                                              const api::ListMapsRequest* req,
                                              api::ListMapsResponse* resp) {
  return Run(ctx, "ListMaps", [&](const Principal&) -> absl::Status {
    RETURN_IF_ERROR(CheckVersion(req->version(), "version"));
    ASSIGN_OR_RETURN(std::vector<Row> rows, terminology_->Rows(req->version()));
    std::map<std::pair<std::string, std::string>, uint64_t> maps;
    for (const Row& r : rows) {
      maps[{r.kind, r.kind == "code" ? r.source_system : ""}]++;
    }
    resp->set_version(Resolve(*terminology_, req->version()));
    for (const auto& [key, n] : maps) {
      auto* m = resp->add_maps();
      m->set_kind(key.first);
      m->set_source_system(key.second);
      m->set_rows(n);
    }
    return absl::OkStatus();
  });
}

grpc::Status TerminologyServiceImpl::GetRows(grpc::ServerContext* ctx,
                                             const api::GetRowsRequest* req,
                                             api::GetRowsResponse* resp) {
  return Run(ctx, "GetRows", [&](const Principal&) -> absl::Status {
    RETURN_IF_ERROR(CheckVersion(req->version(), "version"));
    ASSIGN_OR_RETURN(uint64_t offset,
                     DecodePageToken(kKind, req->page_token()));
    ASSIGN_OR_RETURN(std::vector<Row> rows, terminology_->Rows(req->version()));
    resp->set_version(Resolve(*terminology_, req->version()));
    const uint32_t page = EffectivePageSize(req->page_size());
    // The token is the position in the version's (immutable, sorted) rows
    // among those matching the filters.
    uint64_t index = 0;
    for (const Row& r : rows) {
      if ((!req->kind().empty() && r.kind != req->kind()) ||
          (!req->source_system().empty() &&
           r.source_system != req->source_system())) {
        continue;
      }
      if (index++ < offset) continue;
      if (resp->rows_size() == static_cast<int>(page)) {
        resp->set_next_page_token(EncodePageToken(kKind, index - 1));
        break;
      }
      ToApi(r, resp->add_rows());
    }
    return absl::OkStatus();
  });
}

grpc::Status TerminologyServiceImpl::Lookup(grpc::ServerContext* ctx,
                                            const api::LookupRequest* req,
                                            api::LookupResponse* resp) {
  return Run(ctx, "Lookup", [&](const Principal&) -> absl::Status {
    const std::string kind = req->kind().empty() ? "code" : req->kind();
    if (kind != "code" && kind != "system" && kind != "unit" &&
        kind != "authority") {
      return absl::InvalidArgumentError(
          "kind: one of code, system, unit, authority");
    }
    if ((kind == "code" || kind == "system" || kind == "authority") &&
        req->source_system().empty()) {
      return absl::InvalidArgumentError("source_system: required");
    }
    if ((kind == "code" || kind == "unit") && req->source_code().empty()) {
      return absl::InvalidArgumentError("source_code: required");
    }
    RETURN_IF_ERROR(CheckVersion(req->version(), "version"));
    if (req->version() == 0) {
      // Exactly as the mapping stage resolves it now (built-ins included).
      std::shared_ptr<const fhir::Terminology> t = terminology_->Current();
      resp->set_version(terminology_->current_version());
      auto add = [&](const fhir::Coding& c) {
        api::TerminologyRow* row = resp->add_matches();
        row->set_kind(kind);
        row->set_source_system(req->source_system());
        row->set_source_code(req->source_code());
        row->set_facility(req->facility());
        row->set_target_system(c.system);
        row->set_target_code(c.code);
        row->set_target_display(c.display);
      };
      if (kind == "code") {
        if (const auto* codings = t->LookupCode(
                req->source_system(), req->source_code(), req->facility())) {
          for (const fhir::Coding& c : *codings) add(c);
        }
        resp->set_system_uri(
            t->SystemUri(req->source_system(), req->facility()));
      } else if (kind == "unit") {
        if (const fhir::Coding* c = t->LookupUnit(req->source_code())) add(*c);
      } else if (kind == "system") {
        resp->set_system_uri(
            t->SystemUri(req->source_system(), req->facility()));
      } else {
        resp->set_system_uri(t->AuthorityUri(req->source_system()));
      }
      return absl::OkStatus();
    }
    // A stored version: its rows (facility-specific rows first).
    ASSIGN_OR_RETURN(std::vector<Row> rows, terminology_->Rows(req->version()));
    resp->set_version(req->version());
    std::vector<const Row*> specific, any;
    for (const Row& r : rows) {
      if (r.kind != kind) continue;
      if (kind != "unit" && r.source_system != req->source_system()) continue;
      if ((kind == "code" || kind == "unit") &&
          r.source_code != req->source_code()) {
        continue;
      }
      if (kind == "code" && !r.facility.empty()) {
        if (r.facility == req->facility()) specific.push_back(&r);
      } else {
        any.push_back(&r);
      }
    }
    for (const Row* r : specific.empty() ? any : specific) {
      ToApi(*r, resp->add_matches());
    }
    return absl::OkStatus();
  });
}

grpc::Status TerminologyServiceImpl::DiffVersions(
    grpc::ServerContext* ctx, const api::DiffVersionsRequest* req,
    api::DiffVersionsResponse* resp) {
  return Run(ctx, "DiffVersions", [&](const Principal&) -> absl::Status {
    RETURN_IF_ERROR(CheckVersion(req->from_version(), "from_version"));
    RETURN_IF_ERROR(CheckVersion(req->to_version(), "to_version"));
    ASSIGN_OR_RETURN(
        terminology::VersionDiff diff,
        terminology_->Diff(req->from_version(), req->to_version()));
    for (const Row& r : diff.added) ToApi(r, resp->add_added());
    for (const Row& r : diff.removed) ToApi(r, resp->add_removed());
    for (const auto& [from, to] : diff.changed) {
      auto* c = resp->add_changed();
      ToApi(from, c->mutable_from());
      ToApi(to, c->mutable_to());
    }
    return absl::OkStatus();
  });
}

grpc::Status TerminologyServiceImpl::ExportCsv(grpc::ServerContext* ctx,
                                               const api::ExportCsvRequest* req,
                                               api::ExportCsvResponse* resp) {
  return Run(ctx, "ExportCsv", [&](const Principal&) -> absl::Status {
    RETURN_IF_ERROR(CheckVersion(req->version(), "version"));
    ASSIGN_OR_RETURN(std::string csv, terminology_->ExportCsv(req->version()));
    resp->set_version(Resolve(*terminology_, req->version()));
    resp->set_csv(std::move(csv));
    return absl::OkStatus();
  });
}

grpc::Status TerminologyServiceImpl::UpsertRows(
    grpc::ServerContext* ctx, const api::UpsertRowsRequest* req,
    api::TerminologyChangeResponse* resp) {
  return Run(ctx, "UpsertRows", [&](const Principal& who) -> absl::Status {
    if (req->rows().empty()) {
      return absl::InvalidArgumentError("rows: at least one row is required");
    }
    RETURN_IF_ERROR(CheckComment(req->comment()));
    std::vector<Row> rows;
    for (const api::TerminologyRow& r : req->rows()) rows.push_back(FromApi(r));
    ASSIGN_OR_RETURN(int64_t version,
                     terminology_->Upsert(rows, who.name, req->comment()));
    resp->set_version(version);
    return absl::OkStatus();
  });
}

grpc::Status TerminologyServiceImpl::DeleteRows(
    grpc::ServerContext* ctx, const api::DeleteRowsRequest* req,
    api::TerminologyChangeResponse* resp) {
  return Run(ctx, "DeleteRows", [&](const Principal& who) -> absl::Status {
    if (req->keys().empty()) {
      return absl::InvalidArgumentError("keys: at least one key is required");
    }
    RETURN_IF_ERROR(CheckComment(req->comment()));
    std::vector<std::string> keys(req->keys().begin(), req->keys().end());
    ASSIGN_OR_RETURN(int64_t version,
                     terminology_->Delete(keys, who.name, req->comment()));
    resp->set_version(version);
    return absl::OkStatus();
  });
}

grpc::Status TerminologyServiceImpl::ImportCsv(
    grpc::ServerContext* ctx, const api::ImportCsvRequest* req,
    api::TerminologyChangeResponse* resp) {
  return Run(ctx, "ImportCsv", [&](const Principal& who) -> absl::Status {
    if (req->csv().empty()) {
      return absl::InvalidArgumentError("csv: required");
    }
    if (req->csv().size() > kMaxCsvBytes) {
      return absl::InvalidArgumentError("csv: larger than 16 MiB");
    }
    RETURN_IF_ERROR(CheckComment(req->comment()));
    ASSIGN_OR_RETURN(int64_t version,
                     terminology_->ImportCsv(req->csv(), req->replace(),
                                             who.name, req->comment()));
    resp->set_version(version);
    return absl::OkStatus();
  });
}

}  // namespace appliance::control
