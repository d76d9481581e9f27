#include "appliance/mllp/response_sequencer.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace appliance::mllp {
namespace {

std::vector<std::string> PopAll(ResponseSequencer* sequencer) {
  std::vector<std::string> out;
  Response response;
  while (sequencer->PopReady(&response)) out.push_back(response.payload);
  return out;
}

TEST(ResponseSequencerTest, InOrderCompletion) {
  ResponseSequencer sequencer;
  EXPECT_EQ(sequencer.Add(), 0u);
  EXPECT_EQ(sequencer.Add(), 1u);
  EXPECT_TRUE(sequencer.Complete(0, Response{"a"}));
  EXPECT_EQ(PopAll(&sequencer), std::vector<std::string>{"a"});
  EXPECT_EQ(sequencer.pending(), 1u);
  EXPECT_TRUE(sequencer.Complete(1, Response{"b"}));
  EXPECT_EQ(PopAll(&sequencer), std::vector<std::string>{"b"});
  EXPECT_EQ(sequencer.pending(), 0u);
}

TEST(ResponseSequencerTest, OutOfOrderCompletionIsReleasedInOrder) {
  ResponseSequencer sequencer;
  for (int i = 0; i < 4; ++i) sequencer.Add();
  EXPECT_TRUE(sequencer.Complete(3, Response{"d"}));
  EXPECT_TRUE(sequencer.Complete(1, Response{"b"}));
  EXPECT_TRUE(PopAll(&sequencer).empty());  // 0 still unanswered.
  EXPECT_EQ(sequencer.pending(), 4u);
  EXPECT_TRUE(sequencer.Complete(0, Response{"a"}));
  EXPECT_EQ(PopAll(&sequencer), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(sequencer.Complete(2, Response{"c", /*close_after=*/true}));
  Response response;
  ASSERT_TRUE(sequencer.PopReady(&response));
  EXPECT_EQ(response.payload, "c");
  EXPECT_TRUE(response.close_after);
  EXPECT_EQ(PopAll(&sequencer), std::vector<std::string>{"d"});
  // Numbering continues after the queue empties.
  EXPECT_EQ(sequencer.Add(), 4u);
}

TEST(ResponseSequencerTest, RejectsUnknownAndRepeatedSequences) {
  ResponseSequencer sequencer;
  EXPECT_FALSE(sequencer.Complete(0, Response{"x"}));  // Never added.
  sequencer.Add();
  EXPECT_TRUE(sequencer.Complete(0, Response{"a"}));
  EXPECT_FALSE(sequencer.Complete(0, Response{"again"}));
  EXPECT_EQ(PopAll(&sequencer), std::vector<std::string>{"a"});
  EXPECT_FALSE(sequencer.Complete(0, Response{"popped"}));
  EXPECT_FALSE(sequencer.Complete(7, Response{"future"}));
}

}  // namespace
}  // namespace appliance::mllp
