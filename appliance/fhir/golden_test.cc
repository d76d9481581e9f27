// Golden-file test: every file of the synthetic corpus (tests/data/hl7/,
// listed in expected.txt) maps to exactly the Bundles and findings stored in
// tests/data/fhir/. Ids are deterministic, so the files are byte-stable.
//
// Regenerate (then review the diff):
//   GOLDEN_UPDATE_DIR=$PWD/tests/data/fhir bazel run
//   //appliance/fhir:golden_test
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "appliance/fhir/datetime.h"
#include "appliance/fhir/mapper.h"
#include "appliance/hl7/message.h"
#include "gtest/gtest.h"

namespace appliance::fhir {
namespace {

std::string Runfile(const std::string& path) {
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* workspace = getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || workspace == nullptr) return path;
  return std::string(srcdir) + "/" + workspace + "/" + path;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::vector<std::string> CorpusFiles() {
  std::string expected;
  EXPECT_TRUE(ReadFile(Runfile("tests/data/hl7/expected.txt"), &expected));
  std::vector<std::string> names;
  std::istringstream lines(expected);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    names.push_back(line.substr(0, line.find(' ')));
  }
  return names;
}

// What the golden files hold for one corpus file.
struct Output {
  std::string json;
  std::string findings;
};

Output MapFile(const std::string& bytes) {
  auto terminology = std::make_shared<Terminology>();
  MapperOptions options;
  options.site_time_zone = *LoadSiteTimeZone("Europe/Zurich");
  options.pretty = true;
  const Mapper mapper(options, terminology);
  Output out;
  std::vector<std::string_view> messages = hl7::SplitMessages(bytes);
  if (messages.empty()) messages.push_back(bytes);
  MapResult result;
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string where = "message " + std::to_string(i + 1) + ": ";
    auto m = hl7::Message::Parse(messages[i]);
    if (!m.ok()) {
      out.findings +=
          where + "not mapped: " + std::string(m.status().message()) + "\n";
      continue;
    }
    absl::Status s = mapper.Map(*m, &result);
    for (const MappingFinding& f : result.findings) {
      out.findings += where + FindingSeverityName(f.severity) + " " + f.code +
                      " at " + f.location.ToString() + ": " + f.text + "\n";
    }
    if (!s.ok()) {
      out.findings += where + "not mapped: " + std::string(s.message()) + "\n";
      continue;
    }
    if (result.hold)
      out.findings += where + "held: " + result.hold_reason + "\n";
    out.json += result.bundle;
  }
  return out;
}

std::string Stem(const std::string& name) {
  return name.substr(0, name.rfind('.'));
}

TEST(GoldenTest, CorpusMapsToStoredBundles) {
  const char* update_dir = getenv("GOLDEN_UPDATE_DIR");
  const std::vector<std::string> names = CorpusFiles();
  ASSERT_GE(names.size(), 15u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    std::string bytes;
    ASSERT_TRUE(ReadFile(Runfile("tests/data/hl7/" + name), &bytes));
    const Output got = MapFile(bytes);
    // Mapping the same bytes again gives the same bytes.
    const Output again = MapFile(bytes);
    EXPECT_EQ(got.json, again.json);
    EXPECT_EQ(got.findings, again.findings);
    const std::string json_name = Stem(name) + ".json";
    const std::string findings_name = Stem(name) + ".findings.txt";
    if (update_dir != nullptr) {
      for (const auto& [file, content] :
           {std::pair{json_name, got.json},
            std::pair{findings_name, got.findings}}) {
        const std::string path = std::string(update_dir) + "/" + file;
        if (content.empty()) {
          std::remove(path.c_str());
          continue;
        }
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << content;
        ASSERT_TRUE(out.good()) << path;
      }
      continue;
    }
    std::string want_json;
    std::string want_findings;
    const bool has_json =
        ReadFile(Runfile("tests/data/fhir/" + json_name), &want_json);
    const bool has_findings =
        ReadFile(Runfile("tests/data/fhir/" + findings_name), &want_findings);
    EXPECT_EQ(has_json, !got.json.empty());
    EXPECT_EQ(has_findings, !got.findings.empty());
    EXPECT_EQ(got.json, want_json) << "regenerate: see the file comment";
    EXPECT_EQ(got.findings, want_findings);
  }
}

}  // namespace
}  // namespace appliance::fhir
