#include "appliance/terminology/store.h"

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "appliance/audit/chain.h"
#include "appliance/base/test_util.h"
#include "appliance/crypto/keys.h"
#include "gtest/gtest.h"

namespace appliance::terminology {
namespace {

namespace pb = ::hl7appliance::store::v1;

Row Code(const std::string& system, const std::string& code,
         const std::string& loinc, const std::string& display,
         const std::string& facility = "") {
  return Row{"code", system, code, facility, fhir::kLoincUri, loinc, display};
}

constexpr char kCsv[] =
    "kind,source_system,source_code,facility,target_system,target_code,"
    "target_display\n"
    "# lab codes\n"
    "code,L,GLU,,http://loinc.org,2345-7,Glucose\n"
    "code,99LAB,K,CHEMLAB,http://loinc.org,2823-3,\"Potassium, serum\"\n"
    "system,99LAB,,,http://lab.example.org/codes,,\n"
    "unit,,mmol/l,,http://unitsofmeasure.org,mmol/L,millimole per liter\n"
    "authority,GENHOSP,,,urn:oid:2.999.1.1,,\n";

class TerminologyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_util::NewTempDir("terminology");
    Open();
  }
  void TearDown() override { Close(); }

  void Open() {
    intake::MessageStoreOptions o;
    o.data_dir = dir_ + "/data";
    o.key_file = dir_ + "/hl7d.key";
    o.heartbeat_interval = std::chrono::milliseconds(0);
    auto s = intake::MessageStore::Open(o, &clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    auto t = TerminologyStore::Open(store_.get(), &clock_);
    ASSERT_TRUE(t.ok()) << t.status();
    terminology_ = std::move(*t);
  }
  void Close() {
    terminology_.reset();
    if (store_) store_->Stop();
    store_.reset();
  }

  void ExpectAuditVerifies() {
    auto key = crypto::KeyFile::Load(dir_ + "/hl7d.key");
    ASSERT_TRUE(key.ok()) << key.status();
    auto report = audit::Verify(store_->env(), key->audit_hmac_key());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->ok) << audit::FormatReport(*report);
  }

  std::vector<pb::AuditRecord> TerminologyAudits() {
    auto records = store_->ReadAudit(0, 100000);
    EXPECT_TRUE(records.ok());
    std::vector<pb::AuditRecord> out;
    for (const pb::AuditRecord& r : *records) {
      if (r.type() == pb::AUDIT_TERMINOLOGY_CHANGED) out.push_back(r);
    }
    return out;
  }

  FakeClock clock_;
  std::string dir_;
  std::unique_ptr<intake::MessageStore> store_;
  std::unique_ptr<TerminologyStore> terminology_;
};

TEST_F(TerminologyStoreTest, StartsAtVersionZeroWithBuiltInMaps) {
  EXPECT_EQ(terminology_->current_version(), 0);
  auto t = terminology_->Current();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->version(), 0);
  EXPECT_EQ(t->SystemUri("LN", ""), fhir::kLoincUri);
  EXPECT_TRUE(terminology_->ListVersions()->empty());
  EXPECT_TRUE(terminology_->Rows(0)->empty());
  EXPECT_TRUE(absl::IsNotFound(terminology_->Rows(1).status()));
  EXPECT_EQ(*terminology_->ExportCsv(0),
            "kind,source_system,source_code,facility,target_system,"
            "target_code,target_display\n");
}

