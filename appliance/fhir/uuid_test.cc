#include "appliance/fhir/uuid.h"

#include <string>

#include "gtest/gtest.h"

namespace appliance::fhir {
namespace {

// Values from Python's uuid.uuid5, an independent implementation.
TEST(Uuid5Test, KnownAnswers) {
  EXPECT_EQ(FormatUuid(Uuid5(kNamespaceDns, "python.org")),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  EXPECT_EQ(FormatUuid(Uuid5(kNamespaceUrl, "http://example.org/\xC3\xA9")),
            "151bf84a-4039-531c-9247-4947a8d940b7");
  EXPECT_EQ(FormatUuid(kFhirIdNamespace),
            "72180bbb-2688-5f9f-8d5f-f052afffcf91");
  EXPECT_EQ(FormatUuid(Uuid5(kFhirIdNamespace, "Patient|GENHOSP|MRN1000001")),
            "92d167ab-829d-5bc0-a719-958b3b327eff");
}

TEST(Uuid5Test, PartsAreTheConcatenatedName) {
  EXPECT_EQ(Uuid5(kFhirIdNamespace, {"Patient", "|", "", "GENHOSP|MRN1000001"}),
            Uuid5(kFhirIdNamespace, "Patient|GENHOSP|MRN1000001"));
  // 55 + 16 bytes: the name ends across the first SHA-1 block boundary.
  const std::string long_name(55, 'x');
  EXPECT_EQ(Uuid5(kFhirIdNamespace, {std::string_view(long_name).substr(0, 40),
                                     std::string_view(long_name).substr(40)}),
            Uuid5(kFhirIdNamespace, long_name));
}

// Names up to 256 bytes are hashed from one buffer, longer ones part by
// part: both give Python's uuid.uuid5 answers.
TEST(Uuid5Test, ShortAndLongNamesInParts) {
  const std::string x200(200, 'x');
  const std::string x300(300, 'x');
  const std::string_view parts200[] = {"Observation", "|", x200};
  const std::string_view parts300[] = {"Observation", "|", x300};
  EXPECT_EQ(FormatUuid(Uuid5(kFhirIdNamespace, parts200, 3)),
            "74687948-e9eb-567d-8519-28806c9ab167");
  EXPECT_EQ(FormatUuid(Uuid5(kFhirIdNamespace, parts300, 3)),
            "6f1075c2-1668-504a-aad1-b5a78f2984c6");
}

TEST(Uuid5Test, VersionAndVariantBits) {
  const Uuid u = Uuid5(kFhirIdNamespace, "anything");
  EXPECT_EQ(u[6] >> 4, 5);
  EXPECT_EQ(u[8] & 0xc0, 0x80);
  EXPECT_NE(Uuid5(kFhirIdNamespace, "a"), Uuid5(kFhirIdNamespace, "b"));
  EXPECT_NE(Uuid5(kNamespaceDns, "a"), Uuid5(kNamespaceUrl, "a"));
}

TEST(UuidTest, ParseRoundTrip) {
  auto u = ParseUuid("6BA7B810-9dad-11d1-80b4-00c04fd430c8");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(*u, kNamespaceDns);
  EXPECT_EQ(FormatUuid(*u), "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
  EXPECT_FALSE(ParseUuid("6ba7b810-9dad-11d1-80b4-00c04fd430c").ok());
  EXPECT_FALSE(ParseUuid("6ba7b810x9dad-11d1-80b4-00c04fd430c8").ok());
  EXPECT_FALSE(ParseUuid("6ba7b810-9dad-11d1-80b4-00c04fd430cg").ok());
}

}  // namespace
}  // namespace appliance::fhir
