// Test helpers for the store: hermetic scratch directories.
#ifndef APPLIANCE_STORE_TEST_UTIL_H_
#define APPLIANCE_STORE_TEST_UTIL_H_

#include <string>

namespace appliance::store::testing {

// A path under $TEST_TMPDIR (or /tmp) that does not exist yet, unique within
// the test binary and named after the running test. The caller (or
// Env::Open) creates it.
std::string NewTestPath();

}  // namespace appliance::store::testing

#endif  // APPLIANCE_STORE_TEST_UTIL_H_
