// `hl7ctl terminology ...` (TerminologyService).

#include <iostream>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/control/v1/terminology.grpc.pb.h"
#include "appliance/fhir/terminology.h"
#include "tools/hl7ctl/command_util.h"
#include "tools/hl7ctl/file_util.h"

namespace hl7ctl {
namespace {

using F = FlagSpec;

std::unique_ptr<api::TerminologyService::Stub> Stub(Invocation& inv) {
  return api::TerminologyService::NewStub(inv.conn().channel());
}

std::vector<std::string> RowCells(const api::TerminologyRow& r) {
  return {r.key(),         r.kind(),          r.source_system(),
          r.source_code(), r.facility(),      r.target_system(),
          r.target_code(), r.target_display()};
}

const std::vector<std::string> kRowHeaders = {
    "KEY",      "KIND",          "SOURCE_SYSTEM", "SOURCE_CODE",
    "FACILITY", "TARGET_SYSTEM", "TARGET_CODE",   "TARGET_DISPLAY"};

int Versions(Invocation& inv) {
  api::ListVersionsResponse resp;
  auto s = Stub(inv)->ListVersions(inv.Context().get(),
                                   api::ListVersionsRequest(), &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    Table t({"VERSION", "CURRENT", "CREATED", "ACTOR", "ROWS", "COMMENT"});
    for (const auto& v : resp.versions()) {
      t.Add({absl::StrCat(v.version()), v.current() ? "*" : "",
             FormatTime(v.created_at()), v.actor(), absl::StrCat(v.rows()),
             v.comment()});
    }
    t.Print(inv.out());
  });
}

int Maps(Invocation& inv) {
  api::ListMapsRequest req;
  int64_t version = 0;
  if (!inv.Int("version", &version)) return kExitUsage;
  req.set_version(version);
  api::ListMapsResponse resp;
  auto s = Stub(inv)->ListMaps(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    inv.out() << "version " << resp.version() << "\n";
    Table t({"KIND", "SOURCE_SYSTEM", "ROWS"});
    for (const auto& m : resp.maps()) {
      t.Add({m.kind(), m.source_system().empty() ? "-" : m.source_system(),
             absl::StrCat(m.rows())});
    }
    t.Print(inv.out());
  });
}

int Rows(Invocation& inv) {
  api::GetRowsRequest req;
  int64_t version = 0;
  uint64_t limit = 0;
  if (!inv.Int("version", &version) || !inv.Uint("limit", 1000, &limit)) {
    return kExitUsage;
  }
  req.set_version(version);
  req.set_kind(inv.Get("kind"));
  req.set_source_system(inv.Get("source_system"));
  req.set_page_size(static_cast<uint32_t>(limit));
  req.set_page_token(inv.Get("page_token"));
  api::GetRowsResponse resp;
  auto s = Stub(inv)->GetRows(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    Table t(kRowHeaders);
    for (const auto& r : resp.rows()) t.Add(RowCells(r));
    t.Print(inv.out());
    PrintNextPage(inv, resp.next_page_token());
  });
}

