#include "appliance/base/status_macros.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace {

absl::Status FailIf(bool fail) {
  return fail ? absl::InvalidArgumentError("bad") : absl::OkStatus();
}

absl::Status Chain(bool fail, int* reached) {
  RETURN_IF_ERROR(FailIf(fail));
  ++*reached;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<int>> MakeInt(bool fail) {
  if (fail) return absl::NotFoundError("none");
  return std::make_unique<int>(7);
}

absl::StatusOr<int> UseInt(bool fail) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> v, MakeInt(fail));
  ASSIGN_OR_RETURN(auto w, MakeInt(fail));  // Two on one function.
  return *v + *w;
}

TEST(StatusMacrosTest, ReturnIfErrorStopsOnError) {
  int reached = 0;
  EXPECT_TRUE(Chain(false, &reached).ok());
  EXPECT_EQ(reached, 1);
  absl::Status s = Chain(true, &reached);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "bad");
  EXPECT_EQ(reached, 1);
}

TEST(StatusMacrosTest, AssignOrReturnMovesValueOrPropagates) {
  absl::StatusOr<int> ok = UseInt(false);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 14);
  EXPECT_EQ(UseInt(true).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