TEST_F(TerminologyStoreTest, UpsertDeleteAndSnapshots) {
  std::vector<std::shared_ptr<const fhir::Terminology>> seen;
  terminology_->OnChange(
      [&](std::shared_ptr<const fhir::Terminology> t) { seen.push_back(t); });

  auto v1 = terminology_->Upsert({Code("L", "GLU", "2345-7", "Glucose")},
                                 "alice", "glucose");
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(*v1, 1);
  auto t1 = terminology_->Current();
  EXPECT_EQ(t1->version(), 1);
  ASSERT_NE(t1->LookupCode("L", "GLU", ""), nullptr);
  EXPECT_EQ((*t1->LookupCode("L", "GLU", ""))[0].code, "2345-7");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], t1);

  // Same key, other display: a change; a facility-specific row is another.
  auto v2 =
      terminology_->Upsert({Code("L", "GLU", "2345-7", "Glucose [Mass/volume]"),
                            Code("L", "GLU", "2339-0", "Glucose Bld", "ICU")},
                           "bob", "");
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(*v2, 2);
  EXPECT_EQ(terminology_->Rows(0)->size(), 2u);
  EXPECT_EQ(terminology_->Rows(1)->size(), 1u);  // Old versions stay.
  EXPECT_EQ((*terminology_->Current()->LookupCode("L", "GLU", "ICU"))[0].code,
            "2339-0");
  // The old snapshot is immutable.
  EXPECT_EQ((*t1->LookupCode("L", "GLU", "ICU"))[0].display, "Glucose");

  // Upserting what is there already makes no version.
  auto same = terminology_->Upsert(
      {Code("L", "GLU", "2345-7", "Glucose [Mass/volume]")}, "bob", "");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, 2);

  const std::string icu_key = Code("L", "GLU", "2339-0", "", "ICU").Key();
  auto v3 = terminology_->Delete({icu_key}, "carol", "not used");
  ASSERT_TRUE(v3.ok()) << v3.status();
  EXPECT_EQ(*v3, 3);
  EXPECT_EQ(terminology_->Rows(0)->size(), 1u);
  EXPECT_TRUE(
      absl::IsNotFound(terminology_->Delete({icu_key}, "carol", "").status()));
  EXPECT_EQ(terminology_->current_version(), 3);
  EXPECT_EQ(seen.size(), 3u);

  auto versions = terminology_->ListVersions();
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_EQ((*versions)[0].version, 3);  // Newest first.
  EXPECT_EQ((*versions)[0].actor, "carol");
  EXPECT_EQ((*versions)[0].comment, "not used");
  EXPECT_EQ((*versions)[0].rows, 1u);
  EXPECT_EQ((*versions)[2].version, 1);
  EXPECT_EQ((*versions)[2].created_at_us, clock_.NowMicros());

  auto diff = terminology_->Diff(1, 2);
  ASSERT_TRUE(diff.ok());
  ASSERT_EQ(diff->added.size(), 1u);
  EXPECT_EQ(diff->added[0].facility, "ICU");
  EXPECT_TRUE(diff->removed.empty());
  ASSERT_EQ(diff->changed.size(), 1u);
  EXPECT_EQ(diff->changed[0].first.target_display, "Glucose");
  EXPECT_EQ(diff->changed[0].second.target_display, "Glucose [Mass/volume]");
  diff = terminology_->Diff(2, 0);  // 0: current (v3).
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->removed.size(), 1u);
  EXPECT_TRUE(absl::IsNotFound(terminology_->Diff(1, 9).status()));

  const auto audits = TerminologyAudits();
  ASSERT_EQ(audits.size(), 3u);
  EXPECT_EQ(audits[1].actor(), "bob");
  EXPECT_EQ(audits[1].detail(),
            "terminology v2 (from v1): 1 added, 0 removed, 1 changed, 2 rows");
  EXPECT_EQ(audits[2].detail(),
            "terminology v3 (from v2): 0 added, 1 removed, 0 changed, 1 rows; "
            "not used");
  ExpectAuditVerifies();
}

TEST_F(TerminologyStoreTest, ImportReplaceMergeAndExportRoundTrip) {
  auto v1 = terminology_->ImportCsv(kCsv, /*replace=*/true, "config", "file");
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(*v1, 1);
  auto t = terminology_->Current();
  EXPECT_EQ((*t->LookupCode("99LAB", "K", "CHEMLAB"))[0].display,
            "Potassium, serum");
  EXPECT_EQ(t->SystemUri("99LAB", "X"), "http://lab.example.org/codes");
  EXPECT_EQ(t->LookupUnit("mmol/l")->code, "mmol/L");
  EXPECT_EQ(t->AuthorityUri("GENHOSP"), "urn:oid:2.999.1.1");

  // Same content (other order, comments): no new version.
  const std::string csv = *terminology_->ExportCsv(0);
  auto again = terminology_->ImportCsv(csv, true, "config", "file");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 1);

  // The export parses to the same rows, and loads into fhir::Terminology.
  auto parsed = ParseCsv(csv);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, *terminology_->Rows(0));
  fhir::Terminology loaded;
  EXPECT_TRUE(loaded.LoadCsv(csv).ok());
  EXPECT_EQ((*loaded.LookupCode("99LAB", "K", "CHEMLAB"))[0].display,
            "Potassium, serum");

  // Merge adds and replaces; replace drops what the file lacks.
  auto v2 = terminology_->ImportCsv(
      "code,L,GLU,,http://loinc.org,2345-7,Glucose SerPl\n"
      "code,L,NA,,http://loinc.org,2951-2,Sodium\n",
      /*replace=*/false, "alice", "merge");
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(terminology_->Rows(2)->size(), 6u);
  auto v3 =
      terminology_->ImportCsv("code,L,NA,,http://loinc.org,2951-2,Sodium\n",
                              /*replace=*/true, "alice", "replace");
  ASSERT_TRUE(v3.ok()) << v3.status();
  EXPECT_EQ(*v3, 3);
  EXPECT_EQ(terminology_->Rows(0)->size(), 1u);
  EXPECT_EQ(terminology_->Current()->LookupCode("L", "GLU", ""), nullptr);
  EXPECT_EQ(terminology_->Diff(2, 3)->removed.size(), 5u);
  // An export of an old version re-imports it.
  auto old = terminology_->ExportCsv(1);
  ASSERT_TRUE(old.ok());
  auto v4 = terminology_->ImportCsv(*old, true, "alice", "back to v1");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(*v4, 4);
  EXPECT_TRUE(terminology_->Diff(1, 4)->added.empty());
  EXPECT_TRUE(terminology_->Diff(1, 4)->removed.empty());
  EXPECT_TRUE(terminology_->Diff(1, 4)->changed.empty());
  ExpectAuditVerifies();
}

