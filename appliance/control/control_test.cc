// The control plane's services end to end through real stubs over a real
// channel to an in-process server on 127.0.0.1:0 (test_fixture.h): messages
// and PHI reads, queue actions, validation, paging, key rotation, backup,
// audit query/verify/export, statistics, terminology, config, health and
// reflection.
#include <grpcpp/generic/generic_stub.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/control/test_fixture.h"
#include "appliance/crypto/hash.h"
#include "appliance/crypto/keys.h"
#include "appliance/store/keys.h"

namespace appliance::control::testing {
namespace {

using grpc::StatusCode;

class ServicesTest : public ControlTest {
 protected:
  void SetUp() override {
    ControlTest::SetUp();
    StartAll();
  }
  // Sends an ADT and waits until it is delivered.
  uint64_t SendDelivered(const std::string& control_id) {
    const uint64_t seq = Send(Adt(control_id));
    EXPECT_TRUE(WaitState(seq, {spb::MESSAGE_STATE_DELIVERED})) << seq;
    return seq;
  }
};

TEST_F(ServicesTest, SearchGetAndPhiReadsAreAudited) {
  const std::string raw = Adt("CTL-PHI-1");
  const uint64_t seq = Send(raw);
  ASSERT_TRUE(WaitState(seq, {spb::MESSAGE_STATE_DELIVERED}));
  SendDelivered("CTL-OTHER");

  api::SearchMessagesRequest search;
  search.set_control_id("CTL-PHI-1");
  api::SearchMessagesResponse found;
  ASSERT_TRUE(
      messages_->SearchMessages(Ctx(kViewer).get(), search, &found).ok());
  ASSERT_EQ(found.messages_size(), 1);
  EXPECT_EQ(found.messages(0).seq(), seq);
  EXPECT_EQ(found.messages(0).state(), spb::MESSAGE_STATE_DELIVERED);
  EXPECT_EQ(found.messages(0).raw_size(), raw.size());
  EXPECT_TRUE(found.next_page_token().empty());

  api::GetMessageRequest get;
  get.set_seq(seq);
  api::GetMessageResponse meta;
  ASSERT_TRUE(messages_->GetMessage(Ctx(kViewer).get(), get, &meta).ok());
  EXPECT_EQ(meta.message().control_id(), "CTL-PHI-1");
  EXPECT_TRUE(meta.has_bundle());
  EXPECT_EQ(meta.queue_item().state(), spb::MESSAGE_STATE_DELIVERED);

  // The viewer may not read PHI; the operator may, and it is audited.
  api::GetRawMessageRequest raw_req;
  raw_req.set_seq(seq);
  api::GetRawMessageResponse raw_resp;
  EXPECT_EQ(messages_->GetRawMessage(Ctx(kViewer).get(), raw_req, &raw_resp)
                .error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Audit(spb::AUDIT_PHI_READ).empty());
  ASSERT_TRUE(
      messages_->GetRawMessage(Ctx(kOperator).get(), raw_req, &raw_resp).ok());
  EXPECT_EQ(raw_resp.raw(), raw);
  auto phi = Audit(spb::AUDIT_PHI_READ, seq);
  ASSERT_EQ(phi.size(), 1u);
  EXPECT_EQ(phi[0].actor(), kOperator);
  EXPECT_TRUE(
      absl::StartsWith(phi[0].detail(), "MessageService/GetRawMessage OK"))
      << phi[0].detail();
  // No PHI in the record.
  EXPECT_EQ(phi[0].detail().find("TESTPATIENT"), std::string::npos);

  api::GetBundleRequest bundle_req;
  bundle_req.set_seq(seq);
  api::GetBundleResponse bundle;
  ASSERT_TRUE(
      messages_->GetBundle(Ctx(kAdmin).get(), bundle_req, &bundle).ok());
  EXPECT_NE(bundle.bundle_json().find("\"resourceType\":\"Bundle\""),
            std::string::npos);
  EXPECT_EQ(Audit(spb::AUDIT_PHI_READ, seq).size(), 2u);
}

TEST_F(ServicesTest, ValidationAndNotFound) {
  api::GetMessageRequest get;
  api::GetMessageResponse meta;
  grpc::Status s = messages_->GetMessage(Ctx(kViewer).get(), get, &meta);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "seq:")) << s.error_message();
  get.set_seq(999);
  s = messages_->GetMessage(Ctx(kViewer).get(), get, &meta);
  EXPECT_EQ(s.error_code(), StatusCode::NOT_FOUND);

