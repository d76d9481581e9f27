#include "appliance/hl7/message.h"

#include <string>

#include "gtest/gtest.h"

namespace appliance::hl7 {
namespace {

const char kOru[] =
    "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20260101120000||ORU^R01^ORU_R01|MSG1|P|2.5.1\r"
    "PID|1||111^^^HOSP^MR~222^^^NAT^NI||DOE&VAN^JANE^Q||19700101|F\r"
    "OBR|1||F1|24323-8^Panel^LN\r"
    "OBX|1|NM|2345-7^Glucose^LN||5.4|mmol/L|3.9-6.1|N|||F\r"
    "OBX|2|ST|X^Note^L||a~~c||||||F\r";

TEST(MessageTest, ParsesSegmentsAndFields) {
  absl::StatusOr<Message> m = Message::Parse(kOru);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->segment_count(), 5u);
  EXPECT_EQ(m->segment(0).name(), "MSH");
  EXPECT_EQ(m->segment(3).name(), "OBX");
  EXPECT_EQ(m->msh(1), "|");
  EXPECT_EQ(m->msh(2), "^~\\&");
  EXPECT_EQ(m->msh(3), "LAB");
  EXPECT_EQ(m->msh(9), "ORU^R01^ORU_R01");
  EXPECT_EQ(m->control_id(), "MSG1");
  EXPECT_EQ(m->version(), "2.5.1");
  EXPECT_EQ(m->segment(1).field(0), "PID");
  EXPECT_EQ(m->segment(1).field(8), "F");
  EXPECT_EQ(m->segment(1).field(99), "");
  EXPECT_EQ(m->segment(1).raw().substr(0, 5), "PID|1");
  EXPECT_EQ(m->CountSegments("OBX"), 2);
}

TEST(MessageTest, ViewsPointIntoTheInputBuffer) {
  const std::string buf = kOru;
  absl::StatusOr<Message> m = Message::Parse(buf);
  ASSERT_TRUE(m.ok());
  const std::string_view v = m->Get("OBX-5");
  EXPECT_EQ(v, "5.4");
  EXPECT_GE(v.data(), buf.data());
  EXPECT_LT(v.data(), buf.data() + buf.size());
}

TEST(MessageTest, PathAccess) {
  absl::StatusOr<Message> m = Message::Parse(kOru);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->Get("PID-3"), "111^^^HOSP^MR");
  EXPECT_EQ(m->Get("PID-3(2)"), "222^^^NAT^NI");
  EXPECT_EQ(m->Get("PID-3(2).1"), "222");
  EXPECT_EQ(m->Get("PID-3(2).4"), "NAT");
  EXPECT_EQ(m->Get("PID-3(3).1"), "");
  EXPECT_EQ(m->Get("PID-5.1"), "DOE&VAN");
  EXPECT_EQ(m->Get("PID-5.1.2"), "VAN");
  EXPECT_EQ(m->Get("PID-5.2"), "JANE");
  EXPECT_EQ(m->Get("OBX[2]-3.2"), "Note");
  EXPECT_EQ(m->Get("OBX[1]-5"), "5.4");
  EXPECT_EQ(m->Get("OBX[3]-5"), "");
  EXPECT_EQ(m->Get("MSH-2"), "^~\\&");
  EXPECT_EQ(m->Get("MSH-9.2"), "R01");
  EXPECT_EQ(m->Get("ZZZ-1"), "");
  EXPECT_EQ(m->Get("bad path"), "");
  EXPECT_EQ(m->Get("PID").substr(0, 3), "PID");
}

TEST(MessageTest, EmptyRepetitionsKeepTheirPosition) {
  absl::StatusOr<Message> m = Message::Parse(kOru);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->Get("OBX[2]-5(1)"), "a");
  EXPECT_EQ(m->Get("OBX[2]-5(2)"), "");
  EXPECT_EQ(m->Get("OBX[2]-5(3)"), "c");
  Segment obx;
  ASSERT_TRUE(m->FindSegment("OBX", 2, &obx));
  EXPECT_EQ(PieceCount(obx.field(5), '~'), 3u);
  EXPECT_EQ(m->Get("OBX[2]-5"), "a");  // No repetition named: the first.
}

