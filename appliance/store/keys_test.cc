#include "appliance/store/keys.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace appliance::store {
namespace {

TEST(KeysTest, EncodesBigEndian) {
  EXPECT_EQ(EncodeU64BE(0x0102030405060708ULL),
            std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(EncodeU32BE(0xA1B2C3D4u), std::string("\xA1\xB2\xC3\xD4", 4));
  EXPECT_EQ(EncodeU64BE(0), std::string(8, '\0'));
}

TEST(KeysTest, RoundTrips) {
  const uint64_t kValues[] = {
      0, 1, 255, 256, 0x7fffffffffffffffULL, 0x8000000000000000ULL, UINT64_MAX};
  for (uint64_t v : kValues) {
    absl::StatusOr<uint64_t> d = DecodeU64BE(EncodeU64BE(v));
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(*d, v);
  }
  for (uint32_t v : {0u, 1u, 0x80u, 0xffffffffu}) {
    absl::StatusOr<uint32_t> d = DecodeU32BE(EncodeU32BE(v));
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(*d, v);
  }
}

TEST(KeysTest, ByteOrderIsNumericOrder) {
  std::vector<uint64_t> values = {300,       1,   UINT64_MAX, 0,
                                  256,       255, 1ULL << 32, (1ULL << 32) - 1,
                                  1ULL << 63};
  std::vector<std::string> keys;
  for (uint64_t v : values) keys.push_back(EncodeU64BE(v));
  std::sort(values.begin(), values.end());
  std::sort(keys.begin(), keys.end());  // memcmp order, as LMDB compares.
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(LoadU64BE(keys[i].data()), values[i]);
  }
}

TEST(KeysTest, DecodeRejectsWrongSize) {
  EXPECT_EQ(DecodeU64BE("1234567").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeU64BE("123456789").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeU32BE("").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KeysTest, CompositeKeys) {
  std::string key;
  AppendU32BE(7, &key);
  AppendU64BE(42, &key);
  ASSERT_EQ(key.size(), kU32KeySize + kU64KeySize);
  EXPECT_EQ(LoadU32BE(key.data()), 7u);
  EXPECT_EQ(LoadU64BE(key.data() + kU32KeySize), 42u);
}

}  // namespace
}  // namespace appliance::store
