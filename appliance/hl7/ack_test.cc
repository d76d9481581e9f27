#include "appliance/hl7/ack.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "appliance/hl7/validator.h"
#include "gtest/gtest.h"

namespace appliance::hl7 {
namespace {

AckOptions Opts() {
  AckOptions o;
  o.control_id = "ACK0001";
  o.timestamp = "20260101120000+0000";
  return o;
}

std::vector<std::string> Segments(const std::string& text) {
  std::vector<std::string> out = absl::StrSplit(text, '\r');
  EXPECT_FALSE(out.empty());
  EXPECT_EQ(out.back(), "");  // Every segment ends with CR.
  out.pop_back();
  return out;
}

Message ParseOrDie(const std::string& text) {
  Message m;
  EXPECT_TRUE(m.ParseInto(text).ok());
  return m;
}

const std::string kMsg25 =
    "MSH|^~\\&|LAB|LABFAC|EHR|EHRFAC|20260101||ORU^R01^ORU_R01|ORIG1|P|2.5.1\r"
    "PID|1||1^^^H||D^J\r";

TEST(AckTest, OriginalModeAccept) {
  const std::string text = kMsg25;
  Message m = ParseOrDie(text);
  Ack ack = BuildAck(m, {}, AckCode::kAccept, Opts());
  EXPECT_TRUE(ack.send);
  EXPECT_EQ(ack.code_text, "AA");
  std::vector<std::string> segs = Segments(ack.text);
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0],
            "MSH|^~\\&|EHR|EHRFAC|LAB|LABFAC|20260101120000+0000||"
            "ACK^R01^ACK|ACK0001|P|2.5.1");
  EXPECT_EQ(segs[1], "MSA|AA|ORIG1");
  // The ACK is itself a parseable message.
  Message parsed = ParseOrDie(ack.text);
  EXPECT_EQ(parsed.Get("MSA-2"), "ORIG1");
}

TEST(AckTest, ErrLayoutFrom25) {
  const std::string text = kMsg25;
  Message m = ParseOrDie(text);
  Location loc = *Location::Parse("OBX[2]-5(1).2");
  std::vector<Finding> findings = {
      {ErrorCode::kDataType, Severity::kError, loc,
       "value is not a number (NM)"},
      {ErrorCode::kRequiredFieldMissing, Severity::kWarning,
       *Location::Parse("PV1-2"), "required field missing: patient class|x"}};
  Ack ack = BuildAck(m, findings, AckCode::kError, Opts());
  EXPECT_EQ(ack.code_text, "AE");
  std::vector<std::string> segs = Segments(ack.text);
  ASSERT_EQ(segs.size(), 4u);
  EXPECT_EQ(segs[1], "MSA|AE|ORIG1");  // No MSA-3 from 2.5 on.
  EXPECT_EQ(segs[2],
            "ERR||OBX^2^5^1^2|102^Data type error^HL70357|E||||"
            "value is not a number (NM)");
  EXPECT_EQ(segs[3],
            "ERR||PV1^1^2^1|101^Required field missing^HL70357|W||||"
            "required field missing: patient class\\F\\x");
}

TEST(AckTest, ErrLayoutBefore25) {
  for (const char* v : {"2.3", "2.3.1", "2.4"}) {
    SCOPED_TRACE(v);
    const std::string text =
        std::string("MSH|^~\\&|LAB|LF|EHR|EF|2026||ORU^R01|O2|P|") + v + "\r";
    Message m = ParseOrDie(text);
    std::vector<Finding> findings = {
        {ErrorCode::kRequiredFieldMissing, Severity::kError,
         *Location::Parse("PID-3"), "required field missing: PID-3"},
        {ErrorCode::kSegmentSequence, Severity::kError, *Location::Parse("OBX"),
         "segment OBX is not expected here"}};
    Ack ack = BuildAck(m, findings, AckCode::kError, Opts());
    std::vector<std::string> segs = Segments(ack.text);
    ASSERT_EQ(segs.size(), 3u);
    EXPECT_EQ(segs[0],
              std::string("MSH|^~\\&|EHR|EF|LAB|LF|20260101120000+0000||"
                          "ACK^R01|ACK0001|P|") +
                  v);
    EXPECT_EQ(segs[1], "MSA|AE|O2|required field missing: PID-3");
    EXPECT_EQ(segs[2],
              "ERR|PID^1^3^101&required field missing: PID-3&HL70357~"
              "OBX^1^^100&segment OBX is not expected here&HL70357");
  }
}

TEST(AckTest, UsesTheMessagesDelimiters) {
  const std::string text =
      "MSH#$*@%#LAB#LF#EHR#EF#2026##ORU$R01$ORU_R01#O3#T#2.5\r";
  Message m = ParseOrDie(text);
  std::vector<Finding> findings = {{ErrorCode::kTableValue, Severity::kError,
                                    *Location::Parse("OBX-11"),
                                    "bad # $ value"}};
  Ack ack = BuildAck(m, findings, AckCode::kError, Opts());
  std::vector<std::string> segs = Segments(ack.text);
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(
      segs[0],
      "MSH#$*@%#EHR#EF#LAB#LF#20260101120000+0000##ACK$R01$ACK#ACK0001#T#2.5");
  EXPECT_EQ(segs[1], "MSA#AE#O3");
  EXPECT_EQ(segs[2],
            "ERR##OBX$1$11$1#103$Table value not found$HL70357#E####bad @F@ "
            "@S@ value");
  Message parsed = ParseOrDie(ack.text);
  EXPECT_EQ(parsed.GetText("ERR-8"), "bad # $ value");
}

