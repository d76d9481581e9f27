// Helpers for tests run by Bazel (testonly).
#ifndef APPLIANCE_BASE_TEST_UTIL_H_
#define APPLIANCE_BASE_TEST_UTIL_H_

#include <string>

namespace appliance::test_util {

// A new, empty directory under $TEST_TMPDIR whose name starts with `name`.
std::string NewTempDir(const std::string& name);

// The bytes of a file from the runfiles, by workspace-relative path, e.g.
// ReadRunfile("tests/data/hl7/adt_a01_v25.hl7"); "" when missing.
std::string ReadRunfile(const std::string& path);

// ReadRunfile("tests/data/hl7/" + name).
std::string ReadHl7Corpus(const std::string& name);

}  // namespace appliance::test_util

#endif  // APPLIANCE_BASE_TEST_UTIL_H_