  api::DiscardRequest discard;
  discard.set_seq(1);
  api::DiscardResponse discarded;
  s = queue_->Discard(Ctx(kOperator).get(), discard, &discarded);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "reason:"))
      << s.error_message();
  discard.set_reason(std::string(201, 'x'));
  s = queue_->Discard(Ctx(kOperator).get(), discard, &discarded);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  discard.set_reason("duplicate from test\n");
  s = queue_->Discard(Ctx(kOperator).get(), discard, &discarded);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);

  api::ListQueueRequest list;
  list.add_states(static_cast<spb::MessageState>(99));
  api::ListQueueResponse items;
  s = queue_->ListQueue(Ctx(kViewer).get(), list, &items);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "states[0]:"))
      << s.error_message();

  api::SearchMessagesRequest search;
  search.set_page_token("not-a-token");
  api::SearchMessagesResponse found;
  s = messages_->SearchMessages(Ctx(kViewer).get(), search, &found);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "page_token:"));
  // A token of another listing is refused too.
  SendDelivered("CTL-V1");
  SendDelivered("CTL-V2");
  api::QueryAuditRequest audit_req;
  audit_req.set_page_size(1);
  api::QueryAuditResponse audit_resp;
  ASSERT_TRUE(
      audit_->QueryAudit(Ctx(kAuditor).get(), audit_req, &audit_resp).ok());
  ASSERT_FALSE(audit_resp.next_page_token().empty());
  search.set_page_token(audit_resp.next_page_token());
  s = messages_->SearchMessages(Ctx(kViewer).get(), search, &found);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);

  api::BackupRequest backup;
  backup.set_destination_dir("relative/dir");
  api::BackupResponse backed;
  s = admin_->Backup(Ctx(kAdmin).get(), backup, &backed);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "destination_dir:"));

  api::QueryAuditRequest bad_range;
  bad_range.mutable_from()->set_seconds(200);
  bad_range.mutable_to()->set_seconds(100);
  s = audit_->QueryAudit(Ctx(kAuditor).get(), bad_range, &audit_resp);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "to:"));
}

TEST_F(ServicesTest, PagesAreCappedAndTokensWalkTheList) {
  std::set<uint64_t> sent;
  for (int i = 0; i < 5; ++i)
    sent.insert(SendDelivered(absl::StrCat("CTL-P", i)));
  api::SearchMessagesRequest req;
  req.set_page_size(2);
  std::set<uint64_t> seen;
  int pages = 0;
  do {
    api::SearchMessagesResponse resp;
    ASSERT_TRUE(messages_->SearchMessages(Ctx(kViewer).get(), req, &resp).ok());
    EXPECT_LE(resp.messages_size(), 2);
    for (const auto& m : resp.messages()) seen.insert(m.seq());
    req.set_page_token(resp.next_page_token());
    ++pages;
  } while (!req.page_token().empty() && pages < 10);
  EXPECT_EQ(seen, sent);
  EXPECT_EQ(pages, 3);
  // Oversized pages are capped, not refused.
  api::QueryAuditRequest audit_req;
  audit_req.set_page_size(1000000);
  api::QueryAuditResponse audit_resp;
  ASSERT_TRUE(
      audit_->QueryAudit(Ctx(kAuditor).get(), audit_req, &audit_resp).ok());
  EXPECT_LE(audit_resp.events_size(), 1000);
}

