// Issue #7: every audit event type is produced by a real action of the
// appliance (intake, mapping, delivery, operators through the control plane,
// terminology, configuration, keys, backup, retention, start/stop), and the
// resulting trail verifies and exports as valid JSON.
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "appliance/audit/chain.h"
#include "appliance/audit/config_audit.h"
#include "appliance/audit/export.h"
#include "appliance/audit/retention.h"
#include "appliance/control/test_fixture.h"
#include "appliance/crypto/keys.h"
#include "google/protobuf/descriptor.h"

namespace appliance::control::testing {
namespace {

// Real time, some days ahead: retention then finds the messages old.
class LaterClock final : public Clock {
 public:
  int64_t NowMicros() const override {
    return RealClock::Get()->NowMicros() + 10LL * 86400 * 1000000;
  }
};

class AuditEventsTest : public ControlTest {};

TEST_F(AuditEventsTest, EveryEventTypeIsProducedByARealAction) {
  StartAll();
  // Configuration (hl7d records it at every start).
  ASSERT_TRUE(audit::RecordConfiguration(store_.get(), RealClock::Get(), config_, "hl7d").ok());

  // Intake: accepted, repeated, rejected.
  std::string code;
  const uint64_t ok = Send(Adt("EV-1"), &code);
  EXPECT_EQ(code, "AA");
  Send(Adt("EV-1"));  // Duplicate.
  Send("this is not HL7", &code);
  EXPECT_EQ(code, "AR");
  ASSERT_TRUE(WaitState(ok, {spb::MESSAGE_STATE_DELIVERED}));

  // Delivery: a retryable failure, then a permanent one (dead letter),
  // retried by an operator; another discarded.
  // (seq 1 accepted, the repeat stored nothing, seq 2 the rejected one.)
  destination_.FailRetryably(3);
  const uint64_t retrying = Send(Adt("EV-RETRY"));
  ASSERT_EQ(retrying, 3u);
  ASSERT_TRUE(WaitState(retrying, {spb::MESSAGE_STATE_RETRYING}));
  api::DiscardRequest discard;
  discard.set_seq(retrying);
  discard.set_reason("test: sent twice");
  api::DiscardResponse discarded;
  ASSERT_TRUE(queue_->Discard(Ctx(kOperator).get(), discard, &discarded).ok());
  destination_.FailPermanently(4);
  const uint64_t dead = Send(Adt("EV-DEAD"));
  ASSERT_EQ(dead, 4u);
  ASSERT_TRUE(WaitState(dead, {spb::MESSAGE_STATE_DEAD_LETTER}));
  api::RetryNowRequest retry;
  retry.set_seq(dead);
  api::RetryNowResponse retried;
  ASSERT_TRUE(queue_->RetryNow(Ctx(kOperator).get(), retry, &retried).ok());

  // Mapping: held for an unmapped code, the terminology fixed, re-mapped.
  const uint64_t held = Send(LocalCodeOru("EV-HELD"));
  ASSERT_TRUE(WaitState(held, {spb::MESSAGE_STATE_HELD}));
  api::UpsertRowsRequest upsert;
  auto* row = upsert.add_rows();
  row->set_kind("code");
  row->set_source_system("99LAB");
  row->set_source_code("WBC");
  row->set_target_system("http://loinc.org");
  row->set_target_code("6690-2");
  upsert.set_comment("map WBC");
  api::TerminologyChangeResponse changed;
  ASSERT_TRUE(terminology_stub_->UpsertRows(Ctx(kOperator).get(), upsert, &changed).ok());
  api::RemapRequest remap;
  remap.set_seq(held);
  api::RemapResponse remapped;
  ASSERT_TRUE(queue_->Remap(Ctx(kOperator).get(), remap, &remapped).ok());
  ASSERT_TRUE(WaitState(held, {spb::MESSAGE_STATE_DELIVERED}));

  // Operators: pause/resume, a PHI read, a refused call, key rotation, backup.
  api::SetDeliveryPausedRequest pause;
  api::SetDeliveryPausedResponse paused;
  pause.set_paused(true);
  ASSERT_TRUE(queue_->SetDeliveryPaused(Ctx(kOperator).get(), pause, &paused).ok());
  pause.set_paused(false);
  ASSERT_TRUE(queue_->SetDeliveryPaused(Ctx(kOperator).get(), pause, &paused).ok());
  api::GetRawMessageRequest raw;
  raw.set_seq(ok);
  api::GetRawMessageResponse raw_resp;
  ASSERT_TRUE(messages_->GetRawMessage(Ctx(kOperator).get(), raw, &raw_resp).ok());
  EXPECT_EQ(queue_->Discard(Ctx(kViewer).get(), discard, &discarded).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  api::RotateDataKeyRequest rotate;
  rotate.set_reason("test rotation");
  api::RotateDataKeyResponse rotated;
  ASSERT_TRUE(admin_->RotateDataKey(Ctx(kAdmin).get(), rotate, &rotated).ok());
  api::BackupRequest backup;
  backup.set_destination_dir(dir_ + "/backup");
  api::BackupResponse backed_up;
  ASSERT_TRUE(admin_->Backup(Ctx(kAdmin).get(), backup, &backed_up).ok());

  // Security: a refused MLLP TLS handshake, as the MLLP server reports it.
  intake_->OnTlsRefused({"192.0.2.7:40000", ""}, "tlsv1 alert unknown ca");

  // Retention: ten days later, payloads of finished messages go.
  LaterClock later;
  audit::RetentionOptions retention;
  retention.payload_max_age = absl::Hours(24);
  auto pruned = audit::Prune(store_.get(), &later, retention, "retention");
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_GT(pruned->payloads_pruned, 0u);

  StopAll();  // Appliance stopped.

  // The trail, read back offline.
  store::EnvOptions env_options;
  env_options.db_names = {"meta", "audit", "messages"};
  env_options.read_only = true;
  env_options.create_if_missing = false;
  auto env = store::Env::Open(config_.store().data_dir(), env_options);
  ASSERT_TRUE(env.ok()) << env.status();
  auto key = crypto::KeyFile::Load(config_.store().key_file());
  ASSERT_TRUE(key.ok());
  auto report = audit::Verify(**env, key->audit_hmac_key());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << audit::FormatReport(*report);

  std::ostringstream jsonl;
  ASSERT_TRUE(audit::Export(**env, audit::ExportFilter(), audit::ExportFormat::kJsonLines, jsonl).ok());
  std::set<std::string> seen;
  std::istringstream lines(jsonl.str());
  for (std::string line; std::getline(lines, line);) {
    seen.insert(nlohmann::json::parse(line)["type"].get<std::string>());
  }
  const google::protobuf::EnumDescriptor* types = spb::AuditEventType_descriptor();
  for (int i = 0; i < types->value_count(); ++i) {
    const std::string name = types->value(i)->name();
    if (name == "AUDIT_EVENT_UNSPECIFIED") continue;
    EXPECT_TRUE(seen.count(name)) << name << " was not produced";
  }
}

}  // namespace
}  // namespace appliance::control::testing