int Lookup(Invocation& inv) {
  api::LookupRequest req;
  int64_t version = 0;
  if (!inv.Int("version", &version)) return kExitUsage;
  req.set_version(version);
  req.set_kind(inv.Get("kind", "code"));
  req.set_source_system(inv.Get("source_system"));
  req.set_source_code(inv.Get("source_code"));
  req.set_facility(inv.Get("facility"));
  if (req.source_system().empty() && req.source_code().empty()) {
    return inv.Usage("give --source_system and/or --source_code");
  }
  api::LookupResponse resp;
  auto s = Stub(inv)->Lookup(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  Print(inv, resp, [&] {
    inv.out() << "version " << resp.version() << ", system_uri "
              << (resp.system_uri().empty() ? "-" : resp.system_uri()) << "\n";
    Table t(kRowHeaders);
    for (const auto& r : resp.matches()) t.Add(RowCells(r));
    t.Print(inv.out());
  });
  if (resp.matches_size() == 0) {
    return inv.Error(kExitNotFound, "no mapping");
  }
  return kExitOk;
}

int Diff(Invocation& inv) {
  api::DiffVersionsRequest req;
  int64_t from, to;
  if (!absl::SimpleAtoi(inv.args()[0], &from) ||
      !absl::SimpleAtoi(inv.args()[1], &to) || from < 0 || to < 0) {
    return inv.Usage("FROM and TO: version numbers (0: the current one)");
  }
  req.set_from_version(from);
  req.set_to_version(to);
  api::DiffVersionsResponse resp;
  auto s = Stub(inv)->DiffVersions(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    std::vector<std::string> headers = {"CHANGE"};
    headers.insert(headers.end(), kRowHeaders.begin(), kRowHeaders.end());
    Table t(headers);
    auto add = [&](const char* what, const api::TerminologyRow& r) {
      std::vector<std::string> cells = {what};
      for (auto& c : RowCells(r)) cells.push_back(std::move(c));
      t.Add(std::move(cells));
    };
    for (const auto& r : resp.added()) add("added", r);
    for (const auto& r : resp.removed()) add("removed", r);
    for (const auto& c : resp.changed()) {
      add("changed-from", c.from());
      add("changed-to", c.to());
    }
    t.Print(inv.out());
  });
}

int Export(Invocation& inv) {
  api::ExportCsvRequest req;
  int64_t version = 0;
  if (!inv.Int("version", &version)) return kExitUsage;
  req.set_version(version);
  api::ExportCsvResponse resp;
  auto s = Stub(inv)->ExportCsv(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] { inv.out() << resp.csv(); });
}

int Change(Invocation& inv, const grpc::Status& s,
           const api::TerminologyChangeResponse& resp) {
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    PrintFields(inv.out(), {{"version", absl::StrCat(resp.version())}});
  });
}

// A row from its CSV line (terminology.h's format).
bool ParseRow(Invocation& inv, const std::string& line,
              api::TerminologyRow* row) {
  std::vector<std::string> f;
  if (!appliance::fhir::SplitCsvLine(line, &f).ok() || f.size() != 7) {
    inv.Usage("--row=" + line +
              ": expected kind,source_system,source_code,facility,"
              "target_system,target_code,target_display");
    return false;
  }
  row->set_kind(f[0]);
  row->set_source_system(f[1]);
  row->set_source_code(f[2]);
  row->set_facility(f[3]);
  row->set_target_system(f[4]);
  row->set_target_code(f[5]);
  row->set_target_display(f[6]);
  return true;
}

int Upsert(Invocation& inv) {
  api::UpsertRowsRequest req;
  req.set_comment(inv.Get("comment"));
  for (const std::string& line : inv.GetRaw("row")) {
    if (!ParseRow(inv, line, req.add_rows())) return kExitUsage;
  }
  static const char* const kFields[] = {
      "kind",          "source_system", "source_code",   "facility",
      "target_system", "target_code",   "target_display"};
  bool any = false;
  for (const char* f : kFields) any |= inv.Has(f);
  if (any) {
    api::TerminologyRow* row = req.add_rows();
    row->set_kind(inv.Get("kind", "code"));
    row->set_source_system(inv.Get("source_system"));
    row->set_source_code(inv.Get("source_code"));
    row->set_facility(inv.Get("facility"));
    row->set_target_system(inv.Get("target_system"));
    row->set_target_code(inv.Get("target_code"));
    row->set_target_display(inv.Get("target_display"));
  }
  if (req.rows_size() == 0) {
    return inv.Usage(
        "give a row: --row=CSV or --source_system=... --target_...");
  }
  api::TerminologyChangeResponse resp;
  auto s = Stub(inv)->UpsertRows(inv.Context().get(), req, &resp);
  return Change(inv, s, resp);
}

int Delete(Invocation& inv) {
  api::DeleteRowsRequest req;
  for (const auto& key : inv.args()) req.add_keys(key);
  req.set_comment(inv.Get("comment"));
  api::TerminologyChangeResponse resp;
  auto s = Stub(inv)->DeleteRows(inv.Context().get(), req, &resp);
  return Change(inv, s, resp);
}