TEST_F(ServicesTest, QueueActions) {
  // Dead letter with an OperationOutcome, then replay after the fix.
  destination_.FailPermanently(1);
  const uint64_t dead = Send(Adt("CTL-DEAD"));
  ASSERT_EQ(dead, 1u);
  ASSERT_TRUE(WaitState(dead, {spb::MESSAGE_STATE_DEAD_LETTER}));
  api::ListQueueRequest list;
  list.add_states(spb::MESSAGE_STATE_DEAD_LETTER);
  api::ListQueueResponse items;
  ASSERT_TRUE(queue_->ListQueue(Ctx(kViewer).get(), list, &items).ok());
  ASSERT_EQ(items.items_size(), 1);
  EXPECT_EQ(items.items(0).seq(), dead);
  EXPECT_EQ(items.items(0).last_http_status(), 422);
  EXPECT_TRUE(items.items(0).has_operation_outcome());
  EXPECT_EQ(items.items(0).control_id(), "CTL-DEAD");

  api::GetOperationOutcomeRequest oo_req;
  oo_req.set_seq(dead);
  api::GetOperationOutcomeResponse oo;
  ASSERT_TRUE(
      queue_->GetOperationOutcome(Ctx(kOperator).get(), oo_req, &oo).ok());
  EXPECT_NE(oo.operation_outcome().find("OperationOutcome"), std::string::npos);
  EXPECT_EQ(Audit(spb::AUDIT_PHI_READ, dead).size(), 1u);

  // Retrying: shown with its next due time; discard needs a reason.
  destination_.FailRetryably(2);
  const uint64_t retrying = Send(Adt("CTL-RETRY"));
  ASSERT_TRUE(WaitState(retrying, {spb::MESSAGE_STATE_RETRYING}));
  api::GetQueueItemRequest get;
  get.set_seq(retrying);
  api::GetQueueItemResponse item;
  ASSERT_TRUE(queue_->GetQueueItem(Ctx(kViewer).get(), get, &item).ok());
  EXPECT_EQ(item.item().state(), spb::MESSAGE_STATE_RETRYING);
  EXPECT_TRUE(item.item().has_next_attempt_at());
  EXPECT_EQ(item.item().last_error(), "HTTP 503");
  EXPECT_GE(item.item().attempts(), 1u);
  api::DiscardRequest discard;
  discard.set_seq(retrying);
  discard.set_reason("sent twice by the lab");
  api::DiscardResponse discarded;
  ASSERT_TRUE(queue_->Discard(Ctx(kOperator).get(), discard, &discarded).ok());
  EXPECT_EQ(discarded.item().state(), spb::MESSAGE_STATE_DISCARDED);
  auto records = Audit(spb::AUDIT_MESSAGE_DISCARDED, retrying);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].actor(), kOperator);
  // Discarding again: wrong state.
  EXPECT_EQ(
      queue_->Discard(Ctx(kOperator).get(), discard, &discarded).error_code(),
      StatusCode::FAILED_PRECONDITION);

  // Replay of the dead letter.
  api::RetryNowRequest retry;
  retry.set_seq(dead);
  api::RetryNowResponse retried;
  ASSERT_TRUE(queue_->RetryNow(Ctx(kOperator).get(), retry, &retried).ok());
  EXPECT_EQ(Audit(spb::AUDIT_MESSAGE_RETRIED, dead).size(), 1u);

  // Held (unmapped local code): re-map.
  const uint64_t held = Send(LocalCodeOru("CTL-HELD"));
  ASSERT_TRUE(WaitState(held, {spb::MESSAGE_STATE_HELD}));
  api::RemapRequest remap;
  remap.set_seq(held);
  api::RemapResponse remapped;
  ASSERT_TRUE(queue_->Remap(Ctx(kOperator).get(), remap, &remapped).ok());
  EXPECT_EQ(Audit(spb::AUDIT_MESSAGE_REQUEUED, held).size(), 1u);
  remap.set_seq(retrying);  // Not HELD.
  EXPECT_EQ(queue_->Remap(Ctx(kOperator).get(), remap, &remapped).error_code(),
            StatusCode::FAILED_PRECONDITION);

  // Pause and resume.
  api::SetDeliveryPausedRequest pause;
  pause.set_paused(true);
  api::SetDeliveryPausedResponse paused;
  ASSERT_TRUE(
      queue_->SetDeliveryPaused(Ctx(kOperator).get(), pause, &paused).ok());
  EXPECT_TRUE(paused.delivery().paused());
  EXPECT_EQ(Audit(spb::AUDIT_DELIVERY_PAUSED).size(), 1u);
  pause.set_paused(false);
  ASSERT_TRUE(
      queue_->SetDeliveryPaused(Ctx(kOperator).get(), pause, &paused).ok());
  EXPECT_FALSE(paused.delivery().paused());
  api::GetDeliveryStateResponse state;
  ASSERT_TRUE(queue_
                  ->GetDeliveryState(Ctx(kViewer).get(),
                                     api::GetDeliveryStateRequest(), &state)
                  .ok());
  EXPECT_TRUE(state.delivery().configured());
  EXPECT_EQ(state.delivery().destination(), "test:destination");
}

