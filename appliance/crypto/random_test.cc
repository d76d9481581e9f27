#include "appliance/crypto/random.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace appliance::crypto {
namespace {

TEST(RandomTest, ProducesRequestedLengthAndDistinctValues) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string r = RandomString(16);
    ASSERT_EQ(r.size(), 16u);
    seen.insert(r);
  }
  EXPECT_EQ(seen.size(), 100u);  // 128-bit collisions would be a broken RNG.
  EXPECT_TRUE(RandomString(0).empty());
}

TEST(RandomTest, BytesAreRoughlyUniform) {
  // 64 KiB of output: every byte value must occur, and no bit may be stuck.
  std::string r = RandomString(1 << 16);
  int counts[256] = {};
  int ones_per_bit[8] = {};
  for (char c : r) {
    auto b = static_cast<unsigned char>(c);
    ++counts[b];
    for (int bit = 0; bit < 8; ++bit) ones_per_bit[bit] += (b >> bit) & 1;
  }
  for (int v = 0; v < 256; ++v) EXPECT_GT(counts[v], 100) << v;
  for (int bit = 0; bit < 8; ++bit) {
    EXPECT_NEAR(ones_per_bit[bit], 1 << 15, 1200) << bit;
  }
}

TEST(RandomTest, RandomBytesFillsBuffer) {
  uint8_t buf[64] = {};
  ASSERT_TRUE(RandomBytes(buf, sizeof(buf)).ok());
  int zeros = 0;
  for (uint8_t b : buf) zeros += (b == 0);
  EXPECT_LT(zeros, 10);
  EXPECT_TRUE(RandomBytes(buf, 0).ok());
}

}  // namespace
}  // namespace appliance::crypto
