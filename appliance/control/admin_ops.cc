#include "appliance/control/admin_ops.h"

#include <google/protobuf/text_format.h>
#include <sys/stat.h>

#include <future>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "appliance/base/status_macros.h"
#include "appliance/control/audit_writer.h"
#include "appliance/crypto/keys.h"
#include "appliance/store/keys.h"

namespace appliance::control {
namespace {

namespace spb = ::hl7appliance::store::v1;

constexpr char kRedacted[] = "<redacted>";

}  // namespace

absl::StatusOr<KeyRotation> RotateDataKey(intake::MessageStore* store,
                                          const Clock* clock,
                                          const std::string& actor,
                                          const std::string& reason) {
  static std::mutex* const rotation_mu = new std::mutex;
  std::lock_guard<std::mutex> lock(*rotation_mu);
  // The store owns its ring as a mutable object and hands it out read-only;
  // DataKeyRing::Add is thread-safe against the Seal()/Open() of other
  // threads.
  auto* ring = const_cast<crypto::DataKeyRing*>(store->keys());
  if (ring == nullptr) {
    return absl::FailedPreconditionError("the store was opened without keys");
  }
  KeyRotation result;
  result.previous_key_id = ring->current_key_id();
  ASSIGN_OR_RETURN(const crypto::WrappedKey key, ring->NewKey());
  ASSIGN_OR_RETURN(const store::Dbi keys_db, store->Db("keys"));
  const int64_t now_us = clock->NowMicros();
  std::string detail = absl::StrCat("data key ", key.id, " current (was ",
                                    result.previous_key_id, ")");
  if (!reason.empty()) absl::StrAppend(&detail, ": ", reason);
  if (detail.size() > 200) detail.resize(200);

  auto done = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> finished = done->get_future();
  store->SubmitJob(
      [&, key](store::WriteTxn& txn, intake::AuditAppender& audit) {
        RETURN_IF_ERROR(txn.Put(keys_db, store::EncodeU64BE(key.id),
                                key.wrapped, store::PutMode::kNoOverwrite));
        spb::AuditRecord r;
        r.set_time_us(now_us);
        r.set_type(spb::AUDIT_KEY_ROTATED);
        r.set_actor(actor);
        r.set_detail(detail);
        return audit.Append(std::move(r));
      },
      // On the writer thread, after the commit: the intake seals on that
      // thread too, so every batch from here on uses the new key (and records
      // its id).
      [done, ring, key](absl::Status s) {
        if (s.ok()) s = ring->Add(key);
        done->set_value(std::move(s));
      });
  RETURN_IF_ERROR(finished.get());
  result.key_id = ring->current_key_id();
  result.keys = static_cast<uint32_t>(ring->size());
  return result;
}

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