TEST_F(ServicesTest, KeyRotationKeepsOldPayloadsReadable) {
  const std::string first = Adt("CTL-KEY-1");
  const uint64_t a = Send(first);
  ASSERT_TRUE(WaitState(a, {spb::MESSAGE_STATE_DELIVERED}));
  api::RotateDataKeyRequest rotate;
  rotate.set_reason("yearly rotation");
  api::RotateDataKeyResponse rotated;
  ASSERT_TRUE(admin_->RotateDataKey(Ctx(kAdmin).get(), rotate, &rotated).ok());
  EXPECT_EQ(rotated.previous_key_id(), 1u);
  EXPECT_EQ(rotated.key_id(), 2u);
  EXPECT_EQ(rotated.keys(), 2u);
  auto records = Audit(spb::AUDIT_KEY_ROTATED);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].actor(), kAdmin);
  EXPECT_NE(records[0].detail().find("yearly rotation"), std::string::npos);

  const std::string second = Adt("CTL-KEY-2");
  const uint64_t b = Send(second);
  ASSERT_TRUE(WaitState(b, {spb::MESSAGE_STATE_DELIVERED}));
  EXPECT_EQ(store_->GetMessage(a)->data_key_id(), 1u);
  EXPECT_EQ(store_->GetMessage(b)->data_key_id(), 2u);
  // The Bundle of the new message is sealed under the new key too.
  {
    auto bundles = store_->Db("bundles");
    ASSERT_TRUE(bundles.ok());
    auto txn = store_->env().BeginRead();
    ASSERT_TRUE(txn.ok());
    auto blob = txn->Get(*bundles, store::EncodeU64BE(b));
    ASSERT_TRUE(blob.ok());
    EXPECT_EQ(*crypto::DataKeyRing::KeyIdOf(*blob), 2u);
  }
  for (const auto& [seq, raw] : {std::pair{a, first}, std::pair{b, second}}) {
    api::GetRawMessageRequest req;
    req.set_seq(seq);
    api::GetRawMessageResponse resp;
    ASSERT_TRUE(messages_->GetRawMessage(Ctx(kAdmin).get(), req, &resp).ok());
    EXPECT_EQ(resp.raw(), raw);
  }
  // After a restart both keys load and the new one stays current.
  StopAll();
  intake::MessageStoreOptions o;
  o.data_dir = config_.store().data_dir();
  o.key_file = config_.store().key_file();
  auto reopened = intake::MessageStore::Open(o, RealClock::Get());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(*(*reopened)->ReadPayload(a), first);
  EXPECT_EQ(*(*reopened)->ReadPayload(b), second);
  EXPECT_EQ((*reopened)->keys()->current_key_id(), 2u);
  (*reopened)->Stop();
}

