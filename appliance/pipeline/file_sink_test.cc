#include "appliance/pipeline/file_sink.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "appliance/base/clock.h"
#include "appliance/base/test_util.h"
#include "gtest/gtest.h"

namespace appliance::pipeline {
namespace {

std::vector<std::string> ListFiles(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') names.push_back(e->d_name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(FileSinkTest, AppendsLinesAndRotatesBySize) {
  const std::string dir = test_util::NewTempDir("sink") + "/out";
  FakeClock clock;
  auto sink = FileSink::Open({dir, 100}, &clock);
  ASSERT_TRUE(sink.ok()) << sink.status();
  EXPECT_EQ((*sink)->name(), "file:" + dir);
  const std::string a(40, 'a'), b(40, 'b'), c(40, 'c');
  for (const std::string* s : {&a, &b, &c}) {
    AttemptResult r = (*sink)->Deliver(1, *s);
    ASSERT_EQ(r.disposition, Disposition::kDelivered) << r.error;
  }
  // 41 + 41 bytes fit in 100; the third line starts a second file.
  const std::vector<std::string> files = ListFiles(dir);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0], "bundles-20260101T000000-1.ndjson");
  EXPECT_EQ(Slurp(dir + "/" + files[0]), a + "\n" + b + "\n");
  EXPECT_EQ(Slurp(dir + "/" + files[1]), c + "\n");
  struct stat st;
  ASSERT_EQ(stat((dir + "/" + files[0]).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // PHI: owner only.
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(FileSinkTest, ALineLargerThanTheLimitGetsAFileOfItsOwn) {
  const std::string dir = test_util::NewTempDir("sink") + "/out";
  FakeClock clock;
  auto sink = FileSink::Open({dir, 10}, &clock);
  ASSERT_TRUE(sink.ok());
  ASSERT_EQ((*sink)->Deliver(1, std::string(50, 'x')).disposition,
            Disposition::kDelivered);
  ASSERT_EQ((*sink)->Deliver(2, "y").disposition, Disposition::kDelivered);
  EXPECT_EQ(ListFiles(dir).size(), 2u);
}

TEST(FileSinkTest, NewRunDoesNotOverwriteEarlierFiles) {
  const std::string dir = test_util::NewTempDir("sink") + "/out";
  FakeClock clock;
  {
    auto sink = FileSink::Open({dir, 1 << 20}, &clock);
    ASSERT_TRUE(sink.ok());
    ASSERT_EQ((*sink)->Deliver(1, "first").disposition, Disposition::kDelivered);
  }
  auto sink = FileSink::Open({dir, 1 << 20}, &clock);  // Same second.
  ASSERT_TRUE(sink.ok());
  ASSERT_EQ((*sink)->Deliver(2, "second").disposition, Disposition::kDelivered);
  const std::vector<std::string> files = ListFiles(dir);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(Slurp(dir + "/" + files[0]), "first\n");
}

TEST(FileSinkTest, ConcurrentDeliveriesAcrossRotationsLoseNothing) {
  const std::string dir = test_util::NewTempDir("sink") + "/out";
  FakeClock clock;
  auto sink = FileSink::Open({dir, 4096}, &clock);  // Several rotations.
  ASSERT_TRUE(sink.ok());
  constexpr int kThreads = 8, kEach = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string line = "{\"t\":" + std::to_string(t) + ",\"i\":" +
                                 std::to_string(i) + ",\"pad\":\"" +
                                 std::string(100, 'x') + "\"}";
        ASSERT_EQ((*sink)->Deliver(1, line).disposition, Disposition::kDelivered);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::multiset<std::string> lines;
  for (const std::string& f : ListFiles(dir)) {
    std::istringstream in(Slurp(dir + "/" + f));
    for (std::string l; std::getline(in, l);) lines.insert(l);
  }
  EXPECT_EQ(lines.size(), static_cast<size_t>(kThreads * kEach));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kEach; ++i) {
      const std::string line = "{\"t\":" + std::to_string(t) + ",\"i\":" +
                               std::to_string(i) + ",\"pad\":\"" +
                               std::string(100, 'x') + "\"}";
      EXPECT_EQ(lines.count(line), 1u);
    }
  }
  EXPECT_GT(ListFiles(dir).size(), 1u);
  EXPECT_GE((*sink)->syncs(), 1u);
}

TEST(FileSinkTest, EachDeliveryAloneWaitsForItsOwnSync) {
  const std::string dir = test_util::NewTempDir("sink") + "/out";
  FakeClock clock;
  auto sink = FileSink::Open({dir, 1 << 20}, &clock);
  ASSERT_TRUE(sink.ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ((*sink)->Deliver(1, "{}").disposition, Disposition::kDelivered);
    EXPECT_EQ((*sink)->syncs(), static_cast<uint64_t>(i + 1));
  }
}

TEST(FileSinkTest, DeliveriesWaitingBehindASyncShareTheNextOne) {
  const std::string dir = test_util::NewTempDir("sink") + "/out";
  FakeClock clock;
  constexpr int kThreads = 6;
  std::atomic<bool> first{true};
  FileSinkOptions options{dir, 1 << 20};
  // The first sync waits until every thread's line is written (they then
  // wait for the sync lock): one sync must cover them all.
  options.before_sync = [&] {
    if (!first.exchange(false)) return;
    for (int i = 0; i < 10000; ++i) {
      size_t lines = 0;
      for (const std::string& f : ListFiles(dir)) {
        const std::string text = Slurp(dir + "/" + f);
        lines += std::count(text.begin(), text.end(), '\n');
      }
      if (lines == kThreads) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ADD_FAILURE() << "the other deliveries did not write their lines";
  };
  auto sink = FileSink::Open(options, &clock);
  ASSERT_TRUE(sink.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      EXPECT_EQ((*sink)->Deliver(1, "{\"t\":" + std::to_string(t) + "}")
                    .disposition,
                Disposition::kDelivered);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ((*sink)->syncs(), 1u);
}

TEST(FileSinkTest, UnwritableDirectoryIsAClearError) {
  FakeClock clock;
  auto sink = FileSink::Open({"/proc/no-such-dir/out", 100}, &clock);
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(std::string(sink.status().message()).find("/proc/no-such-dir/out"),
            std::string::npos);
  EXPECT_FALSE(FileSink::Open({"", 100}, &clock).ok());
}

}  // namespace
}  // namespace appliance::pipeline
