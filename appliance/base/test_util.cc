#include "appliance/base/test_util.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace appliance::test_util {

std::string NewTempDir(const std::string& name) {
  static std::atomic<int> counter{0};
  const char* tmp = getenv("TEST_TMPDIR");
  const std::string dir =
      std::string(tmp ? tmp : "/tmp") + "/" + name + std::to_string(++counter);
  mkdir(dir.c_str(), 0700);
  return dir;
}

std::string ReadRunfile(const std::string& path) {
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* ws = getenv("TEST_WORKSPACE");
  std::ifstream in(std::string(srcdir ? srcdir : ".") + "/" +
                       (ws ? ws : "hl7_appliance") + "/" + path,
                   std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ReadHl7Corpus(const std::string& name) {
  return ReadRunfile("tests/data/hl7/" + name);
}

}  // namespace appliance::test_util
