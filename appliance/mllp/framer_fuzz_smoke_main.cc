// Runs LLVMFuzzerTestOneInput (framer_fuzz.cc) over deterministic
// pseudo-random inputs so the fuzz target's invariants are checked under plain
// gcc in every test run. Files named on the command line (a corpus, or a
// crasher from a real fuzzing run) are run as well.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr int kInputs = 400;

class Lcg {
 public:
  explicit Lcg(uint64_t seed) : state_(seed) {}
  uint32_t Next() {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state_ >> 33);
  }

 private:
  uint64_t state_;
};

// Bytes weighted towards the ones the decoder treats specially.
uint8_t RandomByte(Lcg* rng) {
  static constexpr uint8_t kSpecial[] = {0x0b, 0x1c, 0x0d, 0x0a, 0x00};
  const uint32_t r = rng->Next();
  if (r % 100 < 15) return kSpecial[(r >> 8) % sizeof(kSpecial)];
  return static_cast<uint8_t>('A' + (r >> 8) % 26);
}

// A stream of mostly well-formed frames with occasional damage.
std::vector<uint8_t> FramedInput(Lcg* rng) {
  std::vector<uint8_t> out = {static_cast<uint8_t>(rng->Next()),
                              static_cast<uint8_t>(rng->Next())};
  const int frames = rng->Next() % 8;
  for (int f = 0; f < frames; ++f) {
    if (rng->Next() % 4 == 0) out.push_back(RandomByte(rng));  // Noise.
    out.push_back(0x0b);
    const int len = rng->Next() % 80;
    for (int i = 0; i < len; ++i) {
      out.push_back(static_cast<uint8_t>('A' + rng->Next() % 26));
    }
    out.push_back(0x1c);
    if (rng->Next() % 5 != 0) out.push_back(0x0d);
  }
  return out;
}

std::vector<uint8_t> RandomInput(Lcg* rng) {
  std::vector<uint8_t> out(rng->Next() % 600);
  for (uint8_t& b : out) b = RandomByte(rng);
  if (out.size() >= 2) {
    out[0] = static_cast<uint8_t>(rng->Next());
    out[1] = static_cast<uint8_t>(rng->Next());
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", argv[i]);
      return 2;
    }
    const std::string bytes((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                           bytes.size());
  }
  Lcg rng(20240101);
  for (int i = 0; i < kInputs; ++i) {
    const std::vector<uint8_t> input =
        (i % 2 == 0) ? FramedInput(&rng) : RandomInput(&rng);
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("%d generated inputs and %d files passed\n", kInputs, argc - 1);
  return 0;
}
