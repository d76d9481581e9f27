#include "appliance/fhir/mapper.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/fhir/datetime.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace appliance::fhir {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Join(const std::vector<std::string>& segments) {
  std::string out;
  for (const std::string& s : segments) out += s + "\r";
  return out;
}

class MapperTest : public ::testing::Test {
 protected:
  MapperTest() : terminology_(std::make_shared<Terminology>()) {
    options_.site_time_zone = *LoadSiteTimeZone("Europe/Zurich");
  }

  // Maps `text` (compact JSON) and returns the status.
  absl::Status Map(const std::string& text) {
    text_ = text;
    auto m = hl7::Message::Parse(text_);
    EXPECT_TRUE(m.ok()) << m.status();
    if (!m.ok()) return m.status();
    message_ = std::move(*m);
    const Mapper mapper(options_, terminology_);
    return mapper.Map(message_, &result_);
  }

  bool HasFinding(const std::string& code) const {
    for (const MappingFinding& f : result_.findings) {
      if (f.code == code) return true;
    }
    return false;
  }

  std::vector<std::string> Ids() const {
    std::vector<std::string> ids;
    for (const MappedEntry& e : result_.entries) {
      ids.push_back(e.resource_type + "/" + e.id);
    }
    return ids;
  }

  MapperOptions options_;
  std::shared_ptr<Terminology> terminology_;
  std::string text_;
  hl7::Message message_;
  MapResult result_;
};

const char kMsh[] =
    "MSH|^~\\&|LIS|LAB|EHR|HOSP|20260301101500||ORU^R01^ORU_R01|C1|P|2.5.1";
const char kPid[] = "PID|1||MRN7^^^HOSP^MR||DOE^JANE||19800101|F";

// A segment with `values` at their field numbers.
std::string Seg(const std::string& name,
                const std::vector<std::pair<int, std::string>>& values) {
  int last = 0;
  for (const auto& v : values) last = std::max(last, v.first);
  std::vector<std::string> fields(last + 1);
  fields[0] = name;
  for (const auto& v : values) fields[v.first] = v.second;
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += "|";
    out += fields[i];
  }
  return out;
}

std::string Oru(const std::vector<std::string>& obx,
                const std::string& obr_status = "F") {
  std::vector<std::string> segs = {kMsh, kPid,
                                   Seg("OBR", {{1, "1"},
                                               {2, "PL1^HIS"},
                                               {3, "FI1^LIS"},
                                               {4, "1234-5^Panel^LN"},
                                               {7, "202603011000"},
                                               {25, obr_status}})};
  segs.insert(segs.end(), obx.begin(), obx.end());
  return Join(segs);
}

TEST_F(MapperTest, NumericValuesUnitsAndRanges) {
  ASSERT_TRUE(Map(Oru({
                      "OBX|1|NM|2345-7^Glucose^LN||065.88|mmol/L|3.9-6.1|H|||F",
                      "OBX|2|NM|1-1^Neg^LN||-0.5|mmol/L|-1.5--0.5||||F",
                      "OBX|3|NM|1-2^Gt^LN||7|furlong|>5||||F",
                      "OBX|4|NM|1-3^Text^LN||7|mmol/L|negative||||F",
                      "OBX|5|NM|1-4^Ucum^LN||7|mm[Hg]^mmHg^UCUM|||||F",
                  }))
                  .ok());
  const std::string& b = result_.bundle;
  EXPECT_THAT(b, HasSubstr(R"("valueQuantity":{"value":65.88,"unit":"mmol/L",)"
                           R"("system":"http://unitsofmeasure.org",)"
                           R"("code":"mmol/L"})"));
  EXPECT_THAT(b, HasSubstr(R"("referenceRange":[{"low":{"value":3.9,)"));
  EXPECT_THAT(b, HasSubstr(R"("referenceRange":[{"low":{"value":-1.5,)"));
  EXPECT_THAT(b, HasSubstr(R"("high":{"value":-0.5,)"));
  // Unmapped unit: text kept, no UCUM code, finding + tag.
  EXPECT_THAT(b, HasSubstr(R"("valueQuantity":{"value":7,"unit":"furlong"})"));
  EXPECT_THAT(b,
              HasSubstr(R"({"low":{"value":5,"unit":"furlong"},"text":">5"})"));
  EXPECT_TRUE(HasFinding("unmapped-unit"));
  EXPECT_THAT(b, HasSubstr(R"("referenceRange":[{"text":"negative"}])"));
  EXPECT_THAT(
      b,
      HasSubstr(
          R"("unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]")"));
  EXPECT_THAT(b, HasSubstr(R"("code":"H","display":"High")"));
  EXPECT_FALSE(result_.hold);
}

