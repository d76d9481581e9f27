#include "appliance/hl7/validator.h"

#include <string>
#include <utility>
#include <vector>

#include "appliance/hl7/structure.h"
#include "gtest/gtest.h"

namespace appliance::hl7 {
namespace {

std::string Msh(const std::string& type, const std::string& version = "2.5.1",
                const std::string& extra = "") {
  return "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20260101120000||" + type + "|C1|P|" +
         version + extra + "\r";
}

const char kPid[] = "PID|1||111^^^HOSP^MR||DOE^JANE||19700101|F\r";
const char kObr[] = "OBR|1||F1|24323-8^Panel^LN|||20260101110000\r";
const char kObx[] = "OBX|1|NM|2345-7^Glucose^LN||5.4|mmol/L|3.9-6.1|N|||F\r";

// A segment with the given fields at their HL7 positions.
std::string Seg(const std::string& name,
                std::vector<std::pair<int, std::string>> fields) {
  std::vector<std::string> v;
  for (auto& [pos, value] : fields) {
    if (v.size() < static_cast<size_t>(pos)) v.resize(pos);
    v[pos - 1] = value;
  }
  std::string out = name;
  for (const std::string& f : v) out += "|" + f;
  return out + "\r";
}

struct Parsed {
  std::string text;
  Message message;
  ValidationResult result;
};

std::unique_ptr<Parsed> Check(std::string text) {
  auto p = std::make_unique<Parsed>();
  p->text = std::move(text);
  absl::Status s = p->message.ParseInto(p->text);
  EXPECT_TRUE(s.ok()) << s;
  p->result = Validate(p->message);
  return p;
}

bool Has(const ValidationResult& r, ErrorCode code, const std::string& loc) {
  for (const Finding& f : r.findings) {
    if (f.code == code && f.location.ToString() == loc) return true;
  }
  return false;
}

std::string Dump(const ValidationResult& r) {
  std::string s;
  for (const Finding& f : r.findings) {
    s += std::to_string(static_cast<int>(f.code)) + " " +
         f.location.ToString() + " " + SeverityCode(f.severity) + " " + f.text +
         "\n";
  }
  return s;
}

int Errors(const ValidationResult& r) {
  int n = 0;
  for (const Finding& f : r.findings) n += f.severity == Severity::kError;
  return n;
}

TEST(ValidatorTest, ValidOruInEveryVersion) {
  for (const char* v : {"2.3", "2.3.1", "2.4", "2.5", "2.5.1"}) {
    auto p = Check(Msh("ORU^R01", v) + kPid + kObr + kObx + kObx);
    EXPECT_EQ(Errors(p->result), 0) << v << "\n" << Dump(p->result);
    EXPECT_EQ(p->result.type.structure, "ORU_R01");
  }
}

TEST(ValidatorTest, StructureDerivedWhenMsh93Absent) {
  auto p = Check(Msh("ORU^R01", "2.3") + kPid + kObr + kObx);
  EXPECT_TRUE(p->result.type.structure_derived);
  auto q = Check(Msh("ORU^R01^ORU_R01") + kPid + kObr + kObx);
  EXPECT_FALSE(q->result.type.structure_derived);
  auto a08 =
      Check(Msh("ADT^A08", "2.3") + "EVN|A08|20260101\r" + kPid + "PV1|1|I\r");
  EXPECT_EQ(a08->result.type.structure, "ADT_A01");
  EXPECT_EQ(Errors(a08->result), 0) << Dump(a08->result);
}

TEST(ValidatorTest, MismatchedDeclaredStructureIsAWarning) {
  auto p =
      Check(Msh("ADT^A08^ADT_A08") + "EVN|A08|20260101\r" + kPid + "PV1|1|I\r");
  EXPECT_EQ(Errors(p->result), 0) << Dump(p->result);
  EXPECT_TRUE(Has(p->result, ErrorCode::kApplicationError, "MSH-9.3"));
}

TEST(ValidatorTest, FullOruGroupsWithSpecimenNotesAndZSegments) {
  auto p = Check(Msh("ORU^R01^ORU_R01") + "SFT|Vendor|1.0\r" + kPid +
                 "NTE|1||patient note\rPV1|1|O\rZPV|custom\r"
                 "ORC|RE|P1|F1\r" +
                 kObr + "NTE|1||order note\r" + kObx + "NTE|1||obs note\r" +
                 kObx + "SPM|1|S1||SER^Serum^HL70487\r" +
                 "OBX|1|ST|X^Y^L||specimen obs||||||F\r" + kPid + kObr + kObx +
                 "ZZZ|trailer\r");
  EXPECT_EQ(Errors(p->result), 0) << Dump(p->result);
}

TEST(ValidatorTest, MissingRequiredSegmentsAndGroups) {
  auto no_obr = Check(Msh("ORU^R01") + kPid + kObx);
  EXPECT_TRUE(Has(no_obr->result, ErrorCode::kSegmentSequence, "OBX"))
      << Dump(no_obr->result);
  auto only_msh = Check(Msh("ORU^R01"));
  EXPECT_GT(Errors(only_msh->result), 0);
  auto adt_no_evn = Check(Msh("ADT^A01") + kPid + "PV1|1|I\r");
  EXPECT_TRUE(Has(adt_no_evn->result, ErrorCode::kSegmentSequence, "PID"))
      << Dump(adt_no_evn->result);
  auto adt_no_pv1 = Check(Msh("ADT^A01") + "EVN|A01|20260101\r" + kPid);
  EXPECT_TRUE(Has(adt_no_pv1->result, ErrorCode::kSegmentSequence, "PID"))
      << Dump(adt_no_pv1->result);
  auto orm_no_orc = Check(Msh("ORM^O01") + kPid + kObr);
  EXPECT_GT(Errors(orm_no_orc->result), 0) << Dump(orm_no_orc->result);
}

TEST(ValidatorTest, SegmentsOutOfOrder) {
  auto p = Check(Msh("ORU^R01") + kObr + kPid + kObx);
  // OBR before PID: the OBR makes a first result group, so the PID opens a
  // second one whose OBR is missing.
  EXPECT_TRUE(Has(p->result, ErrorCode::kSegmentSequence, "OBX"))
      << Dump(p->result);
  auto q =
      Check(Msh("ADT^A01") + "EVN|A01|20260101\r" + kPid + "PV1|1|I\r" + kObr);
  EXPECT_TRUE(Has(q->result, ErrorCode::kSegmentSequence, "OBR"))
      << Dump(q->result);
}

TEST(ValidatorTest, UnsupportedTypeEventVersion) {
  auto t = Check(Msh("MDM^T02") + kPid);
  EXPECT_TRUE(Has(t->result, ErrorCode::kUnsupportedMessageType, "MSH-9"));
  auto e = Check(Msh("ORU^R30") + kPid);
  EXPECT_TRUE(Has(e->result, ErrorCode::kUnsupportedEvent, "MSH-9.2"));
  auto v = Check(Msh("ORU^R01", "2.6") + kPid + kObr + kObx);
  EXPECT_TRUE(Has(v->result, ErrorCode::kUnsupportedVersion, "MSH-12"));
  auto v2 = Check(Msh("ORU^R01", "2.2") + kPid + kObr + kObx);
  EXPECT_TRUE(Has(v2->result, ErrorCode::kUnsupportedVersion, "MSH-12"));
}

TEST(ValidatorTest, RequiredFields) {
  auto p = Check(
      "MSH|^~\\&|LAB|HOSP|EHR|HOSP|2026||ORU^R01|||2.5\r"
      "PID|1||||\rOBR|1|||\rOBX|1|NM|||5\r");
  const ValidationResult& r = p->result;
  EXPECT_TRUE(Has(r, ErrorCode::kRequiredFieldMissing, "MSH-10")) << Dump(r);
  EXPECT_TRUE(Has(r, ErrorCode::kRequiredFieldMissing, "MSH-11"));
  EXPECT_TRUE(Has(r, ErrorCode::kRequiredFieldMissing, "PID-3"));
  EXPECT_TRUE(Has(r, ErrorCode::kRequiredFieldMissing, "PID-5"));
  EXPECT_TRUE(Has(r, ErrorCode::kRequiredFieldMissing, "OBR-3"));
  EXPECT_TRUE(Has(r, ErrorCode::kRequiredFieldMissing, "OBR-4"));
  EXPECT_TRUE(Has(r, ErrorCode::kRequiredFieldMissing, "OBX-3"));
  EXPECT_TRUE(Has(r, ErrorCode::kRequiredFieldMissing, "OBX-11"));
}

TEST(ValidatorTest, ObxValueTypes) {
  struct Case {
    const char* type;
    const char* value;
    bool ok;
  } cases[] = {
      {"NM", "065.88", true},
      {"NM", "1,5", false},
      {"NM", "-3", true},
      {"NM", "5~6", true},
      {"NM", "5~x", false},
      {"SN", "<^0.5", true},
      {"SN", "^1^-^3", true},
      {"SN", "^1^:^128", true},
      {"SN", "^1^/^128", true},
      {"SN", "about 5", false},
      {"DT", "20260101", true},
      {"DT", "2026-01-01", false},
      {"DTM", "202601011230+0100", true},
      {"TS", "20261301", false},
      {"TM", "1230", true},
      {"TM", "2530", false},
      {"CE", "123^Text^L", true},
      {"CWE", "^Only text", true},
      {"CWE", "^^L", false},
      {"ST", "anything 1,5 <", true},
      {"FT", "a\\.br\\b", true},
      {"NM", "\"\"", true},
  };
  for (const Case& c : cases) {
    auto p = Check(Msh("ORU^R01") + kPid + kObr + "OBX|1|" + c.type +
                   "|X^Y^L||" + c.value + "||||||F\r");
    EXPECT_EQ(Has(p->result, ErrorCode::kDataType, "OBX-5(1)") ||
                  Has(p->result, ErrorCode::kDataType, "OBX-5(2)"),
              !c.ok)
        << c.type << " " << c.value << "\n"
        << Dump(p->result);
  }
}

TEST(ValidatorTest, TableValues) {
  auto bad = Check(
      Msh("ORU^R01") + "PID|1||1^^^H||D^J||1970|Q\r" +
      Seg("OBR", {{1, "1"}, {3, "F1"}, {4, "X^Y^L"}, {25, "Q"}}) +
      Seg("OBX",
          {{1, "1"}, {2, "XX"}, {3, "X^Y^L"}, {5, "5"}, {8, "ZZ"}, {11, "Q"}}));
  const ValidationResult& r = bad->result;
  EXPECT_TRUE(Has(r, ErrorCode::kTableValue, "PID-8(1)")) << Dump(r);
  EXPECT_TRUE(Has(r, ErrorCode::kTableValue, "OBR-25(1)"));
  EXPECT_TRUE(Has(r, ErrorCode::kTableValue, "OBX-2"));
  EXPECT_TRUE(Has(r, ErrorCode::kTableValue, "OBX-8(1)"));
  EXPECT_TRUE(Has(r, ErrorCode::kTableValue, "OBX-11(1)"));

  auto good = Check(Msh("ORU^R01") + "PID|1||1^^^H||D^J||1970|U\r" +
                    Seg("OBR", {{1, "1"}, {3, "F1"}, {4, "X^Y^L"}, {25, "C"}}) +
                    Seg("OBX", {{1, "1"},
                                {2, "NM"},
                                {3, "X^Y^L"},
                                {5, "5"},
                                {8, "HH~A"},
                                {11, "C"}}));
  EXPECT_EQ(Errors(good->result), 0) << Dump(good->result);
}

TEST(ValidatorTest, KeyFieldDataTypes) {
  auto p = Check(Msh("ORU^R01") + "PID|1||^^^HOSP^MR||^^||19701301|F\r" +
                 "OBR|1||F1|^^L|||2026x\r" + kObx);
  const ValidationResult& r = p->result;
  EXPECT_TRUE(Has(r, ErrorCode::kDataType, "PID-3(1).1")) << Dump(r);
  EXPECT_TRUE(Has(r, ErrorCode::kDataType, "PID-5(1).1"));
  EXPECT_TRUE(Has(r, ErrorCode::kDataType, "PID-7(1).1"));
  EXPECT_TRUE(Has(r, ErrorCode::kDataType, "OBR-4(1).1"));
  EXPECT_TRUE(Has(r, ErrorCode::kDataType, "OBR-7(1).1"));
}

TEST(ValidatorTest, UnsupportedCharset) {
  auto p =
      Check(Msh("ORU^R01", "2.5.1", "||||||ISO IR87") + kPid + kObr + kObx);
  ASSERT_TRUE(Has(p->result, ErrorCode::kApplicationError, "MSH-18"))
      << Dump(p->result);
  bool names_it = false;
  for (const Finding& f : p->result.findings) {
    names_it |= f.text.find("ISO IR87") != std::string::npos;
  }
  EXPECT_TRUE(names_it);
  auto ok = Check(Msh("ORU^R01", "2.5.1", "||||||8859/1") + kPid + kObr + kObx);
  EXPECT_EQ(Errors(ok->result), 0) << Dump(ok->result);
}

TEST(ValidatorTest, FindingTextsCarryNoFieldValues) {
  auto p = Check(Msh("ORU^R01") +
                 "PID|1||SECRETID^^^H||SECRETNAME^^||SECRETDOB|SECRETSEX\r" +
                 kObr + "OBX|1|NM|X^Y^L||SECRETVALUE||||||F\r");
  ASSERT_FALSE(p->result.findings.empty());
  for (const Finding& f : p->result.findings) {
    EXPECT_EQ(f.text.find("SECRET"), std::string::npos) << f.text;
  }
}

TEST(ValidatorTest, OrmAndAdtStructures) {
  auto orm = Check(Msh("ORM^O01", "2.4") + kPid + "PV1|1|O\r" +
                   "ORC|NW|P1\rOBR|1|P1||X^Y^L\rNTE|1||n\r"
                   "ORC|NW|P2\rOBR|2|P2||X^Z^L\r");
  EXPECT_EQ(Errors(orm->result), 0) << Dump(orm->result);
  auto adt =
      Check(Msh("ADT^A01^ADT_A01", "2.5") + "EVN|A01|20260101\r" + kPid +
            "PD1|\rNK1|1|REL^A\rPV1|1|I\rPV2|\rOBX|1|NM|X^Y^L||70|kg|||||F\r"
            "AL1|1|DA|X\rDG1|1||I10\rPR1|1||P\rROL|1\rGT1|1\r"
            "IN1|1|PLAN\rIN2|\rIN3|1\r");
  EXPECT_EQ(Errors(adt->result), 0) << Dump(adt->result);
  auto orc = Check(Msh("ORM^O01") + "ORC|ZZ|P1\r");
  EXPECT_TRUE(Has(orc->result, ErrorCode::kTableValue, "ORC-1(1)"))
      << Dump(orc->result);
}

TEST(StructureTest, KnownStructures) {
  EXPECT_NE(FindStructure("ORU_R01"), nullptr);
  EXPECT_NE(FindStructure("ORM_O01"), nullptr);
  EXPECT_NE(FindStructure("ADT_A01"), nullptr);
  EXPECT_EQ(FindStructure("ADT_A08"), nullptr);
  EXPECT_TRUE(IsSupportedVersion("2.3.1"));
  EXPECT_FALSE(IsSupportedVersion("2.7"));
}

}  // namespace
}  // namespace appliance::hl7
