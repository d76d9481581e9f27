// The Mapper's concept cache (ConceptCache) seen from outside: a Mapper that
// has mapped many messages gives exactly what a fresh one gives (Bundle,
// findings with their own locations, hold), and follows a terminology that
// changes under it.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "appliance/fhir/datetime.h"
#include "appliance/fhir/mapper.h"
#include "appliance/hl7/message.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace appliance::fhir {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

bool HasFinding(const MapResult& r, const std::string& code,
                const std::string& location) {
  for (const MappingFinding& f : r.findings) {
    if (f.code == code && f.location.ToString() == location) return true;
  }
  return false;
}

std::string Oru(const std::string& control_id, const std::string& obr4,
                const std::vector<std::string>& obx,
                const std::string& spm = "") {
  std::string m =
      "MSH|^~\\&|LIS|LAB|EHR|HOSP|20260301101500||ORU^R01|" + control_id +
      "|P|2.5.1\r"
      "PID|1||MRN7^^^HOSP^MR||DOE^JANE||19800101|F\r"
      "OBR|1|PL1^HIS|" +
      control_id + "^LIS|" + obr4 + "|||202603011000||||||||||||||||||F\r";
  for (const std::string& s : obx) m += s + "\r";
  if (!spm.empty()) m += spm + "\r";
  return m;
}

void ExpectSameResult(const MapResult& cached, const MapResult& fresh) {
  EXPECT_EQ(cached.bundle, fresh.bundle);
  EXPECT_EQ(cached.hold, fresh.hold);
  EXPECT_EQ(cached.hold_reason, fresh.hold_reason);
  ASSERT_EQ(cached.findings.size(), fresh.findings.size());
  for (size_t k = 0; k < fresh.findings.size(); ++k) {
    const MappingFinding& a = cached.findings[k];
    const MappingFinding& b = fresh.findings[k];
    EXPECT_EQ(a.severity, b.severity);
    EXPECT_EQ(a.location.ToString(), b.location.ToString());
    EXPECT_EQ(a.code, b.code);
    EXPECT_EQ(a.text, b.text);
  }
}

class MapperCacheTest : public ::testing::Test {
 protected:
  MapperCacheTest() : terminology_(std::make_shared<Terminology>()) {
    options_.site_time_zone = *LoadSiteTimeZone("Europe/Zurich");
  }

  // Maps `text` with `mapper` (which may have cached concepts) and with a
  // fresh Mapper, and expects the same result.
  MapResult MapBoth(const Mapper& mapper, const std::string& text) {
    auto message = hl7::Message::Parse(text);
    EXPECT_TRUE(message.ok()) << message.status();
    MapResult cached;
    MapResult fresh;
    EXPECT_TRUE(mapper.Map(*message, &cached).ok());
    EXPECT_TRUE(Mapper(options_, terminology_).Map(*message, &fresh).ok());
    ExpectSameResult(cached, fresh);
    return cached;
  }

  MapperOptions options_;
  std::shared_ptr<Terminology> terminology_;
};

// The same codes at other places, in other messages: standard and local
// codes, OBX-3, OBR-4 and SPM-4, escaped and null values, in both policies.
// Findings of cached local codes name the location of each use.
TEST_F(MapperCacheTest, CachedConceptsGiveTheUncachedResult) {
  for (const UnmappedPolicy policy :
       {UnmappedPolicy::kKeepAndFlag, UnmappedPolicy::kHold}) {
    options_.unmapped_policy = policy;
    const Mapper mapper(options_, terminology_);
    const std::vector<std::string> messages = {
        Oru("C1", "24323-8^Panel^LN",
            {"OBX|1|NM|2345-7^Glucose^LN||5|mmol/L|3.9-6.1|N|||F",
             "OBX|2|NM|GLU^Glucose^99LAB||5|mmol/L|||||F"},
            "SPM|1|S1^F1||SER^Serum^HL70487"),
        Oru("C2", "LP^Local panel^L",
            {"OBX|1|NM|GLU^Glucose^99LAB||6|mmol/L|||||F",
             "OBX|2|NM|2345-7^Glucose^LN||6|mmol/L|3.9-6.1|H|||F",
             "OBX|3|NM|GLU\\T\\X^Glu\\S\\cose^L||1|||||F",
             "OBX|4|NM|\"\"||1|||||F", "OBX|5|NM|||1|||||F"},
            "SPM|1|S2^F2||SER^Serum^HL70487"),
        Oru("C3", "LP^Local panel^L",
            {"OBX|1|NM|GLU\\T\\X^Glu\\S\\cose^L||1|||||F",
             "OBX|2|NM|\"\"||1|||||F",
             "OBX|3|NM|2345-7^Glucose^LN^G^Glu^L||7|mmol/L|||||F",
             "OBX|4|NM|GLU^Glucose^99LAB||7|mmol/L|||||F"},
            "SPM|1|S3^F3||BLD^Blood^L"),
    };
    for (int round = 0; round < 3; ++round) {
      for (const std::string& text : messages) MapBoth(mapper, text);
    }
    // The local code of the first message made its finding again at its
    // place in the second, from the cache.
    const MapResult r = MapBoth(mapper, messages[1]);
    EXPECT_TRUE(HasFinding(r, "unmapped-code", "OBX-3"));
    EXPECT_TRUE(HasFinding(r, "unmapped-code", "OBR-4"));
    EXPECT_FALSE(HasFinding(r, "unmapped-code", "OBX[2]-3"));
  }
}