TEST_F(TerminologyStoreTest, PersistsAcrossReopen) {
  ASSERT_TRUE(terminology_->ImportCsv(kCsv, true, "config", "").ok());
  ASSERT_TRUE(
      terminology_->Upsert({Code("L", "NA", "2951-2", "Sodium")}, "alice", "")
          .ok());
  const std::string csv = *terminology_->ExportCsv(0);
  Close();
  Open();
  EXPECT_EQ(terminology_->current_version(), 2);
  EXPECT_EQ(terminology_->Current()->version(), 2);
  EXPECT_EQ(*terminology_->ExportCsv(0), csv);
  EXPECT_NE(terminology_->Current()->LookupCode("L", "NA", ""), nullptr);
  EXPECT_EQ(terminology_->ListVersions()->size(), 2u);
  auto v3 = terminology_->Upsert({Code("L", "CL", "2075-0", "Chloride")},
                                 "alice", "");
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(*v3, 3);
  ExpectAuditVerifies();
}

TEST_F(TerminologyStoreTest, BadInputIsRejectedWithClearErrors) {
  auto expect_error = [&](absl::StatusOr<int64_t> r, const std::string& text) {
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
    EXPECT_NE(std::string(r.status().message()).find(text), std::string::npos)
        << r.status();
  };
  expect_error(terminology_->Upsert(
                   {Row{"codes", "L", "X", "", "urn:x", "1", ""}}, "a", ""),
               "row 1: kind \"codes\" is not one of");
  expect_error(terminology_->Upsert(
                   {Code("L", "GLU", "2345-7", ""),
                    Row{"code", "L", "", "", "http://loinc.org", "1", ""}},
                   "a", ""),
               "row 2 (code): source_code is required");
  expect_error(
      terminology_->Upsert({Row{"code", "L", "GLU", "", "loinc", "2345-7", ""}},
                           "a", ""),
      "row 1 (code): target_system \"loinc\" is not a URI");
  expect_error(terminology_->Upsert(
                   {Row{"unit", "UCUM", "mg", "", "", "mg", ""}}, "a", ""),
               "row 1 (unit): source_system must be empty");
  expect_error(terminology_->Upsert(
                   {Row{"code", "L", "G\nLU", "", "http://loinc.org", "1", ""}},
                   "a", ""),
               "row 1: source_code contains a control character");
  expect_error(terminology_->Upsert({Code("L", "GLU", "2345-7", "a"),
                                     Code("L", "GLU", "2345-7", "b")},
                                    "a", ""),
               "row 2: same mapping as an earlier row");
  expect_error(terminology_->ImportCsv("code,L,GLU,,http://loinc.org,2345-7\n"
                                       "code,L,NA\n",
                                       true, "a", ""),
               "CSV line 2: expected 5 to 7 fields");
  expect_error(terminology_->ImportCsv("\n# c\nsystem,99X,,,not a uri,,\n",
                                       true, "a", ""),
               "CSV line 3 (system): target_system \"not a uri\" is not a URI");
  expect_error(terminology_->ImportCsv(
                   "code,L,GLU,,http://loinc.org,2345-7,\"x\n", true, "a", ""),
               "CSV line 1: unterminated quoted field");
  expect_error(terminology_->ImportCsv("code,L,GLU,,http://loinc.org,1,a\n"
                                       "code,L,GLU,,http://loinc.org,1,b\n",
                                       true, "a", ""),
               "CSV line 2: same mapping as CSV line 1");
  expect_error(terminology_->Upsert({Code("L", "GLU", "2345-7", "")}, "", ""),
               "actor is required");
  EXPECT_TRUE(absl::IsNotFound(
      terminology_->Delete({"code|L|X||http://loinc.org|1"}, "a", "")
          .status()));
  EXPECT_EQ(terminology_->current_version(), 0);
  EXPECT_TRUE(TerminologyAudits().empty());
}

TEST_F(TerminologyStoreTest, ReadersSeeConsistentSnapshotsDuringChanges) {
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      auto t = terminology_->Current();
      const auto* c = t->LookupCode("L", "GLU", "");
      // Version n maps GLU to exactly one code, "n".
      if (t->version() > 0) {
        ASSERT_NE(c, nullptr);
        ASSERT_EQ(c->size(), 1u);
        ASSERT_EQ((*c)[0].code, std::to_string(t->version()));
      }
    }
  });
  for (int v = 1; v <= 20; ++v) {
    auto r = terminology_->ImportCsv(
        absl::StrCat("code,L,GLU,,http://loinc.org,", v, ",\n"), true, "a", "");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, v);
  }
  done = true;
  reader.join();
  ExpectAuditVerifies();
}

}  // namespace
}  // namespace appliance::terminology