TEST_F(MapperTest, StructuredNumericForms) {
  ASSERT_TRUE(Map(Oru({
                      "OBX|1|SN|1-1^A^LN||<^0.5|mg/L|||||F",
                      "OBX|2|SN|1-2^B^LN||^1^-^3|mg/L|||||F",
                      "OBX|3|SN|1-3^C^LN||^1^:^128||||||F",
                      "OBX|4|SN|1-4^D^LN||^1^/^128||||||F",
                      "OBX|5|SN|1-5^E^LN||=^4|mg/L|||||F",
                      "OBX|6|SN|1-6^F^LN||^2^+||||||F",
                      "OBX|7|NR|1-7^G^LN||2^4|mg/L|||||F",
                  }))
                  .ok());
  const std::string& b = result_.bundle;
  EXPECT_THAT(b,
              HasSubstr(R"("valueQuantity":{"value":0.5,"comparator":"<",)"));
  EXPECT_THAT(b, HasSubstr(R"("valueRange":{"low":{"value":1,"unit":"mg/L")"));
  EXPECT_THAT(b, HasSubstr(R"("high":{"value":3,"unit":"mg/L")"));
  EXPECT_THAT(b, HasSubstr(R"("valueRatio":{"numerator":{"value":1},)"
                           R"("denominator":{"value":128}})"));
  EXPECT_THAT(b, HasSubstr(R"("valueQuantity":{"value":4,"unit":"mg/L")"));
  EXPECT_THAT(b, HasSubstr(R"("valueString":"2+")"));
  EXPECT_THAT(b, HasSubstr(R"("valueRange":{"low":{"value":2,"unit":"mg/L")"));
  EXPECT_TRUE(result_.findings.empty());
}

TEST_F(MapperTest, TextCodedDateAndTimeValues) {
  ASSERT_TRUE(Map(Oru({
                      "OBX|1|ST|1-1^A^LN||a \\T\\ b|||||F",
                      "OBX|2|TX|1-2^B^LN||line 1~line 2|||||F",
                      "OBX|3|FT|1-3^C^LN||x\\.br\\y|||||F",
                      "OBX|4|CWE|1-4^D^LN||260373001^Detected^SCT|||||F",
                      "OBX|5|DT|1-5^E^LN||202602|||||F",
                      "OBX|6|TS|1-6^F^LN||202607011230|||||F",
                      "OBX|7|TM|1-7^G^LN||0830|||||F",
                      "OBX|8|ED|1-8^H^LN||^TEXT^^^data|||||F",
                  }))
                  .ok());
  const std::string& b = result_.bundle;
  EXPECT_THAT(b, HasSubstr(R"("valueString":"a & b")"));
  EXPECT_THAT(b, HasSubstr(R"("valueString":"line 1\nline 2")"));
  EXPECT_THAT(b, HasSubstr(R"("valueString":"x\ny")"));
  EXPECT_THAT(b, HasSubstr(R"("valueCodeableConcept":{"coding":[{"system":)"
                           R"("http://snomed.info/sct","code":"260373001",)"
                           R"("display":"Detected"}],"text":"Detected"})"));
  EXPECT_THAT(b, HasSubstr(R"("valueDateTime":"2026-02")"));
  EXPECT_THAT(b, HasSubstr(R"("valueDateTime":"2026-07-01T12:30:00+02:00")"));
  EXPECT_THAT(b, HasSubstr(R"("valueTime":"08:30:00")"));
  EXPECT_TRUE(HasFinding("unsupported-value-type"));
}

TEST_F(MapperTest, RepeatedValuesBecomeComponents) {
  ASSERT_TRUE(Map(Oru({"OBX|1|NM|8480-6^BP^LN||120~80|mm[Hg]|||||F"})).ok());
  EXPECT_THAT(
      result_.bundle,
      HasSubstr(R"("component":[{"code":{"coding":[{"system":)"
                R"("http://loinc.org","code":"8480-6","display":"BP"}],)"
                R"("text":"BP"},"valueQuantity":{"value":120,)"));
  EXPECT_THAT(result_.bundle, Not(HasSubstr(R"("dataAbsentReason")")));
}

