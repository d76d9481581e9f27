#include "tools/hl7send/ack.h"

#include "gtest/gtest.h"

namespace hl7send {
namespace {

TEST(ReadAckTest, CodeAndControlId) {
  absl::StatusOr<AckInfo> ack = ReadAck(
      "MSH|^~\\&|RCV|FAC|SND|FAC|20261102||ACK^R01^ACK|A1|P|2.5.1\r"
      "MSA|AE|MSG0001\rERR|||207^Application internal error^HL70357|E\r");
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->code, "AE");
  EXPECT_EQ(ack->control_id, "MSG0001");
}

TEST(ReadAckTest, Rejects) {
  EXPECT_FALSE(ReadAck("garbage").ok());
  EXPECT_FALSE(ReadAck("MSH|^~\\&|A|B|C|D|1||ACK|1|P|2.5\r").ok());
}

TEST(ClassifyAckTest, EnhancedModeCodesCountAsTheirTwins) {
  EXPECT_EQ(ClassifyAck("AA"), AckClass::kAccept);
  EXPECT_EQ(ClassifyAck("CA"), AckClass::kAccept);
  EXPECT_EQ(ClassifyAck("AE"), AckClass::kError);
  EXPECT_EQ(ClassifyAck("CE"), AckClass::kError);
  EXPECT_EQ(ClassifyAck("AR"), AckClass::kReject);
  EXPECT_EQ(ClassifyAck("CR"), AckClass::kReject);
  EXPECT_EQ(ClassifyAck("XX"), AckClass::kUnknown);
  EXPECT_EQ(ClassifyAck(""), AckClass::kUnknown);
}

TEST(ControlIdOfTest, Msh10) {
  EXPECT_EQ(ControlIdOf("MSH|^~\\&|A|B|C|D|1||ORU^R01|CTRL-9|P|2.5\rPID|1\r"),
            "CTRL-9");
  EXPECT_EQ(ControlIdOf("not hl7"), "");
}

}  // namespace
}  // namespace hl7send
