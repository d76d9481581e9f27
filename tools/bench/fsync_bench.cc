// Measures what one durable commit costs on this disk: write 4 KiB at the
// end of a file and fdatasync(), N times; prints p50/p99/max in microseconds.
//   bazel run -c opt //tools/bench:fsync_bench -- [DIR] [N]
// The ACK latency of hl7d cannot be lower than one of these (LMDB commits with
// two syncs: data pages, then the meta page).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : ".";
  const int n = argc > 2 ? atoi(argv[2]) : 2000;
  const std::string path = dir + "/fsync_bench.tmp";
  const int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
  if (fd < 0) {
    perror("open");
    return 1;
  }
  std::vector<char> block(4096, 'x');
  std::vector<double> us;
  us.reserve(n);
  for (int i = 0; i < n; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) ||
        fdatasync(fd) != 0) {
      perror("write/fdatasync");
      return 1;
    }
    const auto t1 = std::chrono::steady_clock::now();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  close(fd);
  unlink(path.c_str());
  std::sort(us.begin(), us.end());
  printf("fdatasync of 4 KiB appends in %s: n=%d p50=%.0f us p99=%.0f us max=%.0f us\n",
         dir.c_str(), n, us[n / 2], us[n * 99 / 100], us[n - 1]);
  return 0;
}