TEST_F(MapperTest, StatusesAndDataAbsentReasons) {
  ASSERT_TRUE(Map(Oru(
                      {
                          "OBX|1|NM|1-1^A^LN|||mg/L|||||X",
                          "OBX|2|NM|1-2^B^LN|||mg/L|||||N",
                          "OBX|3|NM|1-3^C^LN||5|mg/L|||||D",
                          "OBX|4|NM|1-4^D^LN||5|mg/L|||||C",
                          "OBX|5|NM|1-5^E^LN||5|mg/L|||||A",
                          "OBX|6|NM|1-6^F^LN||5|mg/L|||||P",
                          "OBX|7|NM|1-7^G^LN||5|mg/L|||||",
                      },
                      "C"))
                  .ok());
  const std::string& b = result_.bundle;
  EXPECT_THAT(b, HasSubstr(R"("status":"cancelled")"));
  EXPECT_THAT(b, HasSubstr(R"("code":"not-performed")"));
  EXPECT_THAT(b, HasSubstr(R"("code":"not-asked")"));
  EXPECT_THAT(b, HasSubstr(R"("status":"entered-in-error")"));
  EXPECT_THAT(b, HasSubstr(R"("status":"corrected")"));
  EXPECT_THAT(b, HasSubstr(R"("status":"amended")"));
  EXPECT_THAT(b, HasSubstr(R"("status":"preliminary")"));
  EXPECT_THAT(b, HasSubstr(R"("status":"unknown")"));
  EXPECT_TRUE(HasFinding("unmapped-status"));
  EXPECT_FALSE(result_.hold);
}

TEST_F(MapperTest, ReportStatusDefaultIsConfigurable) {
  options_.default_report_status = "partial";
  ASSERT_TRUE(Map(Oru({"OBX|1|NM|1-1^A^LN||5|mg/L|||||F"}, "Q")).ok());
  EXPECT_THAT(result_.bundle,
              HasSubstr(R"("resourceType":"DiagnosticReport","id":)"));
  EXPECT_THAT(result_.bundle, HasSubstr(R"("status":"partial")"));
  EXPECT_TRUE(HasFinding("unmapped-status"));
}

TEST_F(MapperTest, UnreadableNumberIsAFindingNotACrash) {
  ASSERT_TRUE(Map(Oru({"OBX|1|NM|1-1^A^LN||1,5|mmol/L|||||F"})).ok());
  EXPECT_TRUE(HasFinding("invalid-value"));
  EXPECT_TRUE(result_.hold);
  EXPECT_THAT(result_.bundle,
              HasSubstr(R"("dataAbsentReason":{"coding":[{)"
                        R"("system":"http://terminology.hl7.org/)"
                        R"(CodeSystem/data-absent-reason",)"
                        R"("code":"error")"));
  EXPECT_THAT(result_.bundle, Not(HasSubstr("1,5")));
  // Findings never repeat values.
  for (const MappingFinding& f : result_.findings) {
    EXPECT_THAT(f.text, Not(HasSubstr("1,5")));
  }
}

TEST_F(MapperTest, UnmappedLocalCodeIsKeptAndFlagged) {
  ASSERT_TRUE(Map(Oru({"OBX|1|NM|GLU^Glucose^99LAB||5|mmol/L|||||F"})).ok());
  EXPECT_TRUE(HasFinding("unmapped-code"));
  EXPECT_FALSE(result_.hold);
  EXPECT_THAT(result_.bundle,
              HasSubstr(R"("meta":{"tag":[{"system":"urn:hl7-appliance:tag",)"
                        R"("code":"unmapped-code")"));
  EXPECT_THAT(result_.bundle,
              HasSubstr(R"({"system":"urn:hl7-appliance:codesystem:LAB/99LAB",)"
                        R"("code":"GLU","display":"Glucose"})"));
}

TEST_F(MapperTest, StrictPolicyHoldsUnmappedCodes) {
  options_.unmapped_policy = UnmappedPolicy::kHold;
  ASSERT_TRUE(Map(Oru({"OBX|1|NM|GLU^Glucose^99LAB||5|mmol/L|||||F"})).ok());
  EXPECT_TRUE(result_.hold);
  EXPECT_THAT(result_.hold_reason, HasSubstr("99LAB GLU"));
}