int Import(Invocation& inv) {
  api::ImportCsvRequest req;
  const std::string& path = inv.args()[0];
  std::string csv, error;
  if (path == "-") {
    csv.assign(std::istreambuf_iterator<char>(std::cin),
               std::istreambuf_iterator<char>());
  } else if (!ReadRegularFile(path, &csv, &error)) {
    return inv.Usage(path + ": " + error);
  }
  req.set_csv(csv);
  req.set_replace(inv.Has("replace"));
  req.set_comment(inv.Get("comment"));
  api::TerminologyChangeResponse resp;
  auto s = Stub(inv)->ImportCsv(inv.Context().get(), req, &resp);
  return Change(inv, s, resp);
}

}  // namespace

void AddTerminologyCommands(std::vector<Command>* c) {
  c->push_back({"terminology versions",
                "",
                "Terminology versions, newest first; * marks the current one\n"
                "(TerminologyService.ListVersions).\n",
                {},
                0,
                0,
                Versions});
  c->push_back({"terminology maps",
                "[--version=N]",
                "The maps of a version (default: current) with row counts\n"
                "(TerminologyService.ListMaps).\n",
                {{"version"}},
                0,
                0,
                Maps});
  c->push_back(
      {"terminology rows",
       "[--version=N] [--kind=KIND] [--source_system=S] [--limit=N] "
       "[--page_token=T]",
       "Rows of a version (TerminologyService.GetRows). KIND: code,\n"
       "system, unit or authority. Exit 3 for an unknown version.\n",
       {{"version"}, {"kind"}, {"source_system"}, {"limit"}, {"page_token"}},
       0,
       0,
       Rows});
  c->push_back(
      {"terminology lookup",
       "--source_system=S [--source_code=C] [--facility=F] [--kind=KIND] "
       "[--version=N]",
       "What a code (unit, system, authority) maps to, as the mapping\n"
       "stage resolves it (TerminologyService.Lookup). Exit 3 when it\n"
       "maps to nothing.\n",
       {{"source_system"},
        {"source_code"},
        {"facility"},
        {"kind"},
        {"version"}},
       0,
       0,
       Lookup});
  c->push_back({"terminology diff",
                "FROM TO",
                "Rows added, removed and changed between two versions (0: the\n"
                "current one) (TerminologyService.DiffVersions).\n",
                {},
                2,
                2,
                Diff});
  c->push_back(
      {"terminology export",
       "[--version=N]",
       "A version as CSV, with a header (TerminologyService.ExportCsv).\n",
       {{"version"}},
       0,
       0,
       Export});
  c->push_back(
      {"terminology upsert",
       "[--row=CSV]... [--kind=code --source_system=S --source_code=C "
       "[--facility=F] --target_system=URI --target_code=C "
       "[--target_display=TEXT]] [--comment=TEXT]",
       "Insert or replace rows (same key) and commit a new version\n"
       "(TerminologyService.UpsertRows; needs terminology.write).\n"
       "--row takes one CSV line: kind,source_system,source_code,\n"
       "facility,target_system,target_code,target_display. Prints the\n"
       "new version.\n",
       {{"row", F::kRepeated},
        {"kind"},
        {"source_system"},
        {"source_code"},
        {"facility"},
        {"target_system"},
        {"target_code"},
        {"target_display"},
        {"comment"}},
       0,
       0,
       Upsert});
  c->push_back(
      {"terminology delete",
       "KEY... [--comment=TEXT]",
       "Delete rows by key (the KEY column of `terminology rows`)\n"
       "(TerminologyService.DeleteRows; needs terminology.write). Exit\n"
       "3 when none exists.\n",
       {{"comment"}},
       1,
       1000,
       Delete});
  c->push_back(
      {"terminology import",
       "FILE|- [--replace] [--comment=TEXT]",
       "Import a CSV file (appliance/fhir/terminology.h's format; - for\n"
       "stdin): upsert its rows, or with --replace make them the whole\n"
       "terminology (TerminologyService.ImportCsv; needs\n"
       "terminology.write). Prints the new version.\n",
       {{"replace", F::kBool}, {"comment"}},
       1,
       1,
       Import});
}

}  // namespace hl7ctl
