// `hl7ctl stats` (StatsService) and `hl7ctl admin ...` (AdminService).

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/control/v1/admin.grpc.pb.h"
#include "api/control/v1/stats.grpc.pb.h"
#include "tools/hl7ctl/command_util.h"

namespace hl7ctl {
namespace {

using F = FlagSpec;

int Stats(Invocation& inv) {
  api::GetStatsRequest req;
  req.set_count_messages(inv.Has("count_messages"));
  api::GetStatsResponse resp;
  auto s = api::StatsService::NewStub(inv.conn().channel())
               ->GetStats(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    Fields f;
    FlattenStruct(resp.dashboard(), "", &f);
    f.emplace_back("audit_records", absl::StrCat(resp.audit_records()));
    f.emplace_back("mapping.mapped", absl::StrCat(resp.mapped()));
    f.emplace_back("mapping.held", absl::StrCat(resp.held()));
    for (const auto& [k, v] : DeliveryFields(resp.delivery())) {
      f.emplace_back("delivery_stage." + k, v);
    }
    if (req.count_messages()) {
      f.emplace_back("stored.messages", absl::StrCat(resp.messages()));
      for (const auto& [k, v] : std::map<std::string, uint64_t>(
               resp.by_state().begin(), resp.by_state().end())) {
        f.emplace_back("stored.by_state." + k, absl::StrCat(v));
      }
      for (const auto& [k, v] : std::map<std::string, uint64_t>(
               resp.by_type().begin(), resp.by_type().end())) {
        f.emplace_back("stored.by_type." + k, absl::StrCat(v));
      }
    }
    PrintFields(inv.out(), f);
  });
}

std::unique_ptr<api::AdminService::Stub> Stub(Invocation& inv) {
  return api::AdminService::NewStub(inv.conn().channel());
}

int WhoAmI(Invocation& inv) {
  api::WhoAmIResponse resp;
  auto s = Stub(inv)->WhoAmI(inv.Context().get(), api::WhoAmIRequest(), &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    PrintFields(inv.out(),
                {{"name", resp.name()},
                 {"role", resp.role()},
                 {"authenticated_by", resp.authenticated_by()},
                 {"permissions", absl::StrJoin(resp.permissions(), ", ")}});
  });
}

int Config(Invocation& inv) {
  api::GetConfigResponse resp;
  auto s =
      Stub(inv)->GetConfig(inv.Context().get(), api::GetConfigRequest(), &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    if (resp.redacted_fields_size() > 0) {
      inv.out() << "# redacted: " << absl::StrJoin(resp.redacted_fields(), ", ")
                << "\n";
    }
    inv.out() << resp.config_text();
  });
}

int RotateKey(Invocation& inv) {
  api::RotateDataKeyRequest req;
  req.set_reason(inv.Get("reason"));
  api::RotateDataKeyResponse resp;
  auto s = Stub(inv)->RotateDataKey(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    PrintFields(inv.out(),
                {{"key_id", absl::StrCat(resp.key_id())},
                 {"previous_key_id", absl::StrCat(resp.previous_key_id())},
                 {"keys", absl::StrCat(resp.keys())}});
  });
}

int Backup(Invocation& inv) {
  api::BackupRequest req;
  req.set_destination_dir(inv.Get("path"));
  if (req.destination_dir().empty()) {
    return inv.Usage(
        "--path=DIR is required (absolute, on the appliance's host)");
  }
  api::BackupResponse resp;
  auto s = Stub(inv)->Backup(inv.Context().get(), req, &resp);
  if (!s.ok()) return inv.Fail(s);
  return Print(inv, resp, [&] {
    PrintFields(inv.out(), {{"destination_dir", resp.destination_dir()},
                            {"bytes", absl::StrCat(resp.bytes())},
                            {"completed_at", FormatTime(resp.completed_at())}});
  });
}

}  // namespace

void AddStatsCommands(std::vector<Command>* c) {
  c->push_back(
      {"stats",
       "[--count_messages]",
       "The dashboard's numbers (StatsService.GetStats; the document of\n"
       "/api/v1/stats under `dashboard`), the delivery stage and the\n"
       "mapping counters. --count_messages also counts every stored\n"
       "message by state and type (reads the whole store).\n",
       {{"count_messages", F::kBool}},
       0,
       0,
       Stats});
}

void AddAdminCommands(std::vector<Command>* c) {
  c->push_back({"admin whoami",
                "",
                "Who the credentials authenticate as, the role and its\n"
                "permissions (AdminService.WhoAmI; any principal).\n",
                {},
                0,
                0,
                WhoAmI});
  c->push_back({"admin config",
                "",
                "The effective configuration in text format, secrets redacted\n"
                "(AdminService.GetConfig; needs admin).\n",
                {},
                0,
                0,
                Config});
  c->push_back({"admin rotate-key",
                "[--reason=TEXT]",
                "Make a new data key current; older keys stay for reading\n"
                "(AdminService.RotateDataKey; needs admin).\n",
                {{"reason"}},
                0,
                0,
                RotateKey});
  c->push_back(
      {"admin backup",
       "--path=DIR",
       "Online compacted copy of the store into DIR on the appliance's\n"
       "host: absolute, created 0700, must not hold a data.mdb. The key\n"
       "file is not copied (AdminService.Backup; needs admin).\n",
       {{"path"}},
       0,
       0,
       Backup});
}

}  // namespace hl7ctl
