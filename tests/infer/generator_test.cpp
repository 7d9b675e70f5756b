#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kormo/infer/decoder.h"
#include "kormo/infer/generator.h"
#include "kormo/util/error.h"
#include "infer_fixture.h"

using namespace kormo;

namespace generator_test {
using namespace kormo::infer_test;

TEST(Decoder, PrefillThenDecodeEqualsTheTrainingForward) {
  Fixture f;
  const int64_t V = tiny().vocab_size;
  std::vector<int32_t> a = {5, 17, 3, 88, 41, 2, 60}, b = {9, 9, 30};
  infer::KvCache kv(tiny(), backend::cpu(), 3, 32);
  infer::Decoder dec(f.w, kv);
  int32_t sa = kv.acquire(), sb = kv.acquire();
  // Prefill a's first 4 tokens and all of b in one step, every position's logits.
  std::vector<infer::Chunk> step = {{sa, std::span(a).first(4)}, {sb, b}};
  auto got = dec.forward_host(step, true);
  auto ref_a = full_logits(f.w, a), ref_b = full_logits(f.w, b);
  EXPECT_LT(max_abs_diff(got.data(), ref_a.data(), 4 * V), 1e-4);
  EXPECT_LT(max_abs_diff(got.data() + 4 * V, ref_b.data(), 3 * V), 1e-4);
  // Then a's next two tokens as a chunk next to one decode token of b (last-token logits).
  std::vector<int32_t> b_next = {b.back()};
  std::vector<infer::Chunk> step2 = {{sa, std::span(a).subspan(4, 2)}, {sb, b_next}};
  auto got2 = dec.forward_host(step2);
  std::vector<int32_t> b2 = b;
  b2.push_back(b.back());
  auto ref_b2 = full_logits(f.w, b2);
  EXPECT_LT(max_abs_diff(got2.data(), ref_a.data() + 5 * V, V), 1e-4);
  EXPECT_LT(max_abs_diff(got2.data() + V, ref_b2.data() + 3 * V, V), 1e-4);
  EXPECT_EQ(kv.length(sa), 6);
  EXPECT_EQ(kv.length(sb), 4);
}

TEST(Decoder, BadChunksLeaveTheCacheUnchanged) {
  Fixture f;
  infer::KvCache kv(tiny(), backend::cpu(), 2, 8);
  infer::Decoder dec(f.w, kv);
  int32_t s = kv.acquire();
  std::vector<int32_t> ok = {1, 2}, bad = {1, 97}, long_seq(9, 3);
  std::vector<infer::Chunk> c1 = {{s, ok}, {s, ok}};
  EXPECT_THROW(dec.forward(c1), Error);
  std::vector<infer::Chunk> c2 = {{s, bad}};
  EXPECT_THROW(dec.forward(c2), Error);
  std::vector<infer::Chunk> c3 = {{s, long_seq}};
  EXPECT_THROW(dec.forward(c3), Error);
  EXPECT_EQ(kv.length(s), 0);
}

TEST(Generator, GreedyWithTheCacheEqualsFullRecomputation) {
  Fixture f;
  const int64_t V = tiny().vocab_size;
  std::vector<std::vector<int32_t>> prompts = {{5, 17, 3, 88}, {9}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}};
  const int64_t n = 20;
  // Two slots for three requests: the third joins when one finishes early (max_tokens).
  infer::Generator gen(f.w, nullptr, 2, 64);
  std::vector<infer::Request> reqs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    infer::Request r;
    r.prompt = prompts[i];
    r.sampling.temperature = 0;
    r.max_tokens = i == 1 ? 5 : n;
    reqs.push_back(r);
  }
  auto out = gen.run(reqs);
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<int32_t> seq = prompts[i];
    for (int64_t k = 0; k < reqs[i].max_tokens; ++k) {
      auto l = full_logits(f.w, seq);
      seq.push_back(argmax(l.data() + (seq.size() - 1) * V, V));
    }
    std::vector<int32_t> expect(seq.begin() + static_cast<int64_t>(prompts[i].size()), seq.end());
    EXPECT_EQ(out[i].tokens, expect) << "prompt " << i;
    EXPECT_EQ(out[i].finish_reason, "length");
  }
}

