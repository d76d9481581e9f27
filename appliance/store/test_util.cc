#include "appliance/store/test_util.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "gtest/gtest.h"

namespace appliance::store::testing {

std::string NewTestPath() {
  static std::atomic<int> counter{0};
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string base = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  std::string name = "store";
  if (const ::testing::TestInfo* info =
          ::testing::UnitTest::GetInstance()->current_test_info()) {
    name = std::string(info->test_suite_name()) + "." + info->name();
  }
  const std::string path =
      base + "/" + name + "." + std::to_string(counter.fetch_add(1));
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
  return path;
}

}  // namespace appliance::store::testing
