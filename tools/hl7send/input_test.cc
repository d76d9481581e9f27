#include "tools/hl7send/input.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hl7send {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string TmpDir() { return getenv("TEST_TMPDIR"); }

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(SplitAndNormalizeTest, TerminatorsBecomeSingleCr) {
  EXPECT_THAT(SplitAndNormalize("MSH|^~\\&|A\r\nPID|1\r\n\r\nOBX|1\n"),
              ElementsAre("MSH|^~\\&|A\rPID|1\rOBX|1\r"));
  EXPECT_THAT(SplitAndNormalize("MSH|^~\\&|A\rPID|1"),
              ElementsAre("MSH|^~\\&|A\rPID|1\r"));
}

TEST(SplitAndNormalizeTest, BatchAndBackToBack) {
  EXPECT_THAT(SplitAndNormalize("FHS|^~\\&\nBHS|^~\\&\nMSH|^~\\&|1\nPID|1\n"
                                "MSH|^~\\&|2\nPID|2\nBTS|2\nFTS|1\n"),
              ElementsAre("MSH|^~\\&|1\rPID|1\r", "MSH|^~\\&|2\rPID|2\r"));
}

TEST(SplitAndNormalizeTest, CapturedMllpStreamAndBom) {
  EXPECT_THAT(SplitAndNormalize("\xEF\xBB\xBF\x0bMSH|^~\\&|1\rPID|1\r\x1c\r"
                                "\x0bMSH|^~\\&|2\r\x1c\r"),
              ElementsAre("MSH|^~\\&|1\rPID|1\r", "MSH|^~\\&|2\r"));
}

TEST(SplitAndNormalizeTest, NoMessage) {
  EXPECT_THAT(SplitAndNormalize("GET / HTTP/1.1\r\n\r\n"), IsEmpty());
  EXPECT_THAT(SplitAndNormalize(""), IsEmpty());
}

TEST(LoadMessagesTest, DirectoriesRecursiveSortedHiddenSkipped) {
  const std::string root = TmpDir() + "/load";
  mkdir(root.c_str(), 0755);
  mkdir((root + "/b").c_str(), 0755);
  mkdir((root + "/.git").c_str(), 0755);
  WriteFile(root + "/c.hl7", "MSH|^~\\&|C\n");
  WriteFile(root + "/b/x.hl7", "MSH|^~\\&|X1\nMSH|^~\\&|X2\n");
  WriteFile(root + "/a.hl7", "MSH|^~\\&|A\n");
  WriteFile(root + "/.hidden.hl7", "MSH|^~\\&|H\n");
  WriteFile(root + "/.git/obj", "MSH|^~\\&|G\n");
  WriteFile(root + "/README", "not a message\n");
  std::vector<std::string> errors, warnings;
  std::vector<InputMessage> messages = LoadMessages({root}, &errors, &warnings);
  EXPECT_THAT(errors, IsEmpty());
  EXPECT_THAT(warnings,
              ElementsAre(root + "/README: skipped, no HL7 message found"));
  std::vector<std::string> seen;
  for (const InputMessage& m : messages) {
    seen.push_back(m.file.substr(root.size()) + "#" + std::to_string(m.index) +
                   " " + m.payload);
  }
  EXPECT_THAT(
      seen, ElementsAre("/a.hl7#1 MSH|^~\\&|A\r", "/b/x.hl7#1 MSH|^~\\&|X1\r",
                        "/b/x.hl7#2 MSH|^~\\&|X2\r", "/c.hl7#1 MSH|^~\\&|C\r"));
}

TEST(LoadMessagesTest, ProblemsAreReportedPerPath) {
  const std::string corpus = std::string(getenv("TEST_SRCDIR")) + "/" +
                             getenv("TEST_WORKSPACE") + "/tests/data/hl7/";
  std::vector<std::string> errors, warnings;
  std::vector<InputMessage> messages =
      LoadMessages({"/nonexistent/x.hl7", corpus + "not_hl7.hl7",
                    corpus + "batch_two_oru.hl7"},
                   &errors, &warnings);
  EXPECT_THAT(warnings, IsEmpty());
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0],
            "/nonexistent/x.hl7: cannot read: No such file or "
            "directory");
  EXPECT_THAT(errors[1], HasSubstr("not_hl7.hl7: no HL7 message found"));
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1].index, 2);
  EXPECT_THAT(messages[1].payload, HasSubstr("|BATCH-2|"));
  EXPECT_EQ(messages[1].payload.find("BTS"), std::string::npos);
}

TEST(ReadFileBytesTest, DirectoryIsNotAFile) {
  absl::StatusOr<std::string> bytes = ReadFileBytes(TmpDir());
  EXPECT_TRUE(absl::IsFailedPrecondition(bytes.status()));
}

}  // namespace
}  // namespace hl7send
