#include "tools/hl7load/templates.h"

#include "appliance/hl7/engine.h"
#include "appliance/hl7/message.h"
#include "gtest/gtest.h"

namespace hl7load {
namespace {

TEST(MessageTemplateTest, ReplacesMsh10Only) {
  absl::StatusOr<MessageTemplate> t = MessageTemplate::Create(
      "MSH|^~\\&|A|B|C|D|20261102||ORU^R01|ORIG-1|P|2.5\rPID|1||X|ORIG-1\r");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->control_id(), "ORIG-1");
  EXPECT_EQ(t->WithControlId("LOAD-1-0-7"),
            "MSH|^~\\&|A|B|C|D|20261102||ORU^R01|LOAD-1-0-7|P|2.5\r"
            "PID|1||X|ORIG-1\r");
}

TEST(MessageTemplateTest, Msh10LastFieldAndOtherDelimiters) {
  absl::StatusOr<MessageTemplate> t =
      MessageTemplate::Create("MSH#$*@%#A#B#C#D#1##T#ID9\rPID#1\r");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->control_id(), "ID9");
  EXPECT_EQ(t->WithControlId("N"), "MSH#$*@%#A#B#C#D#1##T#N\rPID#1\r");
}

TEST(MessageTemplateTest, ShortMshIsPadded) {
  absl::StatusOr<MessageTemplate> t =
      MessageTemplate::Create("MSH|^~\\&|A|B\rPID|1\r");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->control_id(), "");
  EXPECT_EQ(t->WithControlId("N"), "MSH|^~\\&|A|B||||||N\rPID|1\r");
  const std::string text = t->WithControlId("N");  // Outlives the Message.
  absl::StatusOr<appliance::hl7::Message> m =
      appliance::hl7::Message::Parse(text);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->control_id(), "N");
}

TEST(MessageTemplateTest, RejectsNonHl7) {
  EXPECT_FALSE(MessageTemplate::Create("PID|1\r").ok());
  EXPECT_FALSE(MessageTemplate::Create("MSH").ok());
  EXPECT_FALSE(MessageTemplate::Create("MSH\rPID\r").ok());
}

TEST(BuiltinOruTest, AcceptedByTheEngineUnderAnyControlId) {
  absl::StatusOr<MessageTemplate> t = MessageTemplate::Create(BuiltinOru());
  ASSERT_TRUE(t.ok());
  const appliance::hl7::Engine engine;
  appliance::hl7::AckOptions ack_options;
  ack_options.control_id = "ACK1";
  ack_options.timestamp = "20261102120000";
  for (const std::string& message :
       {BuiltinOru(), t->WithControlId("LOAD-123456-999-1000000")}) {
    appliance::hl7::Outcome outcome;
    engine.Process(message, ack_options, &outcome);
    ASSERT_TRUE(outcome.parse_status.ok());
    EXPECT_EQ(outcome.ack.code_text, "AA") << outcome.ack.text;
  }
}

}  // namespace
}  // namespace hl7load
