#include "appliance/pipeline/patient_merge.h"

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"

namespace appliance::pipeline {
namespace {

using fhir::FieldPresence;
using json = nlohmann::json;

constexpr char kStored[] =
    R"({"resourceType":"Patient","id":"p1","identifier":[{"value":"MRN1"}],)"
    R"("name":[{"family":"OLD"}],"gender":"female","birthDate":"1970-04-12",)"
    R"("address":[{"city":"TESTTOWN"}],"telecom":[{"value":"555"}],"deceasedBoolean":false})";

fhir::PatientFieldPresence AllEmpty() {
  fhir::PatientFieldPresence p;
  p.set = true;
  return p;
}

TEST(PatientMergeTest, EmptyKeepsNullRemovesValueReplaces) {
  fhir::PatientFieldPresence p = AllEmpty();
  p.name = FieldPresence::kValued;
  p.gender = FieldPresence::kNull;
  // birthDate, address, telecom, deceased: empty.
  const auto merged = json::parse(*MergePatient(
      kStored,
      R"({"resourceType":"Patient","id":"p1","identifier":[{"value":"MRN1"}],"name":[{"family":"NEW"}]})",
      p));
  EXPECT_EQ(merged["name"][0]["family"], "NEW");
  EXPECT_FALSE(merged.contains("gender"));
  EXPECT_EQ(merged["birthDate"], "1970-04-12");
  EXPECT_EQ(merged["address"][0]["city"], "TESTTOWN");
  EXPECT_EQ(merged["telecom"][0]["value"], "555");
  EXPECT_EQ(merged["deceasedBoolean"], false);
  EXPECT_EQ(merged["identifier"][0]["value"], "MRN1");
}

TEST(PatientMergeTest, DeceasedIsOneChoiceAndDroppedValuesKeepTheStoredOne) {
  fhir::PatientFieldPresence p = AllEmpty();
  p.deceased = FieldPresence::kValued;
  p.birth_date = FieldPresence::kValued;  // Sent but invalid: the mapper dropped it.
  const auto merged = json::parse(*MergePatient(
      kStored, R"({"resourceType":"Patient","deceasedDateTime":"2026-11-01"})", p));
  EXPECT_EQ(merged["deceasedDateTime"], "2026-11-01");
  EXPECT_FALSE(merged.contains("deceasedBoolean"));
  EXPECT_EQ(merged["birthDate"], "1970-04-12");
}

TEST(PatientMergeTest, BundleEntryIsFoundAndReplaced) {
  const std::string bundle =
      R"({"resourceType":"Bundle","type":"transaction","entry":[)"
      R"({"resource":{"resourceType":"Encounter","id":"e"},"request":{"method":"PUT","url":"Encounter/e"}},)"
      R"({"resource":{"resourceType":"Patient","id":"p1"},"request":{"method":"PUT","url":"Patient/p1"}}]})";
  EXPECT_EQ(*ExtractPutPatient(bundle), R"({"resourceType":"Patient","id":"p1"})");
  const auto replaced = json::parse(
      *ReplacePutPatient(bundle, R"({"resourceType":"Patient","id":"p1","gender":"male"})"));
  EXPECT_EQ(replaced["entry"][1]["resource"]["gender"], "male");
  EXPECT_EQ(replaced["entry"][0]["resource"]["resourceType"], "Encounter");
  EXPECT_EQ(ExtractPutPatient(R"({"resourceType":"Bundle","entry":[]})").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(MergePatient("[]", "{}", AllEmpty()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace appliance::pipeline
