#include "appliance/base/thread_priority.h"

#include <thread>

#include "gtest/gtest.h"

namespace appliance {
namespace {

TEST(ThreadPriorityTest, LowersOnlyTheCallingThread) {
  const int before = ThisThreadNice();
  int in_thread = -100;
  std::thread t([&] {
    EXPECT_TRUE(LowerThisThreadPriority(before + 5));
    in_thread = ThisThreadNice();
    EXPECT_TRUE(LowerThisThreadPriority(before + 1));  // Never raises.
    EXPECT_EQ(ThisThreadNice(), before + 5);
  });
  t.join();
  EXPECT_EQ(in_thread, before + 5);
  EXPECT_EQ(ThisThreadNice(), before);  // This thread is untouched.
}

}  // namespace
}  // namespace appliance