TEST_F(MapperTest, TerminologyMapsLocalCodes) {
  ASSERT_TRUE(terminology_
                  ->LoadCsv("code,99LAB,GLU,LAB,http://loinc.org,2345-7,"
                            "Glucose [Moles/volume] in Serum or Plasma\n")
                  .ok());
  options_.unmapped_policy = UnmappedPolicy::kHold;
  ASSERT_TRUE(Map(Oru({"OBX|1|NM|GLU^Glucose^99LAB||5|mmol/L|||||F"})).ok());
  EXPECT_FALSE(result_.hold);
  EXPECT_FALSE(HasFinding("unmapped-code"));
  EXPECT_THAT(result_.bundle,
              HasSubstr(R"("code":{"coding":[{"system":"http://loinc.org",)"
                        R"("code":"2345-7","display":"Glucose [Moles/volume] )"
                        R"(in Serum or Plasma"},{"system":)"
                        R"("urn:hl7-appliance:codesystem:LAB/99LAB")"));
  EXPECT_THAT(result_.bundle, Not(HasSubstr("unmapped-code")));
}

TEST_F(MapperTest, NotesAttachToTheirObservationOrOrder) {
  ASSERT_TRUE(Map(Join({kMsh, kPid,
                        "OBR|1||FI1^LIS|1234-5^Panel^LN||||||||||||||||||||F",
                        "NTE|1||order note", "OBX|1|NM|1-1^A^LN||5||||||F",
                        "NTE|1||obs note~second line"}))
                  .ok());
  EXPECT_THAT(result_.bundle,
              HasSubstr(R"("note":[{"text":"obs note\nsecond line"}])"));
  EXPECT_THAT(result_.bundle, HasSubstr(R"("note":[{"text":"order note"}])"));
}

TEST_F(MapperTest, OruPatientAndEncounterAreCreatedOnlyIfAbsent) {
  ASSERT_TRUE(Map(Join({kMsh, kPid, "PV1|1|O|||||||||||||||||V77^^^HOSP^VN",
                        "OBR|1||FI1^LIS|1234-5^Panel^LN||||||||||||||||||||F",
                        "OBX|1|NM|1-1^A^LN||5||||||F"}))
                  .ok());
  ASSERT_GE(result_.entries.size(), 2u);
  EXPECT_EQ(result_.entries[0].resource_type, "Patient");
  EXPECT_EQ(result_.entries[0].method, "POST");
  EXPECT_EQ(result_.entries[1].resource_type, "Encounter");
  EXPECT_EQ(result_.entries[1].method, "POST");
  EXPECT_THAT(
      result_.bundle,
      HasSubstr(
          R"("request":{"method":"POST","url":"Patient",)"
          R"("ifNoneExist":"identifier=urn:hl7-appliance:id:HOSP|MRN7"})"));
  EXPECT_THAT(
      result_.bundle,
      HasSubstr(R"("ifNoneExist":"identifier=urn:hl7-appliance:id:HOSP|V77")"));
  EXPECT_THAT(result_.bundle,
              HasSubstr(R"("class":{"system":)"
                        R"("http://terminology.hl7.org/)"
                        R"(CodeSystem/v3-ActCode","code":"AMB")"));
  for (size_t i = 2; i < result_.entries.size(); ++i) {
    EXPECT_EQ(result_.entries[i].method, "PUT");
  }
  // Every other resource points at the encounter.
  EXPECT_THAT(result_.bundle,
              HasSubstr(absl::StrCat(R"("encounter":{"reference":"urn:uuid:)",
                                     result_.entries[1].id)));
}

