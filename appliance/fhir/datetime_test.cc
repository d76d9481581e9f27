#include "appliance/fhir/datetime.h"

#include "gtest/gtest.h"

namespace appliance::fhir {
namespace {

absl::TimeZone Zone(const std::string& name) {
  auto tz = LoadSiteTimeZone(name);
  EXPECT_TRUE(tz.ok()) << tz.status();
  return tz.ok() ? *tz : absl::UTCTimeZone();
}

std::string Dt(std::string_view v, const std::string& zone = "Europe/Zurich") {
  auto r = ToFhirDateTime(v, Zone(zone));
  return r.ok() ? *r : "ERROR: " + std::string(r.status().message());
}

TEST(ToFhirDateTimeTest, KeepsPrecision) {
  EXPECT_EQ(Dt("2026"), "2026");
  EXPECT_EQ(Dt("202602"), "2026-02");
  EXPECT_EQ(Dt("20260214"), "2026-02-14");
  // Date precision never carries an offset, even when one was sent.
  EXPECT_EQ(Dt("20260214+0500"), "2026-02-14");
  EXPECT_EQ(Dt("2026021412"), "2026-02-14T12:00:00+01:00");
  EXPECT_EQ(Dt("202602141230"), "2026-02-14T12:30:00+01:00");
  EXPECT_EQ(Dt("20260214123045"), "2026-02-14T12:30:45+01:00");
  EXPECT_EQ(Dt("20260214123045.1234"), "2026-02-14T12:30:45.1234+01:00");
}

TEST(ToFhirDateTimeTest, KeepsSentOffsets) {
  EXPECT_EQ(Dt("20261102081530+0100"), "2026-11-02T08:15:30+01:00");
  EXPECT_EQ(Dt("20260701081530-0430"), "2026-07-01T08:15:30-04:30");
  EXPECT_EQ(Dt("20260701081530+0000"), "2026-07-01T08:15:30+00:00");
}

TEST(ToFhirDateTimeTest, SiteZoneGivesOffsetByDate) {
  EXPECT_EQ(Dt("202607011200"), "2026-07-01T12:00:00+02:00");  // Summer.
  EXPECT_EQ(Dt("202601011200"), "2026-01-01T12:00:00+01:00");  // Winter.
  EXPECT_EQ(Dt("202607011200", "America/New_York"),
            "2026-07-01T12:00:00-04:00");
  EXPECT_EQ(Dt("202607011200", "UTC"), "2026-07-01T12:00:00+00:00");
  EXPECT_EQ(Dt("202607011200", "Asia/Kolkata"), "2026-07-01T12:00:00+05:30");
}

TEST(ToFhirDateTimeTest, DaylightSavingEdges) {
  // 2026-03-29 02:30 does not exist in Zurich (02:00 -> 03:00): the offset
  // in force before the change.
  EXPECT_EQ(Dt("202603290230"), "2026-03-29T02:30:00+01:00");
  // 2026-10-25 02:30 happens twice: the earlier (summer time) instant.
  EXPECT_EQ(Dt("202610250230"), "2026-10-25T02:30:00+02:00");
}

TEST(ToFhirDateTimeTest, RejectsMalformed) {
  EXPECT_FALSE(ToFhirDateTime("20261301", absl::UTCTimeZone()).ok());
  EXPECT_FALSE(ToFhirDateTime("2026-01-01", absl::UTCTimeZone()).ok());
  EXPECT_FALSE(ToFhirDateTime("", absl::UTCTimeZone()).ok());
}

TEST(ToFhirInstantTest, PadsToSeconds) {
  const absl::TimeZone z = Zone("Europe/Zurich");
  EXPECT_EQ(*ToFhirInstant("20261102081500+0100", z),
            "2026-11-02T08:15:00+01:00");
  EXPECT_EQ(*ToFhirInstant("202611020815", z), "2026-11-02T08:15:00+01:00");
  EXPECT_EQ(*ToFhirInstant("20261102", z), "2026-11-02T00:00:00+01:00");
  EXPECT_FALSE(ToFhirInstant("202611", z).ok());
}

TEST(ToFhirDateTest, DropsTime) {
  EXPECT_EQ(*ToFhirDate("19451231"), "1945-12-31");
  EXPECT_EQ(*ToFhirDate("194512"), "1945-12");
  EXPECT_EQ(*ToFhirDate("1945"), "1945");
  EXPECT_EQ(*ToFhirDate("194512310830"), "1945-12-31");
  EXPECT_FALSE(ToFhirDate("19451232").ok());
}

TEST(ToFhirTimeTest, PadsAndDropsOffset) {
  EXPECT_EQ(*ToFhirTime("0830"), "08:30:00");
  EXPECT_EQ(*ToFhirTime("08"), "08:00:00");
  EXPECT_EQ(*ToFhirTime("083015.25+0100"), "08:30:15.25");
  EXPECT_FALSE(ToFhirTime("2530").ok());
}

TEST(LoadSiteTimeZoneTest, RequiresAKnownName) {
  EXPECT_FALSE(LoadSiteTimeZone("").ok());
  EXPECT_FALSE(LoadSiteTimeZone("Mars/Olympus_Mons").ok());
  EXPECT_TRUE(LoadSiteTimeZone("Europe/Zurich").ok());
}

}  // namespace
}  // namespace appliance::fhir
