#include "appliance/control/admin_ops.h"

#include <google/protobuf/text_format.h>
#include <sys/stat.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/control/audit_writer.h"

namespace appliance::control {
namespace {

namespace spb = ::hl7appliance::store::v1;

constexpr char kRedacted[] = "<redacted>";

}  // namespace

absl::StatusOr<uint64_t> BackupStore(intake::MessageStore* store,
                                     const Clock* clock,
                                     const std::string& dest_dir,
                                     const std::string& actor) {
  if (dest_dir.empty()) {
    return absl::InvalidArgumentError("destination_dir: required");
  }
  if (dest_dir[0] != '/') {
    return absl::InvalidArgumentError(
        "destination_dir: must be an absolute path on the appliance");
  }
  if (dest_dir.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("destination_dir: contains NUL");
  }
  RETURN_IF_ERROR(store->env().CopyCompact(dest_dir));
  struct stat st;
  const std::string file = dest_dir + "/data.mdb";
  if (stat(file.c_str(), &st) != 0) {
    return absl::InternalError("the backup copy is missing after the copy");
  }
  spb::AuditRecord r;
  r.set_time_us(clock->NowMicros());
  r.set_type(spb::AUDIT_BACKUP_CREATED);
  r.set_actor(actor);
  r.set_detail(absl::StrCat("online compacted backup, ", st.st_size, " bytes"));
  RETURN_IF_ERROR(AppendAuditNow(store, std::move(r)));
  return static_cast<uint64_t>(st.st_size);
}

std::string RedactedConfigText(::hl7appliance::config::v1::ApplianceConfig c,
                               std::vector<std::string>* redacted) {
  if (!c.ops().viewer_token_sha256().empty()) {
    c.mutable_ops()->set_viewer_token_sha256(kRedacted);
    redacted->push_back("ops.viewer_token_sha256");
  }
  for (int i = 0; i < c.control().principals_size(); ++i) {
    auto* p = c.mutable_control()->mutable_principals(i);
    if (!p->token_sha256().empty()) {
      p->set_token_sha256(kRedacted);
      redacted->push_back(
          absl::StrCat("control.principals[", i, "].token_sha256"));
    }
  }
  std::string text;
  google::protobuf::TextFormat::PrintToString(c, &text);
  return text;
}

}  // namespace appliance::control
