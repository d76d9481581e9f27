#include "appliance/hl7/datatypes.h"

#include "gtest/gtest.h"

namespace appliance::hl7 {
namespace {

TEST(DateTimeTest, PrecisionsAndOffsets) {
  absl::StatusOr<DateTime> y = ParseDateTime("2026");
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->year, 2026);
  EXPECT_EQ(y->month, -1);
  EXPECT_EQ(y->digits, 4);

  absl::StatusOr<DateTime> ym = ParseDateTime("202602");
  ASSERT_TRUE(ym.ok());
  EXPECT_EQ(ym->month, 2);
  EXPECT_EQ(ym->digits, 6);

  absl::StatusOr<DateTime> full = ParseDateTime("20260228235930.1234-0530");
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->day, 28);
  EXPECT_EQ(full->hour, 23);
  EXPECT_EQ(full->minute, 59);
  EXPECT_EQ(full->second, 30);
  EXPECT_EQ(full->fraction, "1234");
  EXPECT_EQ(full->digits, 14);
  EXPECT_TRUE(full->has_offset);
  EXPECT_EQ(full->offset_minutes, -330);

  absl::StatusOr<DateTime> minutes = ParseDateTime("202602281200+0100");
  ASSERT_TRUE(minutes.ok());
  EXPECT_EQ(minutes->digits, 12);
  EXPECT_EQ(minutes->second, -1);
  EXPECT_EQ(minutes->offset_minutes, 60);
  EXPECT_TRUE(ParseDateTime("20240229").ok());       // Leap day.
  EXPECT_TRUE(ParseDateTime("20260101+0100").ok());  // Offset at any precision.
}

TEST(DateTimeTest, RejectsMalformed) {
  for (const char* bad :
       {"", "26", "2026-01-01", "20261301", "20260230", "20250229", "2026010",
        "2026010124", "202601012360", "20260101235961", "20260101120000.",
        "20260101120000.12345", "202601011200+01", "202601011200+1500",
        "2026O101", "20260101 1200"}) {
    EXPECT_FALSE(ParseDateTime(bad).ok()) << bad;
  }
}

TEST(DateTimeTest, DateAndTime) {
  EXPECT_TRUE(ParseDate("20260101").ok());
  EXPECT_TRUE(ParseDate("2026").ok());
  EXPECT_FALSE(ParseDate("202601011200").ok());
  absl::StatusOr<DateTime> t = ParseTime("0930");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->hour, 9);
  EXPECT_EQ(t->minute, 30);
  EXPECT_EQ(t->year, -1);
  EXPECT_TRUE(ParseTime("093015.5+0200").ok());
  EXPECT_FALSE(ParseTime("2500").ok());
  EXPECT_FALSE(ParseTime("9").ok());
}

TEST(NumericTest, AcceptsHl7NumbersOnly) {
  for (const char* good :
       {"5", "5.4", "065.88", "-0.5", "+3", ".5", "5.", "0000"}) {
    EXPECT_TRUE(IsNumeric(good)) << good;
  }
  for (const char* bad : {"", "1,5", "1.000,5", "1e5", "--1", "+", ".", "5 ",
                          " 5", "abc", "1.2.3", "<5"}) {
    EXPECT_FALSE(IsNumeric(bad)) << bad;
  }
}

TEST(StructuredNumericTest, Forms) {
  const Delimiters d;
  absl::StatusOr<StructuredNumeric> lt = ParseStructuredNumeric("<^0.5", d);
  ASSERT_TRUE(lt.ok());
  EXPECT_EQ(lt->comparator, "<");
  EXPECT_EQ(lt->num1, "0.5");
  absl::StatusOr<StructuredNumeric> range = ParseStructuredNumeric("^1^-^3", d);
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->num1, "1");
  EXPECT_EQ(range->separator, "-");
  EXPECT_EQ(range->num2, "3");
  absl::StatusOr<StructuredNumeric> ratio =
      ParseStructuredNumeric("^1^:^128", d);
  ASSERT_TRUE(ratio.ok());
  EXPECT_EQ(ratio->separator, ":");
  EXPECT_TRUE(ParseStructuredNumeric("^1^/^128", d).ok());
  EXPECT_TRUE(ParseStructuredNumeric(">=^10", d).ok());
  for (const char* bad :
       {"", "~^5", "<^abc", "^1^x^3", "^1^-", "<", "^^-^3x", "^1^-^3^9"}) {
    EXPECT_FALSE(ParseStructuredNumeric(bad, d).ok()) << bad;
  }
}

}  // namespace
}  // namespace appliance::hl7
