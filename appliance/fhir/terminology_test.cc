#include "appliance/fhir/terminology.h"

#include "gtest/gtest.h"

namespace appliance::fhir {
namespace {

TEST(TerminologyTest, BuiltinSystems) {
  Terminology t;
  EXPECT_EQ(t.SystemUri("LN", "LAB"), "http://loinc.org");
  EXPECT_EQ(t.SystemUri("SCT", "LAB"), "http://snomed.info/sct");
  EXPECT_EQ(t.SystemUri("UCUM", "LAB"), "http://unitsofmeasure.org");
  EXPECT_EQ(t.SystemUri("HL70078", "LAB"),
            "http://terminology.hl7.org/CodeSystem/v2-0078");
  EXPECT_EQ(t.SystemUri("L", "CHEMLAB"),
            "urn:hl7-appliance:codesystem:CHEMLAB/L");
  EXPECT_EQ(t.SystemUri("99ZZZ", "CHEMLAB"),
            "urn:hl7-appliance:codesystem:CHEMLAB/99ZZZ");
  EXPECT_EQ(t.SystemUri("", "CHEMLAB"),
            "urn:hl7-appliance:codesystem:CHEMLAB/L");
  EXPECT_TRUE(t.IsStandardSystem("LN"));
  EXPECT_TRUE(t.IsStandardSystem("HL70487"));
  EXPECT_FALSE(t.IsStandardSystem("L"));
  EXPECT_FALSE(t.IsStandardSystem("99LAB"));
  EXPECT_FALSE(t.IsStandardSystem("HL7"));
}

TEST(TerminologyTest, BuiltinUnits) {
  Terminology t;
  ASSERT_NE(t.LookupUnit("mmol/L"), nullptr);
  EXPECT_EQ(t.LookupUnit("mmol/L")->code, "mmol/L");
  EXPECT_EQ(t.LookupUnit("MMOL/L")->code, "mmol/L");
  EXPECT_EQ(t.LookupUnit("10^9/L")->code, "10*9/L");
  EXPECT_EQ(t.LookupUnit("IU/L")->code, "[IU]/L");
  EXPECT_EQ(t.LookupUnit("furlongs"), nullptr);
}

TEST(TerminologyTest, LoadCsv) {
  Terminology t;
  ASSERT_TRUE(
      t.LoadCsv("kind,source_system,source_code,facility,"
                "target_system,target_code,target_display\n"
                "# local glucose\n"
                "code,L,GLU,,http://loinc.org,2345-7,\"Glucose, serum\"\n"
                "code,99LAB,K,CHEMLAB,http://loinc.org,2823-3,K\r\n"
                "code,99LAB,K,CHEMLAB,http://snomed.info/sct,88480006,"
                "Potassium\n"
                "code,99LAB,K,,http://loinc.org,6298-4,K blood\n"
                "\n"
                "system,99LAB,,,http://lab.example.org/codes,,\n"
                "unit,,mval/l,,,mmol/L,\n"
                "authority,GENHOSP,,,urn:oid:2.999.1.1,,\n")
          .ok());
  const std::vector<Coding>* glu = t.LookupCode("L", "GLU", "ANY");
  ASSERT_NE(glu, nullptr);
  ASSERT_EQ(glu->size(), 1u);
  EXPECT_EQ((*glu)[0], (Coding{kLoincUri, "2345-7", "Glucose, serum"}));
  // Facility-specific entries win; others fall back to the general one.
  const std::vector<Coding>* k = t.LookupCode("99LAB", "K", "CHEMLAB");
  ASSERT_NE(k, nullptr);
  ASSERT_EQ(k->size(), 2u);
  EXPECT_EQ((*k)[1].code, "88480006");
  EXPECT_EQ(t.LookupCode("99LAB", "K", "OTHERLAB")->at(0).code, "6298-4");
  EXPECT_EQ(t.LookupCode("99LAB", "NA", "CHEMLAB"), nullptr);
  EXPECT_EQ(t.SystemUri("99LAB", "CHEMLAB"), "http://lab.example.org/codes");
  EXPECT_TRUE(t.IsStandardSystem("99LAB"));
  EXPECT_EQ(t.LookupUnit("mval/l")->code, "mmol/L");
  EXPECT_EQ(t.LookupUnit("mval/l")->system, kUcumUri);
  EXPECT_EQ(t.AuthorityUri("GENHOSP"), "urn:oid:2.999.1.1");
  EXPECT_EQ(t.AuthorityUri("OTHER"), "urn:hl7-appliance:id:OTHER");
}

TEST(TerminologyTest, LoadCsvErrorsNameTheLine) {
  Terminology t;
  absl::Status s = t.LoadCsv(
      "code,L,GLU,,http://loinc.org,2345-7,x\n"
      "code,L,,,http://loinc.org,2345-7,x\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("line 2"), absl::string_view::npos) << s;
  EXPECT_FALSE(t.LoadCsv("frob,L,GLU,,x,y,z\n").ok());
  EXPECT_FALSE(t.LoadCsv("code,L\n").ok());
  EXPECT_FALSE(t.LoadCsv("code,L,\"GLU,,x,y,z\n").ok());
}

TEST(SplitCsvLineTest, Quotes) {
  std::vector<std::string> f;
  ASSERT_TRUE(SplitCsvLine(R"(a,"b,c","say ""hi""",,e)", &f).ok());
  EXPECT_EQ(f, (std::vector<std::string>{"a", "b,c", "say \"hi\"", "", "e"}));
  ASSERT_TRUE(SplitCsvLine("", &f).ok());
  EXPECT_EQ(f, (std::vector<std::string>{""}));
}

}  // namespace
}  // namespace appliance::fhir