// Preliminary -> final -> corrected of one order (new control ids and times):
// the same resources, by id, with new statuses.
TEST_F(MapperTest, CorrectionsUpdateTheSameResources) {
  auto message = [](const char* control, const char* time, const char* status,
                    const char* value) {
    return Join(
        {std::string("MSH|^~\\&|LIS|LAB|EHR|HOSP|") + time +
             "||ORU^R01^ORU_R01|" + control + "|P|2.5.1",
         kPid,
         Seg("OBR", {{1, "1"},
                     {2, "PL1^HIS"},
                     {3, "FI1^LIS"},
                     {4, "1234-5^Panel^LN"},
                     {7, "202603011000"},
                     {22, time},
                     {25, status}}),
         std::string("OBX|1|NM|2345-7^Glucose^LN||") + value +
             "|mmol/L|3.9-6.1||||" + status,
         std::string("OBX|2|NM|2345-7^Glucose^LN||") + value +
             "|mmol/L|3.9-6.1||||" + status,
         std::string("OBX|3|NM|2823-3^K^LN||4.0|mmol/L|||||") + status});
  };
  ASSERT_TRUE(Map(message("P1", "20260301100500", "P", "5.0")).ok());
  const std::vector<std::string> preliminary = Ids();
  EXPECT_THAT(result_.bundle, HasSubstr(R"("status":"preliminary")"));
  ASSERT_TRUE(Map(message("F1", "20260301110000", "F", "5.1")).ok());
  const std::vector<std::string> final_ids = Ids();
  EXPECT_THAT(result_.bundle, HasSubstr(R"("status":"final")"));
  ASSERT_TRUE(Map(message("C1", "20260302090000", "C", "5.2")).ok());
  EXPECT_THAT(result_.bundle, HasSubstr(R"("status":"corrected")"));
  EXPECT_EQ(preliminary, final_ids);
  EXPECT_EQ(preliminary, Ids());
  // Patient, ServiceRequest, Specimen, DiagnosticReport, 3 Observations, all
  // distinct (two identical codes are told apart by position).
  ASSERT_EQ(preliminary.size(), 7u);
  std::vector<std::string> sorted = preliminary;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());
}

TEST_F(MapperTest, SiteTimeZoneAppliesToTimesWithoutOffset) {
  options_.site_time_zone = *LoadSiteTimeZone("America/New_York");
  ASSERT_TRUE(Map(Oru({"OBX|1|NM|1-1^A^LN||5||||||F|||202607011200"})).ok());
  EXPECT_THAT(result_.bundle,
              HasSubstr(R"("effectiveDateTime":"2026-07-01T12:00:00-04:00")"));
  EXPECT_THAT(result_.bundle,
              HasSubstr(R"("effectiveDateTime":"2026-03-01T10:00:00-05:00")"));
}

TEST_F(MapperTest, AdtA01WritesPatientAndEncounter) {
  ASSERT_TRUE(
      Map(Join({"MSH|^~\\&|ADT|HOSP|EHR|HOSP|20260301||ADT^A01|A1|P|2.5",
                "EVN|A01|20260301",
                "PID|1||MRN7^^^HOSP^MR||DOE^JANE^Q^JR^DR^^L~SMITH^JANE^^^^^M||"
                "198001|F|||1 MAIN ST^APT 2^TOWN^ST^12345^CH^H||^PRN^PH^^41^44^"
                "5550101~^NET^Internet^jane@example.invalid|^WPN^PH^^^^5550102",
                "PV1|1|I|WARD^1^A||||||||||||||||V9^^^HOSP^VN|||||||||||||||||"
                "||||||||202603010800"}))
          .ok());
  ASSERT_EQ(result_.entries.size(), 2u);
  EXPECT_EQ(result_.entries[0].method, "PUT");
  EXPECT_EQ(result_.entries[1].method, "PUT");
  const std::string& b = result_.bundle;
  EXPECT_THAT(
      b, HasSubstr(R"("name":[{"use":"official","family":"DOE",)"
                   R"("given":["JANE","Q"],"prefix":["DR"],)"
                   R"("suffix":["JR"]},{"use":"maiden","family":"SMITH")"));
  EXPECT_THAT(b, HasSubstr(R"({"system":"phone","value":"+41 44 5550101",)"
                           R"("use":"home"})"));
  EXPECT_THAT(b,
              HasSubstr(R"({"system":"email","value":"jane@example.invalid",)"
                        R"("use":"home"})"));
  EXPECT_THAT(
      b, HasSubstr(R"({"system":"phone","value":"5550102","use":"work"})"));
  EXPECT_THAT(b, HasSubstr(R"("gender":"female","birthDate":"1980-01")"));
  EXPECT_THAT(b, HasSubstr(R"("address":[{"use":"home","line":["1 MAIN ST",)"
                           R"("APT 2"],"city":"TOWN","state":"ST",)"
                           R"("postalCode":"12345","country":"CH"}])"));
  EXPECT_THAT(b, HasSubstr(R"("status":"in-progress","class":{)"));
  EXPECT_THAT(b, HasSubstr(R"("code":"IMP")"));
  EXPECT_THAT(b,
              HasSubstr(R"("period":{"start":"2026-03-01T08:00:00+01:00"})"));
  EXPECT_THAT(b,
              HasSubstr(R"("location":[{"location":{"display":"WARD 1 A"}}])"));
}

