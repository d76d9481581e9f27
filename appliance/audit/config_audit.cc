#include "appliance/audit/config_audit.h"

#include <google/protobuf/text_format.h>

#include <future>
#include <optional>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/crypto/hash.h"

namespace appliance::audit {
namespace {

namespace pb = ::hl7appliance::store::v1;

constexpr char kConfigHashKey[] = "config_sha256";

}  // namespace

absl::StatusOr<bool> RecordConfiguration(intake::MessageStore* store,
                                         const Clock* clock,
                                         const google::protobuf::Message& config,
                                         const std::string& actor) {
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  if (!printer.PrintToString(config, &text)) {
    return absl::InternalError("configuration cannot be printed");
  }
  const std::string hash(crypto::AsBytes(crypto::Sha256(text)));
  bool changed = false;
  RETURN_IF_ERROR(store->RunJob(
      [&](store::WriteTxn& txn, intake::AuditAppender& audit) -> absl::Status {
        changed = false;
        ASSIGN_OR_RETURN(store::Dbi meta, store->Db("meta"));
        ASSIGN_OR_RETURN(std::optional<std::string_view> old, txn.Find(meta, kConfigHashKey));
        if (old.has_value() && *old == hash) return absl::OkStatus();
        changed = true;
        RETURN_IF_ERROR(txn.Put(meta, kConfigHashKey, hash));
        pb::AuditRecord r;
        r.set_time_us(clock->NowMicros());
        r.set_type(pb::AUDIT_CONFIG_CHANGED);
        r.set_outcome(pb::AUDIT_OUTCOME_SUCCESS);
        r.set_actor(actor);
        r.set_detail(absl::StrCat(
            "configuration ",
            old.has_value() ? crypto::ToHex(*old).substr(0, 16) : std::string("(none)"),
            " -> ", crypto::ToHex(hash).substr(0, 16)));
        return audit.Append(std::move(r));
      }));
  return changed;
}

}  // namespace appliance::audit