// A terminology changed after the Mapper was made (against its contract,
// but possible through a non-const pointer) is not answered from the cache.
TEST_F(MapperCacheTest, FollowsATerminologyChange) {
  const Mapper mapper(options_, terminology_);
  const std::string text =
      Oru("C1", "24323-8^Panel^LN", {"OBX|1|NM|GLU^Glucose^99LAB||5|||||F"});
  MapResult r = MapBoth(mapper, text);
  EXPECT_THAT(r.bundle, HasSubstr("unmapped-code"));
  EXPECT_TRUE(HasFinding(r, "unmapped-code", "OBX-3"));

  ASSERT_TRUE(terminology_
                  ->LoadCsv("code,99LAB,GLU,LAB,http://loinc.org,2345-7,"
                            "Glucose\n")
                  .ok());
  r = MapBoth(mapper, text);
  EXPECT_FALSE(HasFinding(r, "unmapped-code", "OBX-3"));
  EXPECT_THAT(r.bundle, Not(HasSubstr("unmapped-code")));
  EXPECT_THAT(r.bundle, HasSubstr(R"({"system":"http://loinc.org",)"
                                  R"("code":"2345-7","display":"Glucose"})"));
}

// Another sending facility scopes local codes differently: the same bytes
// from another facility are another entry.
TEST_F(MapperCacheTest, FacilityIsPartOfTheKey) {
  const Mapper mapper(options_, terminology_);
  std::string lab =
      Oru("C1", "24323-8^Panel^LN", {"OBX|1|NM|GLU^Glucose^99LAB||5|||||F"});
  std::string other = lab;
  other.replace(other.find("|LIS|LAB|"), 9, "|LIS|LAB2|");
  const MapResult a = MapBoth(mapper, lab);
  const MapResult b = MapBoth(mapper, other);
  EXPECT_THAT(a.bundle, HasSubstr("urn:hl7-appliance:codesystem:LAB/99LAB"));
  EXPECT_THAT(b.bundle, HasSubstr("urn:hl7-appliance:codesystem:LAB2/99LAB"));
}

// One Mapper serves several threads (the cache is shared and locked): each
// gets what a fresh Mapper gives. (Also run under --config=tsan.)
TEST_F(MapperCacheTest, SharedByThreads) {
  const Mapper mapper(options_, terminology_);
  std::vector<std::string> texts;
  std::vector<MapResult> expected;
  for (int k = 0; k < 8; ++k) {
    const std::string id = "C" + std::to_string(k);
    texts.push_back(Oru(id, k % 2 ? "LP^Local panel^L" : "24323-8^Panel^LN",
                        {"OBX|1|NM|GLU" + std::to_string(k % 3) +
                             "^Glucose^99LAB||5|mmol/L|||||F",
                         "OBX|2|NM|2345-7^Glucose^LN||5|mmol/L|||||F"}));
    auto message = hl7::Message::Parse(texts.back());
    ASSERT_TRUE(message.ok());
    expected.emplace_back();
    ASSERT_TRUE(
        Mapper(options_, terminology_).Map(*message, &expected.back()).ok());
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      MapResult r;
      for (int round = 0; round < 50; ++round) {
        const size_t k = static_cast<size_t>(round + t) % texts.size();
        auto message = hl7::Message::Parse(texts[k]);
        ASSERT_TRUE(message.ok());
        ASSERT_TRUE(mapper.Map(*message, &r).ok());
        ExpectSameResult(r, expected[k]);
      }
    });
  }
  for (std::thread& t : threads) t.join();
}

}  // namespace
}  // namespace appliance::fhir
