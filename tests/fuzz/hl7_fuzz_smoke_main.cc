// Runs the fuzz target (hl7_fuzz.cc) without libFuzzer: over every corpus file
// and deterministic mutations of it (byte flips, truncations, delimiter swaps,
// splices), so the harness and its invariants run in every CI build, also under
// --config=asan. The coverage-guided run is tests/fuzz/run_fuzzer.sh.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Run(const std::string& s) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    seeds.push_back(ss.str());
  }
  if (seeds.empty()) {
    fprintf(stderr, "usage: %s SEED_FILE...\n", argv[0]);
    return 2;
  }
  std::mt19937 rng(20261126);
  const char kInteresting[] = "|^~\\&\r\n\"#$*@%MSH0123456789.XFSTRE\x0b\x1c\xff";
  long runs = 0;
  for (const std::string& seed : seeds) {
    Run(seed);
    ++runs;
    for (size_t cut = 0; cut <= seed.size(); cut += 7) {
      Run(seed.substr(0, cut));
      ++runs;
    }
    for (int i = 0; i < 400; ++i) {
      std::string s = seed;
      const int edits = 1 + static_cast<int>(rng() % 8);
      for (int e = 0; e < edits && !s.empty(); ++e) {
        const size_t pos = rng() % s.size();
        switch (rng() % 4) {
          case 0:
            s[pos] = static_cast<char>(rng());
            break;
          case 1:
            s[pos] = kInteresting[rng() % (sizeof(kInteresting) - 1)];
            break;
          case 2:
            s.erase(pos, 1 + rng() % 16);
            break;
          case 3:
            s.insert(pos, seeds[rng() % seeds.size()].substr(0, rng() % 64));
            break;
        }
      }
      Run(s);
      ++runs;
    }
  }
  printf("%ld inputs run without a violated invariant\n", runs);
  return 0;
}
