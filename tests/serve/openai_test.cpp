#include <gtest/gtest.h>

#include "kormo/serve/openai.h"

using namespace kormo::serve;

TEST(Serve, ReasoningIsSplitAtTheClosingThinkTag) {
  auto r = split_reasoning("<think>\nweigh it\n</think>\n\nThe answer.", false);
  EXPECT_EQ(r.reasoning, "weigh it");
  EXPECT_EQ(r.content, "The answer.");
  // The prompt opened the block: the reply starts inside it.
  r = split_reasoning("still thinking", true);
  EXPECT_EQ(r.reasoning, "still thinking");
  EXPECT_EQ(r.content, "");
  r = split_reasoning("plain answer", false);
  EXPECT_EQ(r.reasoning, "");
  EXPECT_EQ(r.content, "plain answer");
}

TEST(Serve, StreamedTextNeverEndsInsideACharacterOrAHeldBackTail) {
  const std::string ko = "서울";  // two 3-byte characters
  EXPECT_EQ(stream_safe_length(ko, 0), 6u);
  EXPECT_EQ(stream_safe_length(ko.substr(0, 5), 0), 3u);
  EXPECT_EQ(stream_safe_length(ko.substr(0, 4), 0), 3u);
  EXPECT_EQ(stream_safe_length(ko, 1), 3u);
  EXPECT_EQ(stream_safe_length("abcdef", 2), 4u);
  EXPECT_EQ(stream_safe_length("ab", 5), 0u);
}

TEST(Serve, BadBodiesAre400sNamingTheProblem) {
  try {
    parse_body("{\"prompt\": \"\xff\"}");
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.code(), "invalid_utf8");
    EXPECT_NE(std::string(e.what()).find("offset 12"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_body("{"), ApiError);
  EXPECT_THROW(parse_body("[]"), ApiError);
  EXPECT_TRUE(parse_body("{\"a\": 1}").is_object());
}
