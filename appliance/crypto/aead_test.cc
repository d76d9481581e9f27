#include "appliance/crypto/aead.h"

#include <set>
#include <string>

#include "appliance/crypto/hash.h"
#include "gtest/gtest.h"

namespace appliance::crypto {
namespace {

std::string Unhex(std::string_view hex) {
  absl::StatusOr<std::string> b = FromHex(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : std::string();
}

struct GcmVector {
  const char* name;
  const char* key;
  const char* nonce;
  const char* plaintext;
  const char* aad;
  const char* ciphertext;
  const char* tag;
};

// AES-256 cases 13, 14 and 16 of "The Galois/Counter Mode of Operation"
// (McGrew & Viega), as used in NIST's GCM validation.
const GcmVector kVectors[] = {
    {"case13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"case14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"case16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(Aes256GcmTest, KnownAnswerVectors) {
  for (const GcmVector& v : kVectors) {
    SCOPED_TRACE(v.name);
    absl::StatusOr<Aes256Gcm> aead = Aes256Gcm::Create(Unhex(v.key));
    ASSERT_TRUE(aead.ok()) << aead.status();
    const std::string expected =
        Unhex(v.nonce) + Unhex(v.ciphertext) + Unhex(v.tag);
    absl::StatusOr<std::string> sealed =
        aead->SealWithNonce(Unhex(v.nonce), Unhex(v.plaintext), Unhex(v.aad));
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(ToHex(*sealed), ToHex(expected));
    absl::StatusOr<std::string> opened = aead->Open(expected, Unhex(v.aad));
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(ToHex(*opened), v.plaintext);
  }
}

class Aes256GcmTamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    aead_ = std::make_unique<Aes256Gcm>(*Aes256Gcm::Create(std::string(32, 'k')));
    sealed_ = *aead_->Seal(kPlain, kAad);
  }
  static constexpr char kPlain[] = "PID|1||12345^^^HOSP^MR||SYNTHETIC^PATIENT";
  static constexpr char kAad[] = "msg/0000000000000001";
  std::unique_ptr<Aes256Gcm> aead_;
  std::string sealed_;
};

TEST_F(Aes256GcmTamperTest, RoundTripAndLayout) {
  EXPECT_EQ(sealed_.size(), sizeof(kPlain) - 1 + kGcmOverhead);
  EXPECT_EQ(sealed_.find("SYNTHETIC"), std::string::npos);
  absl::StatusOr<std::string> opened = aead_->Open(sealed_, kAad);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, kPlain);
}

TEST_F(Aes256GcmTamperTest, EveryFlippedBitIsDetected) {
  // Nonce, ciphertext and tag: every single-bit change must fail to open.
  for (size_t i = 0; i < sealed_.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string t = sealed_;
      t[i] = static_cast<char>(t[i] ^ (1 << bit));
      absl::StatusOr<std::string> r = aead_->Open(t, kAad);
      ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss)
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST_F(Aes256GcmTamperTest, WrongAssociatedDataOrKeyFails) {
  EXPECT_EQ(aead_->Open(sealed_, "msg/0000000000000002").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(aead_->Open(sealed_, "").status().code(),
            absl::StatusCode::kDataLoss);
  Aes256Gcm other = *Aes256Gcm::Create(std::string(32, 'K'));
  EXPECT_EQ(other.Open(sealed_, kAad).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(Aes256GcmTamperTest, TruncationIsDetected) {
  EXPECT_EQ(aead_->Open(sealed_.substr(0, sealed_.size() - 1), kAad)
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(aead_->Open(sealed_.substr(0, kGcmOverhead - 1), kAad)
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(aead_->Open("", kAad).status().code(), absl::StatusCode::kDataLoss);
}

TEST(Aes256GcmTest, NoncesAreFreshAndEmptyPlaintextWorks) {
  Aes256Gcm aead = *Aes256Gcm::Create(std::string(32, '\x01'));
  std::set<std::string> nonces;
  for (int i = 0; i < 50; ++i) {
    std::string s = *aead.Seal("same", "ad");
    nonces.insert(s.substr(0, kGcmNonceSize));
  }
  EXPECT_EQ(nonces.size(), 50u);
  std::string empty = *aead.Seal("", "");
  EXPECT_EQ(empty.size(), kGcmOverhead);
  EXPECT_EQ(*aead.Open(empty, ""), "");
}

TEST(Aes256GcmTest, RejectsBadKeyAndNonceSizes) {
  EXPECT_EQ(Aes256Gcm::Create("short").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Aes256Gcm::Create(std::string(33, 'k')).status().code(),
            absl::StatusCode::kInvalidArgument);
  Aes256Gcm aead = *Aes256Gcm::Create(std::string(32, 'k'));
  EXPECT_EQ(aead.SealWithNonce("123", "p", "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace appliance::crypto