TEST_F(MapperTest, AdtA08RebuildsThePatientSoNullsRemove) {
  ASSERT_TRUE(
      Map(Join({"MSH|^~\\&|ADT|HOSP|EHR|HOSP|20260301||ADT^A01|A1|P|2.5",
                "PID|1||MRN7^^^HOSP^MR||DOE^JANE||19800101|F|||1 MAIN "
                "ST^^TOWN||^PRN^PH^^^^5550101"}))
          .ok());
  const std::string patient_id = result_.entries[0].id;
  EXPECT_THAT(result_.bundle, HasSubstr(R"("address")"));
  ASSERT_TRUE(
      Map(Join({"MSH|^~\\&|ADT|HOSP|EHR|HOSP|20260302||ADT^A08|A2|P|2.5",
                "PID|1||MRN7^^^HOSP^MR||DOE^JANE||19800101|\"\"|||\"\""
                "||\"\""}))
          .ok());
  EXPECT_EQ(result_.entries[0].id, patient_id);
  EXPECT_EQ(result_.entries[0].method, "PUT");
  EXPECT_THAT(result_.bundle, Not(HasSubstr(R"("address")")));
  EXPECT_THAT(result_.bundle, Not(HasSubstr(R"("telecom")")));
  EXPECT_THAT(result_.bundle, Not(HasSubstr(R"("gender")")));
  EXPECT_TRUE(result_.findings.empty());
}

TEST_F(MapperTest, GenderCodes) {
  for (const auto& [sex, gender] :
       std::vector<std::pair<std::string, std::string>>{{"M", "male"},
                                                        {"F", "female"},
                                                        {"O", "other"},
                                                        {"U", "unknown"},
                                                        {"A", "other"},
                                                        {"N", "other"}}) {
    ASSERT_TRUE(
        Map(Join({"MSH|^~\\&|ADT|HOSP|EHR|HOSP|20260301||ADT^A08|A|P|2.5",
                  "PID|1||MRN7^^^HOSP^MR||DOE^JANE||19800101|" + sex}))
            .ok());
    EXPECT_THAT(result_.bundle, HasSubstr("\"gender\":\"" + gender + "\""));
  }
}

TEST_F(MapperTest, OrmMapsToServiceRequest) {
  ASSERT_TRUE(
      Map(Join({"MSH|^~\\&|HIS|HOSP|LIS|LAB|20260301||ORM^O01|O1|P|2.4", kPid,
                Seg("ORC", {{1, "NW"},
                            {2, "PLC1^HIS"},
                            {7, "^^^^^S"},
                            {9, "20260301095900"}}),
                "OBR|1|PLC1^HIS||24323-8^CMP^LN|||20260301095900",
                "NTE|1||Fasting sample", "SPM|1|SPC1^LAB||SER^Serum^HL70487"}))
          .ok());
  ASSERT_EQ(result_.entries.size(), 3u);
  EXPECT_EQ(result_.entries[0].method, "POST");
  EXPECT_EQ(result_.entries[1].resource_type, "ServiceRequest");
  EXPECT_EQ(result_.entries[2].resource_type, "Specimen");
  const std::string& b = result_.bundle;
  EXPECT_THAT(b, HasSubstr(R"("status":"active","intent":"order",)"
                           R"("priority":"stat")"));
  EXPECT_THAT(b, HasSubstr(R"("authoredOn":"2026-03-01T09:59:00+01:00")"));
  EXPECT_THAT(b, HasSubstr(R"("note":[{"text":"Fasting sample"}])"));
  EXPECT_THAT(b, HasSubstr(R"("code":"PLAC"}]},"system":)"
                           R"("urn:hl7-appliance:id:HIS","value":"PLC1"})"));
}

