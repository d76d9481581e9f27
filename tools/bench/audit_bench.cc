// CPU of the intake's audit records, per message, on the writer thread: what
// MessageStore::CommitIntakeBatch does with them (build both records from
// the MessageMeta, hash and link them, keep seq and hashes in the meta) on
// top of serializing the meta, against serializing the meta alone.
//   bazel run -c opt //tools/bench:audit_bench
#include <array>
#include <string>

#include "api/store/v1/records.pb.h"
#include "appliance/audit/chain.h"
#include "benchmark/benchmark.h"

namespace {

namespace pb = ::hl7appliance::store::v1;

pb::MessageMeta Meta(uint64_t seq) {
  pb::MessageMeta m;
  m.set_seq(seq);
  m.set_received_at_us(1795680000000000 + seq);
  m.set_peer("10.20.30.40:52344");
  m.set_sending_application("LAB");
  m.set_sending_facility("GENHOSP");
  m.set_control_id("MSG000123456");
  m.set_message_type("ORU^R01");
  m.set_version("2.5.1");
  m.set_ack_code(pb::ACK_CODE_ACCEPT);
  m.set_raw_sha256(std::string(32, '\x5a'));
  m.set_raw_size(1450);
  m.set_state(pb::MESSAGE_STATE_PENDING);
  m.set_data_key_id(1);
  m.set_dedupe_key(std::string(32, '\x3c'));
  return m;
}

void BM_MetaOnly(benchmark::State& state) {
  const pb::MessageMeta base = Meta(7);
  std::string out;
  for (auto _ : state) {
    pb::MessageMeta meta = base;
    meta.SerializeToString(&out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_MetaOnly);

void BM_MetaWithIntakeRecords(benchmark::State& state) {
  const pb::MessageMeta base = Meta(7);
  std::string out;
  uint64_t next_seq = 1;
  std::string head(32, '\x11');
  std::array<pb::AuditRecord, 2> records;
  for (auto _ : state) {
    pb::MessageMeta meta = base;
    meta.mutable_intake_audit()->set_answered_at_us(meta.received_at_us() + 900);
    appliance::audit::IntakeRecords(meta, &records);
    appliance::audit::Link(next_seq - 1, head, &records[0]);
    appliance::audit::Link(records[0].seq(), records[0].hash(), &records[1]);
    pb::IntakeAudit* ia = meta.mutable_intake_audit();
    ia->set_seq(records[0].seq());
    ia->set_received_hash(records[0].hash());
    ia->set_answered_hash(records[1].hash());
    next_seq += 2;
    head = records[1].hash();
    meta.SerializeToString(&out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_MetaWithIntakeRecords);

}  // namespace

BENCHMARK_MAIN();
