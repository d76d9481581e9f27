// Runs the synthetic corpus (tests/data/hl7) through parse + validate + ACK
// and checks each message's ACK code against tests/data/hl7/expected.txt.
#include "appliance/hl7/engine.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace appliance::hl7 {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string CorpusDir() {
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* ws = getenv("TEST_WORKSPACE");
  return std::string(srcdir ? srcdir : ".") + "/" +
         (ws ? ws : "hl7_appliance") + "/tests/data/hl7/";
}

AckOptions Opts() {
  AckOptions o;
  o.control_id = "A1";
  o.timestamp = "20260101120000";
  return o;
}

TEST(EngineTest, CorpusMatchesExpectedAckCodes) {
  std::ifstream manifest(CorpusDir() + "expected.txt");
  ASSERT_TRUE(manifest.good());
  Engine engine;
  Outcome out;
  std::string line;
  int files = 0;
  while (std::getline(manifest, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    std::vector<std::string> expected;
    for (std::string code; fields >> code;) expected.push_back(code);
    const std::string bytes = ReadFile(CorpusDir() + name);
    ASSERT_FALSE(bytes.empty()) << name;
    std::vector<std::string_view> messages = SplitMessages(bytes);
    if (messages.empty()) messages.push_back(bytes);  // Unparseable input.
    ASSERT_EQ(messages.size(), expected.size()) << name;
    for (size_t i = 0; i < messages.size(); ++i) {
      engine.Process(messages[i], Opts(), &out);
      std::string findings;
      for (const Finding& f : out.validation.findings) {
        findings += f.location.ToString() + ": " + f.text + "\n";
      }
      EXPECT_EQ(out.ack.code_text, expected[i]) << name << " #" << i << "\n"
                                                << findings << out.ack.text;
      // Every ACK parses and refers back to the message.
      Message ack;
      ASSERT_TRUE(ack.ParseInto(out.ack.text).ok()) << name;
      EXPECT_EQ(ack.Get("MSA-1"), expected[i]);
      if (out.parse_status.ok()) {
        EXPECT_EQ(ack.Get("MSA-2"), out.message.control_id());
      }
    }
    ++files;
  }
  EXPECT_GE(files, 20);
}

TEST(EngineTest, DecodedCorpusValues) {
  Engine engine;
  Outcome out;
  const std::string esc = ReadFile(CorpusDir() + "oru_r01_escapes.hl7");
  engine.Process(esc, Opts(), &out);
  ASSERT_TRUE(out.parse_status.ok());
  EXPECT_EQ(out.message.GetText("OBX-5"),
            "Line one\nLine two with | pipe, ^ caret, & amp, ~ tilde, \\ "
            "backslash\nImportant OK \\Zcustom\\");
  EXPECT_EQ(out.message.GetText("OBX[2]-5"),
            "Unknown \\Q\\ sequence and lone \\ escape");

  const std::string latin = ReadFile(CorpusDir() + "oru_r01_latin1.hl7");
  engine.Process(latin, Opts(), &out);
  EXPECT_EQ(out.message.GetText("PID-5.2"), "J\xC3\x9CRGEN");

  const std::string utf8 = ReadFile(CorpusDir() + "oru_r01_utf8.hl7");
  engine.Process(utf8, Opts(), &out);
  EXPECT_EQ(out.message.GetText("PID-5.2"), "ZO\xC3\x8B");

  const std::string alt = ReadFile(CorpusDir() + "oru_r01_alt_delims.hl7");
  engine.Process(alt, Opts(), &out);
  EXPECT_EQ(out.message.GetText("OBX[2]-5"), "Value#verified ok");
  EXPECT_EQ(out.message.Get("PID-3.4"), "GENHOSP");

  const std::string crlf = ReadFile(CorpusDir() + "oru_r01_v24_crlf.hl7");
  engine.Process(crlf, Opts(), &out);
  EXPECT_EQ(out.message.segment_count(), 8u);
  EXPECT_EQ(out.message.Get("OBX[3]-5.2"), "Detected");
}

TEST(EngineTest, UnparseableGetsWellFormedAr) {
  Engine engine;
  Outcome out;
  engine.Process("\x0b garbage \x1c", Opts(), &out);
  EXPECT_FALSE(out.parse_status.ok());
  EXPECT_EQ(out.ack.code_text, "AR");
  Message ack;
  ASSERT_TRUE(ack.ParseInto(out.ack.text).ok());
  EXPECT_EQ(ack.Get("MSA-1"), "AR");
  EXPECT_EQ(ack.Get("ERR-3.1"), "100");
}

}  // namespace
}  // namespace appliance::hl7
