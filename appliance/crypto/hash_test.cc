#include "appliance/crypto/hash.h"

#include <string>

#include "gtest/gtest.h"

namespace appliance::crypto {
namespace {

std::string Unhex(std::string_view hex) {
  absl::StatusOr<std::string> b = FromHex(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : std::string();
}

// FIPS 180-2 / NIST CSRC example vectors.
TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(ToHex(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ToHex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(
      ToHex(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(ToHex(Sha256(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, StreamingMatchesOneShotAtEverySplit) {
  const std::string msg =
      "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20260101120000||ORU^R01|MSG0001|P|2.5.1\r"
      "PID|1||12345^^^HOSP^MR||DOE^JANE\r";
  const Sha256Digest expected = Sha256(msg);
  for (size_t split = 0; split <= msg.size(); ++split) {
    Sha256Hasher h;
    h.Update(std::string_view(msg).substr(0, split));
    h.Update(std::string_view(msg).substr(split));
    ASSERT_EQ(h.Finish(), expected) << split;
  }
}

TEST(Sha256Test, ResetStartsOver) {
  Sha256Hasher h;
  h.Update("garbage");
  h.Reset();
  h.Update("abc");
  EXPECT_EQ(h.Finish(), Sha256("abc"));
  h.Reset();
  EXPECT_EQ(h.Finish(), Sha256(""));
}

// FIPS 180-2 / RFC 3174 example vectors.
TEST(Sha1Test, KnownAnswers) {
  EXPECT_EQ(ToHex(Sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(ToHex(Sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(
      ToHex(Sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
      "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(ToHex(Sha1(std::string(1000000, 'a'))),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

// RFC 4231 test cases 1, 2, 4, 6 and 7.
TEST(HmacSha256Test, Rfc4231Vectors) {
  EXPECT_EQ(ToHex(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(ToHex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(ToHex(HmacSha256(
                Unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                std::string(50, '\xcd'))),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  EXPECT_EQ(ToHex(HmacSha256(std::string(131, '\xaa'),
                             "Test Using Larger Than Block-Size Key - Hash Key "
                             "First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(
      ToHex(HmacSha256(
          std::string(131, '\xaa'),
          "This is a test using a larger than block-size key and a larger than "
          "block-size data. The key needs to be hashed before being used by "
          "the "
          "HMAC algorithm.")),
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(HmacSha256Test, KeyAndDataBothMatter) {
  EXPECT_NE(HmacSha256("k1", "data"), HmacSha256("k2", "data"));
  EXPECT_NE(HmacSha256("k1", "data"), HmacSha256("k1", "datA"));
  EXPECT_NE(HmacSha256("", "data"), Sha256("data"));
}

TEST(ConstantTimeEqualsTest, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(
      ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(HexTest, RoundTripAndErrors) {
  const std::string all = [] {
    std::string s;
    for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
    return s;
  }();
  EXPECT_EQ(*FromHex(ToHex(all)), all);
  EXPECT_EQ(*FromHex("DEADbeef"), "\xde\xad\xbe\xef");
  EXPECT_EQ(FromHex("abc").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FromHex("zz").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace appliance::crypto