TEST_F(ServicesTest, BackupProducesAnOpenableCopy) {
  const uint64_t seq = SendDelivered("CTL-BACKUP");
  const std::string dest = dir_ + "/backup1";
  api::BackupRequest req;
  req.set_destination_dir(dest);
  api::BackupResponse resp;
  ASSERT_TRUE(admin_->Backup(Ctx(kAdmin).get(), req, &resp).ok());
  EXPECT_GT(resp.bytes(), 0u);
  EXPECT_EQ(Audit(spb::AUDIT_BACKUP_CREATED).size(), 1u);
  // Not over an existing copy.
  EXPECT_EQ(admin_->Backup(Ctx(kAdmin).get(), req, &resp).error_code(),
            StatusCode::ALREADY_EXISTS);
  // The copy opens as a store, and decrypts with the same key file.
  intake::MessageStoreOptions o;
  o.data_dir = dest;
  o.key_file = config_.store().key_file();
  o.create_key_file = false;
  auto copy = intake::MessageStore::Open(o, RealClock::Get());
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ((*copy)->GetMessage(seq)->control_id(), "CTL-BACKUP");
  EXPECT_EQ(*(*copy)->ReadPayload(seq), Adt("CTL-BACKUP"));
  (*copy)->Stop();
}

TEST_F(ServicesTest, AuditQueryVerifyAndExport) {
  const uint64_t seq = SendDelivered("CTL-AUDIT");
  api::QueryAuditRequest q;
  q.set_message_seq(seq);
  q.add_types(spb::AUDIT_MESSAGE_RECEIVED);
  api::QueryAuditResponse events;
  ASSERT_TRUE(audit_->QueryAudit(Ctx(kAuditor).get(), q, &events).ok());
  ASSERT_EQ(events.events_size(), 1);
  EXPECT_EQ(events.events(0).control_id(), "CTL-AUDIT");
  EXPECT_EQ(events.events(0).hash().size(), 64u);

  // By actor: the auditor's own earlier call.
  api::QueryAuditRequest by_actor;
  by_actor.set_actor(kAuditor);
  ASSERT_TRUE(audit_->QueryAudit(Ctx(kAuditor).get(), by_actor, &events).ok());
  ASSERT_GE(events.events_size(), 1);
  EXPECT_EQ(events.events(0).type(), spb::AUDIT_CONTROL_CALL);

  api::VerifyAuditResponse verify;
  ASSERT_TRUE(
      audit_
          ->VerifyAudit(Ctx(kAuditor).get(), api::VerifyAuditRequest(), &verify)
          .ok());
  EXPECT_TRUE(verify.ok()) << verify.report();
  EXPECT_TRUE(verify.checkpoint_checked());
  EXPECT_GT(verify.records(), 3u);

  for (auto format : {api::AUDIT_EXPORT_FORMAT_JSON_LINES,
                      api::AUDIT_EXPORT_FORMAT_FHIR_NDJSON}) {
    api::ExportAuditRequest req;
    req.set_format(format);
    auto ctx = Ctx(kAuditor);
    auto reader = audit_->ExportAudit(ctx.get(), req);
    api::ExportAuditChunk chunk;
    std::string data;
    uint64_t records = 0;
    while (reader->Read(&chunk)) {
      data += chunk.data();
      records += chunk.records();
    }
    ASSERT_TRUE(reader->Finish().ok());
    std::istringstream lines(data);
    std::string line;
    uint64_t n = 0;
    bool saw_message = false;
    while (std::getline(lines, line)) {
      const nlohmann::json j = nlohmann::json::parse(line);
      ++n;
      if (format == api::AUDIT_EXPORT_FORMAT_FHIR_NDJSON) {
        EXPECT_EQ(j["resourceType"], "AuditEvent");
        EXPECT_TRUE(j.contains("agent") && j.contains("source"));
        if (j.contains("entity")) saw_message = true;
      } else {
        EXPECT_TRUE(j.contains("seq"));
        if (j.contains("control_id")) saw_message = true;
      }
    }
    EXPECT_EQ(n, records);
    EXPECT_GT(n, 3u);
    EXPECT_TRUE(saw_message);
  }
}

