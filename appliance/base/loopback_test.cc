#include "appliance/base/loopback.h"

#include "gtest/gtest.h"

namespace appliance {
namespace {

TEST(LoopbackTest, LoopbackAddresses) {
  EXPECT_TRUE(IsLoopbackAddress("localhost"));
  EXPECT_TRUE(IsLoopbackAddress("LocalHost"));
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackAddress("127.8.9.10"));
  EXPECT_TRUE(IsLoopbackAddress("::1"));
  EXPECT_TRUE(IsLoopbackAddress("::ffff:127.0.0.1"));
}

TEST(LoopbackTest, EverythingElse) {
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackAddress("::"));
  EXPECT_FALSE(IsLoopbackAddress("::ffff:10.0.0.1"));
  EXPECT_FALSE(IsLoopbackAddress("128.0.0.1"));
  // A host name is not an address: it may resolve anywhere.
  EXPECT_FALSE(IsLoopbackAddress("127.attacker.example"));
  EXPECT_FALSE(IsLoopbackAddress("localhost.attacker.example"));
  EXPECT_FALSE(IsLoopbackAddress(""));
  EXPECT_FALSE(IsLoopbackAddress("not an address"));
}

}  // namespace
}  // namespace appliance