TEST_F(MapperTest, OrderKeyPolicyPlacerFirstLinksOrdersToResults) {
  options_.order_key = OrderKeyPolicy::kPlacerFirst;
  ASSERT_TRUE(
      Map(Join({"MSH|^~\\&|HIS|HOSP|LIS|LAB|20260301||ORM^O01|O1|P|2.4", kPid,
                "ORC|NW|PL1^HIS", "OBR|1|PL1^HIS||1234-5^Panel^LN"}))
          .ok());
  const std::string order_sr = result_.entries[1].id;
  ASSERT_TRUE(Map(Oru({"OBX|1|NM|1-1^A^LN||5||||||F"})).ok());
  EXPECT_EQ(result_.entries[1].resource_type, "ServiceRequest");
  EXPECT_EQ(result_.entries[1].id, order_sr);
}

TEST_F(MapperTest, MessagesWithoutAMapping) {
  EXPECT_EQ(
      Map(Join({"MSH|^~\\&|X|Y|Z|W|20260301||MDM^T02|M1|P|2.5", kPid})).code(),
      absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(result_.bundle.empty());
  EXPECT_EQ(Map(Join({kMsh, "OBR|1||F1|1-1^A^LN"})).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Map(Join({kMsh, "PID|1||", "OBR|1||F1|1-1^A^LN"})).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(MapperTest, UnsupportedCharsetHolds) {
  ASSERT_TRUE(Map(Join({"MSH|^~\\&|LIS|LAB|EHR|HOSP|20260301||ORU^R01|C|P|"
                        "2.5.1|||||JP|ISO IR87",
                        kPid, "OBR|1||F1|1-1^A^LN||||||||||||||||||||F",
                        "OBX|1|NM|1-1^A^LN||5||||||F"}))
                  .ok());
  EXPECT_TRUE(result_.hold);
  EXPECT_TRUE(HasFinding("unsupported-charset"));
}

TEST_F(MapperTest, OutputIsByteStable) {
  const std::string msg = Oru({"OBX|1|NM|2345-7^Glucose^LN||5.1|mmol/L|||||F"});
  ASSERT_TRUE(Map(msg).ok());
  const std::string first = result_.bundle;
  ASSERT_TRUE(Map(msg).ok());
  EXPECT_EQ(result_.bundle, first);
}

// Map() reuses the storage of the MapResult it is given (the Bundle's bytes,
// the entries' strings): a MapResult that held a larger, a smaller or a
// failed message before gives the same result as a fresh one.
TEST_F(MapperTest, ReusedResultEqualsAFreshOne) {
  const std::string big = Oru({
      "OBX|1|NM|2345-7^Glucose^LN||5.1|mmol/L|3.9-6.1|H|||F",
      "OBX|2|NM|2823-3^Potassium^LN||4.2|mmol/L|3.5-5.1|N|||F",
      "OBX|3|ST|8251-1^Comment^LN||long text with \\T\\ escapes||||||F",
  });
  const std::string small = Oru({"OBX|1|NM|1-1^A^LN||1||||||F"});
  const std::string adt =
      Join({"MSH|^~\\&|ADT|HOSP|EHR|HOSP|20260301||ADT^A01|A1|P|2.5.1", kPid});
  const std::string unmapped =
      Join({"MSH|^~\\&|X|Y|Z|W|20260301||MDM^T02|M1|P|2.5", kPid});
  for (const bool pretty : {false, true}) {
    options_.pretty = pretty;
    for (const std::string* text :
         {&big, &small, &adt, &big, &unmapped, &small, &big}) {
      const absl::Status reused = Map(*text);
      MapResult fresh;
      const absl::Status status =
          Mapper(options_, terminology_).Map(message_, &fresh);
      EXPECT_EQ(reused.code(), status.code());
      EXPECT_EQ(result_.bundle, fresh.bundle) << "pretty=" << pretty;
      ASSERT_EQ(result_.entries.size(), fresh.entries.size());
      for (size_t k = 0; k < fresh.entries.size(); ++k) {
        EXPECT_EQ(result_.entries[k].resource_type,
                  fresh.entries[k].resource_type);
        EXPECT_EQ(result_.entries[k].id, fresh.entries[k].id);
        EXPECT_EQ(result_.entries[k].method, fresh.entries[k].method);
      }
    }
  }
}

}  // namespace
}  // namespace appliance::fhir
