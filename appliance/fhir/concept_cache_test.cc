#include "appliance/fhir/concept_cache.h"

#include <string>

#include "appliance/fhir/terminology.h"
#include "gtest/gtest.h"

namespace appliance::fhir::internal {
namespace {

RenderedConcept Rendered(const std::string& json, bool unmapped = false,
                         const std::string& finding = "") {
  RenderedConcept r;
  r.json = json;
  r.empty = false;
  r.unmapped = unmapped;
  r.finding = finding;
  return r;
}

TEST(ConceptCacheTest, MissThenHit) {
  const Terminology t;
  ConceptCache cache(&t);
  RenderedConcept out;
  EXPECT_FALSE(cache.Lookup("2345-7^Glucose^LN", &out));
  cache.Insert("2345-7^Glucose^LN",
               Rendered(R"({"coding":[{"code":"2345-7"}]})"));
  ASSERT_TRUE(cache.Lookup("2345-7^Glucose^LN", &out));
  EXPECT_EQ(out.json, R"({"coding":[{"code":"2345-7"}]})");
  EXPECT_FALSE(out.empty);
  EXPECT_FALSE(out.unmapped);
  EXPECT_TRUE(out.finding.empty());
  // Another key is another entry.
  EXPECT_FALSE(cache.Lookup("2345-7^Glucose^L", &out));
  const ConceptCache::Stats s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.entries, 1u);
}

// A hit overwrites every member of the caller's scratch: a scratch reused
// across elements never keeps a finding or a flag of an earlier one.
TEST(ConceptCacheTest, HitReplacesEveryMember) {
  const Terminology t;
  ConceptCache cache(&t);
  cache.Insert("GLU^Glucose^L",
               Rendered("{}", /*unmapped=*/true, "local code L GLU ..."));
  cache.Insert("1-1^A^LN", Rendered(R"({"text":"A"})"));
  RenderedConcept out;
  ASSERT_TRUE(cache.Lookup("GLU^Glucose^L", &out));
  EXPECT_TRUE(out.unmapped);
  EXPECT_EQ(out.finding, "local code L GLU ...");
  ASSERT_TRUE(cache.Lookup("1-1^A^LN", &out));
  EXPECT_FALSE(out.unmapped);
  EXPECT_TRUE(out.finding.empty());
  EXPECT_EQ(out.json, R"({"text":"A"})");

  RenderedConcept empty;  // As the mapper's for an empty element.
  empty.json = R"({"text":"unknown"})";
  cache.Insert("\"\"", empty);
  ASSERT_TRUE(cache.Lookup("\"\"", &out));
  EXPECT_TRUE(out.empty);
}

TEST(ConceptCacheTest, EntryLimitEmptiesTheCache) {
  const Terminology t;
  ConceptCache cache(&t, /*max_entries=*/3);
  for (const char* key : {"a", "b", "c"}) cache.Insert(key, Rendered(key));
  RenderedConcept out;
  EXPECT_TRUE(cache.Lookup("a", &out));
  EXPECT_EQ(cache.stats().entries, 3u);
  cache.Insert("d", Rendered("d"));  // Past the limit: starts over.
  EXPECT_EQ(cache.stats().entries, 1u);
  EXPECT_EQ(cache.stats().flushes, 1u);
  EXPECT_FALSE(cache.Lookup("a", &out));
  ASSERT_TRUE(cache.Lookup("d", &out));
  EXPECT_EQ(out.json, "d");
  // Inserting a key that is there changes nothing.
  cache.Insert("d", Rendered("other"));
  ASSERT_TRUE(cache.Lookup("d", &out));
  EXPECT_EQ(out.json, "d");
  EXPECT_EQ(cache.stats().entries, 1u);
}

TEST(ConceptCacheTest, ByteLimitEmptiesTheCacheAndSkipsHugeEntries) {
  const Terminology t;
  ConceptCache cache(&t, /*max_entries=*/100, /*max_bytes=*/100);
  cache.Insert("k1", Rendered(std::string(40, 'x')));  // 42 bytes.
  cache.Insert("k2", Rendered(std::string(40, 'y')));  // 84.
  EXPECT_EQ(cache.stats().entries, 2u);
  EXPECT_EQ(cache.stats().bytes, 84u);
  cache.Insert("k3", Rendered(std::string(40, 'z')));  // 126: starts over.
  EXPECT_EQ(cache.stats().entries, 1u);
  EXPECT_EQ(cache.stats().bytes, 42u);
  RenderedConcept out;
  EXPECT_FALSE(cache.Lookup("k1", &out));
  EXPECT_TRUE(cache.Lookup("k3", &out));
  // Larger than the whole cache: not kept, and nothing else is dropped.
  cache.Insert("huge", Rendered(std::string(200, 'h')));
  EXPECT_FALSE(cache.Lookup("huge", &out));
  EXPECT_TRUE(cache.Lookup("k3", &out));
  // Keys past kMaxKeySize are not kept either.
  const std::string long_key(ConceptCache::kMaxKeySize + 1, 'k');
  cache.Insert(long_key, Rendered("x"));
  EXPECT_FALSE(cache.Lookup(long_key, &out));
}

// The entries depend on the terminology (mappings, system URIs): any change
// to it empties the cache.
TEST(ConceptCacheTest, TerminologyChangeEmptiesTheCache) {
  Terminology t;
  ConceptCache cache(&t);
  RenderedConcept out;
  cache.Insert("GLU^Glucose^99LAB", Rendered("local", /*unmapped=*/true));
  ASSERT_TRUE(cache.Lookup("GLU^Glucose^99LAB", &out));
  t.AddCode("99LAB", "GLU", "", Coding{kLoincUri, "2345-7", "Glucose"});
  EXPECT_FALSE(cache.Lookup("GLU^Glucose^99LAB", &out));
  EXPECT_EQ(cache.stats().flushes, 1u);
  cache.Insert("GLU^Glucose^99LAB", Rendered("mapped"));
  ASSERT_TRUE(cache.Lookup("GLU^Glucose^99LAB", &out));
  EXPECT_EQ(out.json, "mapped");
  // Every kind of change counts, not only new codes.
  for (int change = 0; change < 6; ++change) {
    cache.Insert("k", Rendered("v"));
    ASSERT_TRUE(cache.Lookup("k", &out));
    switch (change) {
      case 0:
        ASSERT_TRUE(
            t.LoadCsv("system,99LAB,,,http://lab.example.org,,\n").ok());
        break;
      case 1:
        t.AddUnit("mmol/l", Coding{kUcumUri, "mmol/L", ""});
        break;
      case 2:
        t.AddAuthority("GENHOSP", "urn:oid:2.999.1.1");
        break;
      case 3:
        t.set_version(7);
        break;
      case 4:
        t.set_local_system_base("urn:x:");
        break;
      case 5:
        t.set_local_identifier_base("urn:y:");
        break;
    }
    EXPECT_FALSE(cache.Lookup("k", &out)) << "change " << change;
  }
}

}  // namespace
}  // namespace appliance::fhir::internal