TEST(MessageTest, NullIsDistinctFromEmpty) {
  absl::StatusOr<Message> m = Message::Parse(
      "MSH|^~\\&|A|B|C|D|20260101||ADT^A08|1|P|2.5\rPID|1||9||\"\"|||\r");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(IsNull(m->Get("PID-5")));
  EXPECT_FALSE(IsNull(m->Get("PID-6")));
  EXPECT_EQ(m->Get("PID-6"), "");
}

TEST(MessageTest, AcceptsCrLfAndBareLf) {
  for (const char* eol : {"\r", "\r\n", "\n"}) {
    SCOPED_TRACE(testing::PrintToString(std::string(eol)));
    std::string text = std::string("MSH|^~\\&|A|B|C|D|2026||ORU^R01|1|P|2.5") +
                       eol + "PID|1||9" + eol + eol + "OBR|1" + eol;
    absl::StatusOr<Message> m = Message::Parse(text);
    ASSERT_TRUE(m.ok());
    ASSERT_EQ(m->segment_count(), 3u);
    EXPECT_EQ(m->msh(12), "2.5");
    EXPECT_EQ(m->Get("PID-3"), "9");
    EXPECT_EQ(m->segment(2).name(), "OBR");
  }
}

TEST(MessageTest, StrictModeTreatsLfAsData) {
  ParseOptions strict;
  strict.accept_lf = false;
  absl::StatusOr<Message> m = Message::Parse(
      "MSH|^~\\&|A|B|C|D|2026||ORU^R01|1|P|2.5\nPID|1\r", strict);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->segment_count(), 1u);
}

TEST(MessageTest, AlternativeDelimitersAreReadFromMsh) {
  absl::StatusOr<Message> m = Message::Parse(
      "MSH#$*@%#LAB#HOSP#EHR#HOSP#2026##ORU$R01#9#P#2.5\r"
      "PID#1##111$$$HOSP*222#x|y^z\r");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->delimiters().field, '#');
  EXPECT_EQ(m->delimiters().component, '$');
  EXPECT_EQ(m->delimiters().repetition, '*');
  EXPECT_EQ(m->delimiters().escape, '@');
  EXPECT_EQ(m->delimiters().subcomponent, '%');
  EXPECT_EQ(m->msh(9), "ORU$R01");
  EXPECT_EQ(m->Get("MSH-9.2"), "R01");
  EXPECT_EQ(m->Get("PID-3(2)"), "222");
  EXPECT_EQ(m->Get("PID-3(1).4"), "HOSP");
  EXPECT_EQ(m->Get("PID-4"), "x|y^z");  // The usual delimiters are data here.
}

TEST(MessageTest, TruncationCharacterIsNotASeparator) {
  absl::StatusOr<Message> m =
      Message::Parse("MSH|^~\\&#|A|B|C|D|2026||ORU^R01|1|P|2.7\rPID|1||a#b\r");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->msh(2), "^~\\&#");
  EXPECT_EQ(m->msh(3), "A");
  EXPECT_EQ(m->Get("PID-3"), "a#b");
  EXPECT_EQ(m->delimiters().EncodingCharacters(), "^~\\&");
}

TEST(MessageTest, ShortEncodingCharacters) {
  absl::StatusOr<Message> m =
      Message::Parse("MSH|^~|A|B|C|D|2026||ORU^R01|1|P|2.3\rPID|1||a\\b&c\r");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->delimiters().escape, '\0');
  EXPECT_EQ(m->delimiters().subcomponent, '\0');
  EXPECT_EQ(m->Get("PID-3.1.1"), "a\\b&c");
}

TEST(MessageTest, RejectsUnreadableHeaders) {
  for (const char* bad :
       {"", "PID|1", "MSH", "MSH|", "MSH||A", "MSHA^~\\&", "MSH|^~\\&^|A",
        "MSH|^^\\&|A", "MSH|^~1&|A", "MSH|^~\\&xyz12|A", "hello world"}) {
    EXPECT_FALSE(Message::Parse(bad).ok()) << bad;
  }
}

TEST(MessageTest, SkipsBomAndLeadingWhitespace) {
  absl::StatusOr<Message> m = Message::Parse(
      "\xEF\xBB\xBF\r\n MSH|^~\\&|A|B|C|D|2026||ORU^R01|1|P|2.5");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->control_id(), "1");
}

