#include "kormo/eval/loglikelihood.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kormo/model/runner.h"
#include "kormo/util/error.h"

using namespace kormo;

namespace loglikelihood_test {

// Byte-level tokens only (no merges), so every string's ids are easy to predict.
const tok::Tokenizer& bytes_tok() {
  static const tok::Tokenizer t = tok::Tokenizer::from_merges({}, {});
  return t;
}

model::ModelConfig tiny() {
  model::ModelConfig c;
  c.vocab_size = 270, c.hidden_size = 32, c.intermediate_size = 64, c.num_layers = 2, c.num_heads = 4,
  c.num_kv_heads = 2, c.head_dim = 8, c.max_seq_len = 40;
  c.init_std = 0.2;
  return c;
}

struct Fixture {
  model::Weights w{tiny(), backend::cpu()};
  Fixture() { w.init_random(11); }
};

// The reference: lm-eval's arithmetic over the training forward of `input`, whose last
// targets.size() positions predict `targets`.
eval::ContinuationScore token_reference(const model::Weights& w, const std::vector<int32_t>& input,
                                        const std::vector<int32_t>& targets) {
  model::Runner r(w, model::Runner::Mode::kInference);
  Batch b;
  b.B = 1, b.T = static_cast<int64_t>(input.size()), b.inputs = input;
  r.forward(b);
  auto logits = r.logits_host();
  const int64_t V = w.config().vocab_size, n = static_cast<int64_t>(targets.size());
  eval::ContinuationScore s{0, true, n};
  for (int64_t t = 0; t < n; ++t) {
    const float* row = logits.data() + (b.T - n + t) * V;
    double m = row[0], z = 0;
    int64_t best = 0;
    for (int64_t v = 1; v < V; ++v)
      if (row[v] > m) m = row[v], best = v;
    for (int64_t v = 0; v < V; ++v) z += std::exp(row[v] - m);
    s.loglikelihood += row[targets[t]] - m - std::log(z);
    s.greedy = s.greedy && best == targets[t];
  }
  return s;
}

eval::ContinuationScore reference(const model::Weights& w, const std::string& ctx, const std::string& cont,
                                  int64_t L) {
  auto p = eval::encode_pair(bytes_tok(), ctx, cont, static_cast<int32_t>(w.config().bos_token_id));
  std::vector<int32_t> whole = p.context;
  whole.insert(whole.end(), p.continuation.begin(), p.continuation.end());
  if (static_cast<int64_t>(whole.size()) > L + 1) whole.erase(whole.begin(), whole.end() - (L + 1));
  return token_reference(w, std::vector<int32_t>(whole.begin(), whole.end() - 1), p.continuation);
}

std::vector<eval::LoglikelihoodRequest> requests() {
  return {{{"Question: 2+2?\nAnswer:"}, {" 4", " five", " 22"}},
          {{"문장: 비가 온다 "}, {"우산", "선글라스를 쓴다", "집", "물"}},  // trailing space moves
          {{""}, {"Hello world", "Goodbye"}},                                 // empty context: prefix token
          {{"A rather long context that the window of forty tokens cannot hold whole"}, {" end", " finish"}},
          {{"Dessert:"}, {" apple pie", " apple tart"}},  // continuations sharing their first tokens
          {{"Sarah beat Maria so Sarah", "Sarah beat Maria so Maria"}, {" won"}},  // partial scoring
          {{"x"}, {"y"}}};
}

TEST(EncodePair, MovesTrailingSpaceAndUsesThePrefixTokenForEmptyContexts) {
  const auto& t = bytes_tok();
  auto p = eval::encode_pair(t, "Answer: ", "yes", 7);
  EXPECT_EQ(p.context, t.encode("Answer:"));
  EXPECT_EQ(p.continuation, t.encode(" yes"));
  auto q = eval::encode_pair(t, "끝\u3000", "말", 7);  // an ideographic space counts as whitespace
  EXPECT_EQ(q.context, t.encode("끝"));
  EXPECT_EQ(q.continuation, t.encode("\u3000말"));
  auto e = eval::encode_pair(t, "", "abc", 7);
  EXPECT_EQ(e.context, std::vector<int32_t>{7});
  EXPECT_EQ(e.continuation, t.encode("abc"));
}

TEST(LoglikelihoodScorer, EqualsTheTrainingForwardWithSharedContexts) {
  Fixture f;
  auto reqs = requests();
  const int64_t L = 40;
  eval::LoglikelihoodScorer scorer(f.w, bytes_tok());
  int64_t last_progress = 0;
  auto got = scorer.score(reqs, [&](int64_t d) { last_progress = d; });
  EXPECT_EQ(last_progress, static_cast<int64_t>(reqs.size()));
  ASSERT_EQ(got.size(), reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i)
    for (size_t j = 0; j < reqs[i].size(); ++j) {
      auto ref = reference(f.w, reqs[i].context(j), reqs[i].continuation(j), L);
      EXPECT_NEAR(got[i][j].loglikelihood, ref.loglikelihood, 1e-4) << i << "," << j;
      EXPECT_EQ(got[i][j].greedy, ref.greedy) << i << "," << j;
      EXPECT_EQ(got[i][j].tokens, ref.tokens);
    }
  // Small batches (one item per forward, two slots) give the same scores.
  eval::LoglikelihoodScorer small(f.w, bytes_tok(), {.batch_tokens = 1, .max_sequences = 2});
  auto again = small.score(reqs);
  for (size_t i = 0; i < reqs.size(); ++i)
    for (size_t j = 0; j < reqs[i].size(); ++j)
      EXPECT_NEAR(again[i][j].loglikelihood, got[i][j].loglikelihood, 1e-4);
}

TEST(LoglikelihoodScorer, TheModelsOwnNextTokenIsGreedyAndNoOtherIs) {
  Fixture f;
  const std::string ctx = "abc";
  model::Runner r(f.w, model::Runner::Mode::kInference);
  Batch b;
  b.B = 1, b.T = 3, b.inputs = bytes_tok().encode(ctx);
  r.forward(b);
  auto logits = r.logits_host();
  const int64_t V = tiny().vocab_size;
  const float* last = logits.data() + 2 * V;
  const int64_t next = std::max_element(last, last + V) - last;
  const std::string next_text = bytes_tok().decode(std::vector<int32_t>{static_cast<int32_t>(next)});
  ASSERT_EQ(next_text.size(), 1u) << "the fixture's greedy token should be one byte";
  std::vector<eval::LoglikelihoodRequest> reqs = {{{ctx}, {next_text, next_text == "q" ? "r" : "q"}}};
  auto got = eval::LoglikelihoodScorer(f.w, bytes_tok()).score(reqs);
  EXPECT_TRUE(got[0][0].greedy);
  EXPECT_FALSE(got[0][1].greedy);
  EXPECT_GT(got[0][0].loglikelihood, got[0][1].loglikelihood);
}

TEST(LoglikelihoodScorer, RefusesItemsItCannotScore) {
  Fixture f;
  eval::LoglikelihoodScorer scorer(f.w, bytes_tok());
  std::vector<eval::LoglikelihoodRequest> none = {{{"ctx"}, {}}};
  EXPECT_THROW(scorer.score(none), Error);
  std::vector<eval::LoglikelihoodRequest> mismatched = {{{"a", "b"}, {"c", "d", "e"}}};
  EXPECT_THROW(scorer.score(mismatched), Error);
  std::vector<eval::LoglikelihoodRequest> empty = {{{"ctx"}, {""}}};
  EXPECT_THROW(scorer.score(empty), Error);
  std::vector<eval::LoglikelihoodRequest> too_long = {{{"c"}, {std::string(41, 'z')}}};
  EXPECT_THROW(scorer.score(too_long), Error);
}

TEST(RollingWindows, AsLmEvalsGetRollingTokenWindows) {
  // Python: [make_disjoint_window(w) for w in get_rolling_token_windows(list(range(10)), 99, 4, 1)]
  //   → ([99], [0, 1, 2, 3]), ([3], [4, 5, 6, 7]), ([5, 6, 7], [8, 9]); inputs are context + targets[:-1].
  std::vector<int32_t> t(10);
  for (int i = 0; i < 10; ++i) t[i] = i;
  auto w = eval::rolling_windows(t, 99, 4);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].input, (std::vector<int32_t>{99, 0, 1, 2}));
  EXPECT_EQ(w[0].targets, (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(w[1].input, (std::vector<int32_t>{3, 4, 5, 6}));
  EXPECT_EQ(w[1].targets, (std::vector<int32_t>{4, 5, 6, 7}));
  EXPECT_EQ(w[2].input, (std::vector<int32_t>{5, 6, 7, 8}));
  EXPECT_EQ(w[2].targets, (std::vector<int32_t>{8, 9}));
  auto one = eval::rolling_windows(std::vector<int32_t>{0, 1, 2}, 99, 4);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].input, (std::vector<int32_t>{99, 0, 1}));
  EXPECT_TRUE(eval::rolling_windows({}, 99, 4).empty());
}