TEST(Generator, StopTokensContextEndAndLogprobs) {
  Fixture f;
  const int64_t V = tiny().vocab_size;
  infer::Generator gen(f.w, nullptr, 1, 6);
  infer::Request r;
  r.prompt = {4, 8, 15, 16};
  r.sampling.temperature = 0;
  r.max_tokens = 100;
  r.logprobs = 3;
  auto free_run = gen.run({r});
  // Context 6 with a 4-token prompt: 3 tokens (the last one needs no cache room).
  ASSERT_EQ(free_run[0].tokens.size(), 3u);
  EXPECT_EQ(free_run[0].finish_reason, "length");
  ASSERT_EQ(free_run[0].logprobs.size(), 3u);
  auto l = full_logits(f.w, r.prompt);
  auto lp = infer::token_logprob(l.data() + 3 * V, V, free_run[0].tokens[0], 3);
  EXPECT_NEAR(free_run[0].logprobs[0].logprob, lp.logprob, 1e-4);
  EXPECT_EQ(free_run[0].logprobs[0].top[0].first, free_run[0].tokens[0]);  // greedy = most likely
  // Stopping at the second greedy token keeps it in the tokens.
  r.stop_tokens = {free_run[0].tokens[1]};
  auto stopped = gen.run({r});
  EXPECT_EQ(stopped[0].tokens, std::vector<int32_t>(free_run[0].tokens.begin(), free_run[0].tokens.begin() + 2));
  EXPECT_EQ(stopped[0].finish_reason, "stop");
  // A prompt longer than the context is refused.
  r.prompt.assign(7, 1);
  EXPECT_THROW(gen.add(r), Error);
}

TEST(Generator, SampledOutputDependsOnlyOnTheSeed) {
  Fixture f;
  infer::Request r;
  r.prompt = {3, 1, 4, 1, 5};
  r.max_tokens = 12;
  r.sampling.temperature = 1.5;
  r.sampling.top_p = 0.95;
  r.sampling.seed = 11;
  infer::Generator gen(f.w, nullptr, 2, 32);
  auto a = gen.run({r});
  auto b = gen.run({r});
  EXPECT_EQ(a[0].tokens, b[0].tokens);
  r.sampling.seed = 12;
  auto c = gen.run({r});
  EXPECT_NE(a[0].tokens, c[0].tokens);
}

TEST(Generator, PeekShowsTheCompletionGrowingStepByStep) {
  Fixture f;
  infer::Generator gen(f.w, nullptr, 1, 32);
  infer::Request r;
  r.prompt = {3, 1, 4};
  r.sampling.temperature = 0;
  r.max_tokens = 4;
  const auto expect = gen.run({r})[0].tokens;
  const int64_t id = gen.add(r);
  for (size_t k = 1; k <= expect.size(); ++k) {
    gen.step();
    const auto& part = gen.peek(id);
    ASSERT_EQ(part.tokens.size(), k);
    EXPECT_TRUE(std::equal(part.tokens.begin(), part.tokens.end(), expect.begin()));
  }
  EXPECT_EQ(gen.peek(id).finish_reason, "length");
  gen.take(id);
  EXPECT_THROW(gen.peek(id), Error);
}

TEST(Generator, PromptLogprobsEqualTheTrainingForward) {
  Fixture f;
  const int64_t V = tiny().vocab_size;
  infer::Generator gen(f.w, nullptr, 3, 32);
  // Three requests in one step: a scored prompt with no generation, a scored prompt that
  // also generates, and a plain one whose greedy tokens must not change.
  infer::Request scored, scored_gen, plain;
  scored.prompt = {5, 17, 3, 88, 41, 2, 60};
  scored.max_tokens = 0, scored.logprobs = 2, scored.prompt_logprobs = true;
  scored_gen.prompt = {9, 9, 30, 12};
  scored_gen.max_tokens = 3, scored_gen.logprobs = 1, scored_gen.prompt_logprobs = true;
  scored_gen.sampling.temperature = 0;
  plain.prompt = {1, 2, 3};
  plain.max_tokens = 3, plain.sampling.temperature = 0;
  const auto plain_alone = gen.run({plain})[0].tokens;
  auto out = gen.run({scored, scored_gen, plain});
  EXPECT_EQ(out[2].tokens, plain_alone);
  EXPECT_TRUE(out[2].prompt_logprobs.empty());
  EXPECT_TRUE(out[0].tokens.empty());
  EXPECT_EQ(out[0].finish_reason, "length");
  EXPECT_EQ(out[1].tokens.size(), 3u);
  for (int k = 0; k < 2; ++k) {
    const auto& req = k == 0 ? scored : scored_gen;
    const auto& got = out[k].prompt_logprobs;
    ASSERT_EQ(got.size(), req.prompt.size() - 1);
    const auto l = full_logits(f.w, req.prompt);
    for (size_t j = 1; j < req.prompt.size(); ++j) {
      const auto want = infer::token_logprob(l.data() + (j - 1) * V, V, req.prompt[j], req.logprobs);
      EXPECT_EQ(got[j - 1].token, req.prompt[j]);
      EXPECT_NEAR(got[j - 1].logprob, want.logprob, 1e-4) << "request " << k << " position " << j;
      ASSERT_EQ(got[j - 1].top.size(), static_cast<size_t>(req.logprobs));
      EXPECT_EQ(got[j - 1].top[0].first, want.top[0].first);
      EXPECT_NEAR(got[j - 1].top[0].second, want.top[0].second, 1e-4);
    }
  }
  // The generated tokens of a scored request are the greedy ones of the full forward.
  const auto l = full_logits(f.w, scored_gen.prompt);
  EXPECT_EQ(out[1].tokens[0], argmax(l.data() + 3 * V, V));
}

}  // namespace generator_test