TEST(MessageTest, MshWithNothingAfterEncodingCharacters) {
  absl::StatusOr<Message> m = Message::Parse("MSH|^~\\&");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->msh(2), "^~\\&");
  EXPECT_EQ(m->msh(3), "");
  EXPECT_EQ(m->segment(0).field_count(), 3u);
}

TEST(MessageTest, ParseIntoReusesAndResets) {
  Message m;
  ASSERT_TRUE(m.ParseInto(kOru).ok());
  EXPECT_EQ(m.segment_count(), 5u);
  EXPECT_FALSE(m.ParseInto("garbage").ok());
  EXPECT_EQ(m.segment_count(), 0u);
  ASSERT_TRUE(m.ParseInto("MSH|^~\\&|A\rPID|1").ok());
  EXPECT_EQ(m.segment_count(), 2u);
}

TEST(MessageTest, GetTextUnescapes) {
  absl::StatusOr<Message> m = Message::Parse(
      "MSH|^~\\&|A|B|C|D|2026||ORU^R01|1|P|2.5\rNTE|1||a\\F\\b\\S\\c\r");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->Get("NTE-3"), "a\\F\\b\\S\\c");
  EXPECT_EQ(m->GetText("NTE-3"), "a|b^c");
}

TEST(LocationTest, ParseAndPrint) {
  absl::StatusOr<Location> l = Location::Parse("OBX[4]-5(2).3.1");
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->segment, "OBX");
  EXPECT_EQ(l->occurrence, 4);
  EXPECT_EQ(l->field, 5);
  EXPECT_EQ(l->repetition, 2);
  EXPECT_EQ(l->component, 3);
  EXPECT_EQ(l->subcomponent, 1);
  EXPECT_EQ(l->ToString(), "OBX[4]-5(2).3.1");
  EXPECT_EQ(Location::Parse("PID-3.1")->ToString(), "PID-3.1");
  EXPECT_EQ(Location::Parse("PID.3.1")->ToString(), "PID-3.1");
  EXPECT_EQ(Location::Parse("PID")->ToString(), "PID");
  for (const char* bad : {"", "PI", "PIDX-1", "PID-", "PID-0", "PID[0]-1",
                          "PID-1(", "PID-1.", "PID-1.2.3.4", "PID[2"}) {
    EXPECT_FALSE(Location::Parse(bad).ok()) << bad;
  }
}

TEST(SplitMessagesTest, SplitsBatchesAndBackToBackMessages) {
  const std::string batch =
      "FHS|^~\\&|A\rBHS|^~\\&|A\r"
      "MSH|^~\\&|A|B|C|D|2026||ORU^R01|1|P|2.5\rPID|1\r"
      "MSH|^~\\&|A|B|C|D|2026||ORU^R01|2|P|2.5\rPID|2\r"
      "BTS|2\rFTS|1\r";
  std::vector<std::string_view> msgs = SplitMessages(batch);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(Message::Parse(msgs[0])->control_id(), "1");
  EXPECT_EQ(Message::Parse(msgs[1])->control_id(), "2");
  EXPECT_EQ(Message::Parse(msgs[1])->segment_count(), 2u);

  std::vector<std::string_view> lf =
      SplitMessages("MSH|^~\\&|A\nPID|1\nMSH|^~\\&|B\nPID|2\n");
  ASSERT_EQ(lf.size(), 2u);
  EXPECT_EQ(Message::Parse(lf[1])->msh(3), "B");
  EXPECT_TRUE(SplitMessages("no message here\r").empty());
}

TEST(PieceTest, Pieces) {
  EXPECT_EQ(Piece("a^b^c", '^', 1), "a");
  EXPECT_EQ(Piece("a^b^c", '^', 3), "c");
  EXPECT_EQ(Piece("a^b^c", '^', 4), "");
  EXPECT_EQ(Piece("a^^c", '^', 2), "");
  EXPECT_EQ(Piece("abc", '\0', 1), "abc");
  EXPECT_EQ(Piece("abc", '\0', 2), "");
  EXPECT_EQ(Piece("", '^', 1), "");
  EXPECT_EQ(PieceCount("", '^'), 0u);
  EXPECT_EQ(PieceCount("a^^", '^'), 3u);
}

}  // namespace
}  // namespace appliance::hl7