TEST(LoglikelihoodScorer, RollingIsTheSumOfItsWindowsScoredByTheTrainingForward) {
  Fixture f;
  const std::vector<std::string> texts = {"짧은 글.", std::string(100, 'a') + " and a long tail of text over windows",
                                          ""};
  const int64_t L = 16;
  eval::LoglikelihoodScorer scorer(f.w, bytes_tok(), {.max_length = L, .batch_tokens = 40, .max_sequences = 3});
  int64_t last = 0;
  auto got = scorer.score_rolling(texts, [&](int64_t d) { last = d; });
  EXPECT_EQ(last, 3);
  ASSERT_EQ(got.size(), 3u);
  const auto prefix = static_cast<int32_t>(f.w.config().bos_token_id);
  for (size_t i = 0; i < texts.size(); ++i) {
    double want = 0;
    const auto windows = eval::rolling_windows(bytes_tok().encode(texts[i]), prefix, L);
    if (i == 1) {
      EXPECT_GT(windows.size(), 5u);
    }
    for (const auto& w : windows) want += token_reference(f.w, w.input, w.targets).loglikelihood;
    EXPECT_NEAR(got[i].loglikelihood, want, 1e-4) << i;
    EXPECT_EQ(got[i].tokens, static_cast<int64_t>(bytes_tok().encode(texts[i]).size())) << i;  // each predicted once
  }
  EXPECT_EQ(got[2].loglikelihood, 0.0);  // no tokens, nothing predicted
}

}  // namespace loglikelihood_test