TEST_F(ServicesTest, StatsReuseTheDashboardDocument) {
  SendDelivered("CTL-STATS");
  api::GetStatsRequest req;
  req.set_count_messages(true);
  api::GetStatsResponse stats;
  ASSERT_TRUE(stats_->GetStats(Ctx(kViewer).get(), req, &stats).ok());
  const auto& fields = stats.dashboard().fields();
  EXPECT_TRUE(fields.count("error_rate"));
  EXPECT_TRUE(fields.count("throughput"));
  EXPECT_EQ(fields.at("throughput")
                .struct_value()
                .fields()
                .at("messages_24h")
                .number_value(),
            1);
  EXPECT_EQ(stats.messages(), 1u);
  EXPECT_EQ(stats.by_state().at("DELIVERED"), 1u);
  EXPECT_TRUE(stats.delivery().configured());
  EXPECT_EQ(stats.delivery().delivered(), 1u);
  EXPECT_EQ(stats.mapped(), 1u);
}

TEST_F(ServicesTest, TerminologyChangesAndLookups) {
  api::UpsertRowsRequest upsert;
  auto* row = upsert.add_rows();
  row->set_kind("code");
  row->set_source_system("99LAB");
  row->set_source_code("WBC");
  row->set_target_system("http://loinc.org");
  row->set_target_code("6690-2");
  row->set_target_display("Leukocytes");
  upsert.set_comment("lab go-live");
  api::TerminologyChangeResponse changed;
  EXPECT_EQ(terminology_stub_->UpsertRows(Ctx(kViewer).get(), upsert, &changed)
                .error_code(),
            StatusCode::PERMISSION_DENIED);
  grpc::Status s =
      terminology_stub_->UpsertRows(Ctx(kOperator).get(), upsert, &changed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_GE(changed.version(), 1);

  api::ListVersionsResponse versions;
  ASSERT_TRUE(terminology_stub_
                  ->ListVersions(Ctx(kViewer).get(), api::ListVersionsRequest(),
                                 &versions)
                  .ok());
  EXPECT_EQ(versions.current_version(), changed.version());
  ASSERT_GE(versions.versions_size(), 1);
  EXPECT_EQ(versions.versions(0).actor(), kOperator);
  EXPECT_TRUE(versions.versions(0).current());

  api::LookupRequest lookup;
  lookup.set_source_system("99LAB");
  lookup.set_source_code("WBC");
  api::LookupResponse looked;
  ASSERT_TRUE(
      terminology_stub_->Lookup(Ctx(kViewer).get(), lookup, &looked).ok());
  ASSERT_EQ(looked.matches_size(), 1);
  EXPECT_EQ(looked.matches(0).target_code(), "6690-2");
  lookup.set_version(changed.version());
  ASSERT_TRUE(
      terminology_stub_->Lookup(Ctx(kViewer).get(), lookup, &looked).ok());
  ASSERT_EQ(looked.matches_size(), 1);
  const std::string key = looked.matches(0).key();
  EXPECT_FALSE(key.empty());
  lookup.clear_source_code();
  EXPECT_EQ(terminology_stub_->Lookup(Ctx(kViewer).get(), lookup, &looked)
                .error_code(),
            StatusCode::INVALID_ARGUMENT);

  api::ExportCsvResponse csv;
  ASSERT_TRUE(terminology_stub_
                  ->ExportCsv(Ctx(kViewer).get(), api::ExportCsvRequest(), &csv)
                  .ok());
  EXPECT_NE(csv.csv().find("6690-2"), std::string::npos);

  api::DiffVersionsRequest diff_req;
  diff_req.set_from_version(0);
  diff_req.set_to_version(changed.version());
  // Version 0 means current here: no differences against itself.
  api::DiffVersionsResponse diff;
  ASSERT_TRUE(
      terminology_stub_->DiffVersions(Ctx(kViewer).get(), diff_req, &diff)
          .ok());
  EXPECT_EQ(diff.added_size() + diff.removed_size() + diff.changed_size(), 0);

  // A held message maps after the fix and a re-map.
  const uint64_t held = Send(LocalCodeOru("CTL-TERM"));
  ASSERT_TRUE(WaitState(
      held, {spb::MESSAGE_STATE_DELIVERED, spb::MESSAGE_STATE_MAPPED}));

  api::DeleteRowsRequest del;
  del.add_keys("no-such-key");
  EXPECT_EQ(terminology_stub_->DeleteRows(Ctx(kOperator).get(), del, &changed)
                .error_code(),
            StatusCode::NOT_FOUND);
  del.set_keys(0, key);
  del.set_comment("rollback");
  const int64_t before = versions.current_version();
  ASSERT_TRUE(
      terminology_stub_->DeleteRows(Ctx(kOperator).get(), del, &changed).ok());
  EXPECT_GT(changed.version(), before);
  diff_req.set_from_version(before);
  diff_req.set_to_version(changed.version());
  ASSERT_TRUE(
      terminology_stub_->DiffVersions(Ctx(kViewer).get(), diff_req, &diff)
          .ok());
  ASSERT_EQ(diff.removed_size(), 1);
  EXPECT_EQ(diff.removed(0).source_code(), "WBC");
}

TEST_F(ServicesTest, ConfigIsRedacted) {
  api::GetConfigResponse config;
  ASSERT_TRUE(
      admin_->GetConfig(Ctx(kAdmin).get(), api::GetConfigRequest(), &config)
          .ok());
  EXPECT_EQ(config.config_text().find(std::string(64, 'a')), std::string::npos);
  for (const auto& [name, token] : kTokens) {
    const std::string hash = crypto::ToHex(crypto::Sha256(token));
    EXPECT_EQ(config.config_text().find(hash), std::string::npos) << name;
  }
  EXPECT_NE(config.config_text().find("<redacted>"), std::string::npos);
  EXPECT_EQ(config.redacted_fields_size(), 5);  // ops + 4 principals.
  EXPECT_NE(config.config_text().find("name: \"ada\""), std::string::npos);
}

// grpc.health.v1.Health/Check and reflection, through the generic stub (the
// appliance does not compile their protos).
TEST_F(ServicesTest, HealthAndReflection) {
  grpc::GenericStub generic(channel_);
  grpc::CompletionQueue cq;
  {
    grpc::ClientContext ctx;
    grpc::Slice empty("", 0);
    grpc::ByteBuffer request(&empty, 1);
    auto call = generic.PrepareUnaryCall(&ctx, "/grpc.health.v1.Health/Check",
                                         request, &cq);
    call->StartCall();
    grpc::ByteBuffer response;
    grpc::Status status;
    call->Finish(&response, &status, reinterpret_cast<void*>(1));
    void* tag;
    bool ok;
    ASSERT_TRUE(cq.Next(&tag, &ok));
    ASSERT_TRUE(status.ok()) << status.error_message();
    grpc::Slice slice;
    ASSERT_TRUE(response.DumpToSingleSlice(&slice).ok());
    // HealthCheckResponse{status: SERVING (1)}.
    EXPECT_EQ(
        std::string(reinterpret_cast<const char*>(slice.begin()), slice.size()),
        std::string("\x08\x01", 2));
  }
  {
    grpc::ClientContext ctx;
    auto stream = generic.PrepareCall(
        &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        &cq);
    void* tag;
    bool ok;
    stream->StartCall(reinterpret_cast<void*>(2));
    ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
    // ServerReflectionRequest{list_services: ""} (field 7).
    grpc::Slice list("\x3a\x00", 2);
    stream->Write(grpc::ByteBuffer(&list, 1), reinterpret_cast<void*>(3));
    ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
    stream->WritesDone(reinterpret_cast<void*>(4));
    ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
    grpc::ByteBuffer response;
    stream->Read(&response, reinterpret_cast<void*>(5));
    ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
    grpc::Slice slice;
    ASSERT_TRUE(response.DumpToSingleSlice(&slice).ok());
    const std::string bytes(reinterpret_cast<const char*>(slice.begin()),
                            slice.size());
    EXPECT_NE(bytes.find("hl7appliance.control.v1.QueueService"),
              std::string::npos);
    EXPECT_NE(bytes.find("hl7appliance.control.v1.AdminService"),
              std::string::npos);
    grpc::Status status;
    stream->Finish(&status, reinterpret_cast<void*>(6));
    ASSERT_TRUE(cq.Next(&tag, &ok));
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace appliance::control::testing
