#include "tools/hl7send/flags.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hl7send {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

struct Flags {
  std::string host = "127.0.0.1";
  int64_t port = 2575;
  double rate = 0;
  bool tls = false;
  bool unique = true;
  FlagSet set;
  Flags() {
    set.String("host", &host, "HOST", "address");
    set.Int("port", &port, 1, 65535, "port");
    set.Double("rate", &rate, 0, 1e9, "rate");
    set.Bool("tls", &tls, "tls");
    set.Bool("unique_ids", &unique,
             "a long help text that needs to be wrapped because it does not "
             "fit on one line of the terminal at all");
  }
  absl::Status Parse(std::vector<const char*> args) {
    args.insert(args.begin(), "prog");
    return set.Parse(static_cast<int>(args.size()), args.data());
  }
};

TEST(FlagSetTest, DefaultsStayWhenNotGiven) {
  Flags f;
  ASSERT_TRUE(f.Parse({"a.hl7"}).ok());
  EXPECT_EQ(f.host, "127.0.0.1");
  EXPECT_EQ(f.port, 2575);
  EXPECT_FALSE(f.set.IsSet("port"));
  EXPECT_THAT(f.set.positional(), ElementsAre("a.hl7"));
}

TEST(FlagSetTest, BothValueFormsAndBooleans) {
  Flags f;
  ASSERT_TRUE(f.Parse({"--host=example.invalid", "--port", "7000", "--tls",
                       "--nounique_ids", "--rate=12.5", "x", "--", "--y"})
                  .ok());
  EXPECT_EQ(f.host, "example.invalid");
  EXPECT_EQ(f.port, 7000);
  EXPECT_TRUE(f.tls);
  EXPECT_FALSE(f.unique);
  EXPECT_DOUBLE_EQ(f.rate, 12.5);
  EXPECT_TRUE(f.set.IsSet("port"));
  EXPECT_TRUE(f.set.IsSet("unique_ids"));
  EXPECT_THAT(f.set.positional(), ElementsAre("x", "--y"));
}

TEST(FlagSetTest, ExplicitBooleanValues) {
  Flags f;
  ASSERT_TRUE(f.Parse({"--tls=true", "--unique_ids=false"}).ok());
  EXPECT_TRUE(f.tls);
  EXPECT_FALSE(f.unique);
  EXPECT_FALSE(f.Parse({"--tls=maybe"}).ok());
}

TEST(FlagSetTest, RejectsBadInput) {
  EXPECT_THAT(std::string(Flags().Parse({"--bogus"}).message()),
              HasSubstr("unknown flag --bogus"));
  EXPECT_THAT(std::string(Flags().Parse({"--port=abc"}).message()),
              HasSubstr("invalid value \"abc\" for flag --port"));
  EXPECT_FALSE(Flags().Parse({"--port=0"}).ok());
  EXPECT_FALSE(Flags().Parse({"--port=65536"}).ok());
  EXPECT_FALSE(Flags().Parse({"--port=1x"}).ok());
  EXPECT_FALSE(Flags().Parse({"--rate=-1"}).ok());
  EXPECT_FALSE(Flags().Parse({"--rate=nan"}).ok());
  EXPECT_THAT(std::string(Flags().Parse({"--host"}).message()),
              HasSubstr("needs a value"));
  EXPECT_FALSE(Flags().Parse({"--nohost"}).ok());  // Not a boolean.
}

TEST(FlagSetTest, Help) {
  Flags f;
  ASSERT_TRUE(f.Parse({"--port=1", "-h", "--bogus"}).ok());
  EXPECT_TRUE(f.set.help_requested());
  const std::string text = f.set.Describe();
  EXPECT_THAT(text, HasSubstr("--host=HOST"));
  EXPECT_THAT(text, HasSubstr("(default: 127.0.0.1)"));
  EXPECT_THAT(text, HasSubstr("(default: 2575)"));
  EXPECT_THAT(text, HasSubstr("(default: true)"));
  EXPECT_THAT(text, Not(HasSubstr("(default: false)")));
  for (size_t start = 0, end; start < text.size(); start = end + 1) {
    end = text.find('\n', start);
    EXPECT_LE(end - start, 79u) << text.substr(start, end - start);
  }
}

}  // namespace
}  // namespace hl7send