TEST(AckTest, EnhancedModeHonoursAcceptAckType) {
  struct Case {
    const char* msh15;
    AckCode code;
    bool send;
    const char* text;
  } cases[] = {
      {"AL", AckCode::kAccept, true, "CA"},
      {"AL", AckCode::kError, true, "CE"},
      {"NE", AckCode::kAccept, false, "CA"},
      {"NE", AckCode::kReject, false, "CR"},
      {"ER", AckCode::kAccept, false, "CA"},
      {"ER", AckCode::kReject, true, "CR"},
      {"SU", AckCode::kAccept, true, "CA"},
      {"SU", AckCode::kError, false, "CE"},
  };
  for (const Case& c : cases) {
    const std::string text =
        std::string("MSH|^~\\&|L|F|E|G|2026||ORU^R01|O4|P|2.5|||") + c.msh15 +
        "|NE\r";
    Message m = ParseOrDie(text);
    Ack ack = BuildAck(m, {}, c.code, Opts());
    EXPECT_EQ(ack.send, c.send) << c.msh15 << " " << c.text;
    EXPECT_EQ(ack.code_text, c.text);
  }
  // Only MSH-16 valued: still enhanced, accept ACK always sent.
  const std::string only16 = "MSH|^~\\&|L|F|E|G|2026||ORU^R01|O5|P|2.5||||AL\r";
  Message m = ParseOrDie(only16);
  Ack ack = BuildAck(m, {}, AckCode::kAccept, Opts());
  EXPECT_TRUE(ack.send);
  EXPECT_EQ(ack.code_text, "CA");
}

TEST(AckTest, EchoesSupportedCharsetAndDefaultsEmptyFields) {
  const std::string text =
      "MSH|^~\\&|||||2026||ORU^R01|O6||2.5.1|||||CH|8859/1\r";
  Message m = ParseOrDie(text);
  AckOptions o = Opts();
  o.facility = "SITE";
  Ack ack = BuildAck(m, {}, AckCode::kAccept, o);
  std::vector<std::string> segs = Segments(ack.text);
  EXPECT_EQ(segs[0],
            "MSH|^~\\&|HL7APPLIANCE|SITE|||20260101120000+0000||ACK^R01^ACK|"
            "ACK0001|P|2.5.1||||||8859/1");
}

TEST(AckTest, RejectForUnparseableIsWellFormed) {
  Ack ack = BuildRejectForUnparseable(
      absl::InvalidArgumentError("message does not start with MSH"), Opts());
  EXPECT_EQ(ack.code, AckCode::kReject);
  EXPECT_EQ(ack.code_text, "AR");
  std::vector<std::string> segs = Segments(ack.text);
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[0],
            "MSH|^~\\&|HL7APPLIANCE||||20260101120000+0000||ACK^^ACK|ACK0001|P|"
            "2.5.1");
  EXPECT_EQ(segs[1], "MSA|AR|");
  EXPECT_EQ(segs[2],
            "ERR|||100^Segment sequence error^HL70357|E||||"
            "message could not be parsed: message does not start with MSH");
  Message parsed = ParseOrDie(ack.text);
  EXPECT_EQ(parsed.Get("MSA-1"), "AR");
}

TEST(AckTest, ShortEncodingCharactersStillGiveWellFormedErr) {
  const std::string text = "MSH|^~|L|F|E|G|2026||ORU^R01|O7|P|2.4\r";
  Message m = ParseOrDie(text);
  std::vector<Finding> findings = {
      {ErrorCode::kDataType, Severity::kError, *Location::Parse("PID-7"), "a"},
      {ErrorCode::kDataType, Severity::kError, *Location::Parse("PID-8"), "b"}};
  Ack ack = BuildAck(m, findings, AckCode::kError, Opts());
  EXPECT_EQ(ack.text.find('\0'), std::string::npos);
  std::vector<std::string> segs = Segments(ack.text);
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[0].substr(0, 10), "MSH|^~\\&|E");
  EXPECT_EQ(segs[2], "ERR|PID^1^7^102&a&HL70357~PID^1^8^102&b&HL70357");
  Message parsed = ParseOrDie(ack.text);
  EXPECT_EQ(parsed.Get("ERR-1(2).4.2"), "b");
}

TEST(AckTest, DecideFollowsPolicy) {
  Finding warn{ErrorCode::kRequiredFieldMissing, Severity::kWarning, {}, "w"};
  Finding err{ErrorCode::kDataType, Severity::kError, {}, "e"};
  Finding unsupported{
      ErrorCode::kUnsupportedVersion, Severity::kError, {}, "v"};
  ValidationPolicy policy;
  EXPECT_EQ(Decide({}, policy), AckCode::kAccept);
  EXPECT_EQ(Decide({warn}, policy), AckCode::kAccept);
  EXPECT_EQ(Decide({warn, err}, policy), AckCode::kError);
  EXPECT_EQ(Decide({err, unsupported}, policy), AckCode::kReject);
  policy.Override(ErrorCode::kDataType, Action::kWarn);
  EXPECT_EQ(Decide({err}, policy), AckCode::kAccept);
  policy.Override(ErrorCode::kRequiredFieldMissing, Action::kReject);
  EXPECT_EQ(Decide({warn}, policy), AckCode::kReject);
}

TEST(AckTest, VersionNumbers) {
  EXPECT_EQ(VersionNumber("2.3"), 230);
  EXPECT_EQ(VersionNumber("2.3.1"), 231);
  EXPECT_EQ(VersionNumber("2.5.1"), 251);
  EXPECT_EQ(VersionNumber("2.10"), 300);  // Unusual but ordered after 2.9.
  EXPECT_EQ(VersionNumber(""), 0);
  EXPECT_EQ(VersionNumber("x"), 0);
}

}  // namespace
}  // namespace appliance::hl7
