#include "appliance/intake/intake.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>

#include "appliance/base/test_util.h"
#include "gtest/gtest.h"

namespace appliance::intake {
namespace {

struct Answer {
  std::string ack;
  bool close = false;
};

class IntakeTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(MessageStoreOptions()); }

  void Open(MessageStoreOptions o) {
    const std::string dir = test_util::NewTempDir("intake");
    o.data_dir = dir + "/data";
    o.key_file = dir + "/hl7d.key";
    auto s = MessageStore::Open(o, &clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    intake_ = std::make_unique<Intake>(store_.get(), &clock_, IntakeOptions());
  }

  Answer Send(const std::string& payload) {
    std::promise<Answer> p;
    intake_->OnMessage({"127.0.0.1:5000", ""}, payload,
                       [&](std::string ack, bool close) {
                         p.set_value(Answer{std::move(ack), close});
                       });
    return p.get_future().get();
  }

  static std::string Msa1(const std::string& ack) {
    hl7::Message m;
    if (!m.ParseInto(ack).ok()) return "unparseable";
    return std::string(m.Get("MSA-1"));
  }

  FakeClock clock_;
  std::unique_ptr<MessageStore> store_;
  std::unique_ptr<Intake> intake_;
};

TEST_F(IntakeTest, AcksFollowValidationAndEverythingIsStored) {
  EXPECT_EQ(Msa1(Send(test_util::ReadHl7Corpus("adt_a01_v25.hl7")).ack), "AA");
  EXPECT_EQ(Msa1(Send(test_util::ReadHl7Corpus("oru_r01_bad_numeric.hl7")).ack),
            "AE");
  EXPECT_EQ(Msa1(Send(test_util::ReadHl7Corpus("unsupported_type_mdm.hl7")).ack),
            "AR");
  Answer garbage = Send(test_util::ReadHl7Corpus("not_hl7.hl7"));
  EXPECT_EQ(Msa1(garbage.ack), "AR");
  absl::StatusOr<StoreSummary> sum = store_->Summarize();
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->messages, 4u);
  EXPECT_EQ(sum->by_state["PENDING"], 1u);
  EXPECT_EQ(sum->by_state["ERROR"], 1u);
  EXPECT_EQ(sum->by_state["REJECTED"], 2u);
  EXPECT_EQ(sum->pipeline_entries, 1u);
  EXPECT_EQ(sum->by_type["ADT^A01"], 1u);
  EXPECT_EQ(sum->by_type["MDM^T02"], 1u);
  absl::StatusOr<pb::MessageMeta> adt = store_->GetMessage(1);
  EXPECT_EQ(adt->control_id(), "ADT-A01-1");
  EXPECT_EQ(adt->sending_application(), "ADTSYS");
  absl::StatusOr<pb::MessageMeta> bad = store_->GetMessage(2);
  ASSERT_GT(bad->findings_size(), 0);
  EXPECT_EQ(bad->findings(0).code(), 102);
  EXPECT_EQ(bad->findings(0).location(), "OBX-5(1)");
  EXPECT_TRUE(store_->GetMessage(4)->parse_failed());
  EXPECT_EQ(*store_->ReadPayload(1), test_util::ReadHl7Corpus("adt_a01_v25.hl7"));
}

TEST_F(IntakeTest, RepeatsAreAcknowledgedAgainAndNotQueuedTwice) {
  const std::string msg = test_util::ReadHl7Corpus("oru_r01_v23_hematology.hl7");
  const Answer first = Send(msg);
  const Answer again = Send(msg);
  EXPECT_EQ(Msa1(first.ack), "AA");
  EXPECT_EQ(Msa1(again.ack), "AA");
  hl7::Message a;
  ASSERT_TRUE(a.ParseInto(again.ack).ok());
  EXPECT_EQ(a.Get("MSA-2"), "HEM20261102-0042");
  EXPECT_EQ(store_->Summarize()->pipeline_entries, 1u);
  EXPECT_EQ(intake_->stats().duplicates.load(), 1u);
  const std::string bad = test_util::ReadHl7Corpus("oru_r01_bad_status.hl7");
  EXPECT_EQ(Msa1(Send(bad).ack), "AE");
  EXPECT_EQ(Msa1(Send(bad).ack), "AE");
}

TEST_F(IntakeTest, EnhancedModeNeverSendsNothingUnasked) {
  // MSH-15 AL: a CA is sent.
  EXPECT_EQ(
      Msa1(Send(test_util::ReadHl7Corpus("oru_r01_zsegment_enhanced.hl7")).ack),
      "CA");
  // MSH-15 ER on an accepted message: nothing is sent, yet it is stored.
  std::string er = test_util::ReadHl7Corpus("oru_r01_zsegment_enhanced.hl7");
  er.replace(er.find("|AL|NE"), 6, "|ER|NE");
  er.replace(er.find("ZSEG-1"), 6, "ZSEG-2");
  EXPECT_EQ(Send(er).ack, "");
  EXPECT_EQ(store_->Summarize()->messages, 2u);
}

TEST_F(IntakeTest, OversizedFrameIsRejectedStoredAndClosed) {
  std::promise<Answer> p;
  intake_->OnOversized({"127.0.0.1:5000", ""},
                       test_util::ReadHl7Corpus("adt_a01_v25.hl7").substr(0, 200),
                       [&](std::string ack, bool close) {
                         p.set_value(Answer{std::move(ack), close});
                       });
  Answer a = p.get_future().get();
  EXPECT_TRUE(a.close);
  EXPECT_EQ(Msa1(a.ack), "AR");
  hl7::Message m;
  ASSERT_TRUE(m.ParseInto(a.ack).ok());
  EXPECT_EQ(m.Get("MSA-2"), "ADT-A01-1");
  EXPECT_EQ(store_->GetMessage(1)->state(), pb::MESSAGE_STATE_REJECTED);
}

TEST_F(IntakeTest, StoreFailureIsNeverAPositiveAck) {
  MessageStoreOptions small;
  small.initial_map_bytes = 256 << 10;
  small.max_map_bytes = 256 << 10;
  Open(small);
  std::string msg = test_util::ReadHl7Corpus("adt_a01_v25.hl7");
  const std::string filler(60000, 'Z');
  msg += "\rZXX|" + filler;
  int aa = 0;
  std::string last;
  for (int i = 0; i < 40; ++i) {
    std::string m = msg;
    m.replace(m.find("ADT-A01-1"), 9, "ADT-" + std::to_string(10000 + i));
    last = Msa1(Send(m).ack);
    if (last != "AA") break;
    ++aa;
  }
  EXPECT_EQ(last, "AE");
  EXPECT_EQ(store_->Summarize()->messages, static_cast<uint64_t>(aa));
  EXPECT_GT(intake_->stats().store_failures.load(), 0u);
}

TEST(Hl7TimestampTest, Formats) {
  EXPECT_EQ(Hl7Timestamp(1767225600000000), "20260101000000+0000");
}

}  // namespace
}  // namespace appliance::intake
