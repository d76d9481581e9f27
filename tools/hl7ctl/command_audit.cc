// `hl7ctl audit query|verify|export` against a running hl7d (AuditService).
// The offline verify / export (--data_dir) live in audit.cc.
#include <fstream>

#include "absl/strings/str_cat.h"
#include "api/control/v1/audit.grpc.pb.h"
#include "tools/hl7ctl/command_util.h"

namespace hl7ctl {
namespace {

using F = FlagSpec;

// The filters QueryAudit and ExportAudit share.
template <typename Request>
bool Filters(Invocation& inv, Request* req) {
  if (!inv.Time("from", [&] { return req->mutable_from(); }) ||
      !inv.Time("to", [&] { return req->mutable_to(); })) {
    return false;
  }
  for (const std::string& t : inv.GetAll("type")) {
    spb::AuditEventType type;
    const std::string name = t.rfind("AUDIT_", 0) == 0 ? t : "AUDIT_" + t;
    if (!spb::AuditEventType_Parse(name, &type)) {
      inv.Usage("--type=" + t + ": unknown event type (e.g. AUDIT_PHI_READ)");
      return false;
    }
    req->add_types(type);
  }
  uint64_t seq = 0;
  if (!inv.Uint("message_seq", UINT64_MAX, &seq)) return false;
  req->set_message_seq(seq);
  req->set_actor(inv.Get("actor"));
  return true;
}

int Query(Invocation& inv) {
  api::QueryAuditRequest req;
  uint64_t limit = 0;
  if (!Filters(inv, &req) || !inv.Uint("limit", 1000, &limit))
    return kExitUsage;
  req.set_page_size(static_cast<uint32_t>(limit));
  req.set_page_token(inv.Get("page_token"));
  api::QueryAuditResponse resp;
  auto s = api::AuditService::NewStub(inv.conn().channel())
               ->QueryAudit(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    Table t({"SEQ", "TIME", "TYPE", "OUTCOME", "ACTOR", "MESSAGE", "DETAIL"});
    for (const auto& e : resp.events()) {
      t.Add(
          {absl::StrCat(e.seq()), FormatTime(e.time()),
           ShortEnumName(spb::AuditEventType_Name(e.type()), "AUDIT_"),
           ShortEnumName(spb::AuditOutcome_Name(e.outcome()), "AUDIT_OUTCOME_"),
           e.actor(), e.message_seq() ? absl::StrCat(e.message_seq()) : "-",
           e.detail()});
    }
    t.Print(inv.out());
    PrintNextPage(inv, resp.next_page_token());
  });
}

int Verify(Invocation& inv) {
  api::VerifyAuditResponse resp;
  auto s =
      api::AuditService::NewStub(inv.conn().channel())
          ->VerifyAudit(inv.Context().get(), api::VerifyAuditRequest(), &resp);
  if (!s.ok()) return inv.Fail(s);
  Print(inv, resp, [&] {
    PrintText(inv.out(), resp.report());
  });
  return resp.ok() ? kExitOk : kExitServerError;
}

int Export(Invocation& inv) {
  api::ExportAuditRequest req;
  if (!Filters(inv, &req)) return kExitUsage;
  const std::string format = inv.Get("format", "jsonl");
  if (format == "jsonl") {
    req.set_format(api::AUDIT_EXPORT_FORMAT_JSON_LINES);
  } else if (format == "fhir") {
    req.set_format(api::AUDIT_EXPORT_FORMAT_FHIR_NDJSON);
  } else {
    return inv.Usage("--format must be jsonl or fhir, not \"" + format + "\"");
  }
  std::ofstream file;
  std::ostream* sink = &inv.out();
  if (inv.Has("out")) {
    file.open(inv.Get("out"), std::ios::binary | std::ios::trunc);
    if (!file) return inv.Usage("--out=" + inv.Get("out") + ": cannot write");
    sink = &file;
  }
  auto ctx = inv.Context();
  auto stub = api::AuditService::NewStub(inv.conn().channel());
  auto reader = stub->ExportAudit(ctx.get(), req);
  api::ExportAuditChunk chunk;
  uint64_t records = 0;
  while (reader->Read(&chunk)) {
    sink->write(chunk.data().data(),
                static_cast<std::streamsize>(chunk.data().size()));
    records += chunk.records();
    if (!*sink) {
      ctx->TryCancel();  // The reader went away: stop the stream.
      break;
    }
  }
  sink->flush();
  if (!*sink) {
    reader->Finish();
    return inv.Error(kExitServerError, "cannot write the export");
  }
  auto s = reader->Finish();
  if (!s.ok()) return inv.Fail(s);
  inv.err() << "hl7ctl audit export: " << records << " records\n";
  return kExitOk;
}

const std::vector<FlagSpec> kFilterFlags = {
    {"from"}, {"to"}, {"type", F::kRepeated}, {"message_seq"}, {"actor"}};

std::vector<FlagSpec> With(std::vector<FlagSpec> more) {
  std::vector<FlagSpec> all = kFilterFlags;
  all.insert(all.end(), more.begin(), more.end());
  return all;
}

}  // namespace

void AddAuditCommands(std::vector<Command>* c) {
  c->push_back(
      {"audit query",
       "[--from=TIME] [--to=TIME] [--type=EVENT]... [--message_seq=N] "
       "[--actor=NAME] [--limit=N] [--page_token=T]",
       "Audit records matching every filter (AuditService.QueryAudit;\n"
       "needs audit.read). TIME: RFC 3339 or YYYY-MM-DD (UTC), --from\n"
       "inclusive, --to exclusive. EVENT: AUDIT_PHI_READ, ... (the\n"
       "AUDIT_ prefix may be left out).\n",
       With({{"limit"}, {"page_token"}}), 0, 0, Query});
  c->push_back(
      {"audit verify",
       "--server=HOST:PORT",
       "hl7d walks its whole audit chain and checks the checkpoint\n"
       "(AuditService.VerifyAudit); prints its report. Exit 0 intact,\n"
       "1 not intact. (With --data_dir=DIR instead: offline, see\n"
       "`hl7ctl audit verify --help` without --server.)\n",
       {},
       0,
       0,
       Verify});
  c->push_back(
      {"audit export",
       "--server=HOST:PORT [--format=jsonl|fhir] [--from=TIME] "
       "[--to=TIME] [--type=EVENT]... [--message_seq=N] [--actor=NAME] "
       "[--out=FILE]",
       "Streams the matching records from hl7d (AuditService.\n"
       "ExportAudit) as JSON lines or FHIR R4 AuditEvent NDJSON, to\n"
       "stdout or --out; the count goes to stderr. (With --data_dir=DIR\n"
       "instead: offline.)\n",
       With({{"format"}, {"out"}}), 0, 0, Export});
}

}  // namespace hl7ctl
