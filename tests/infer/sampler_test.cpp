#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "kormo/infer/sampler.h"
#include "kormo/util/error.h"

using namespace kormo::infer;

namespace sampler_test {
// Logits whose softmax is exactly `p` (up to normalisation).
std::vector<float> logits_of(const std::vector<double>& p) {
  std::vector<float> l;
  for (double x : p) l.push_back(static_cast<float>(std::log(x)));
  return l;
}
std::map<int32_t, double> dist(Sampler& s, const std::vector<float>& l, std::vector<int32_t> prompt = {},
                               std::vector<int32_t> gen = {}) {
  std::map<int32_t, double> m;
  for (auto [t, p] : s.distribution(l.data(), prompt, gen)) m[t] = p;
  return m;
}
SamplingParams params(double temperature = 1.0) {
  SamplingParams p;
  p.temperature = temperature;
  return p;
}

TEST(Sampler, PlainSoftmaxInDecreasingOrder) {
  Sampler s(params(), 4);
  auto l = logits_of({0.1, 0.4, 0.2, 0.3});
  auto d = s.distribution(l.data(), {}, {});
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].first, 1);
  EXPECT_EQ(d[3].first, 0);
  EXPECT_NEAR(d[0].second, 0.4, 1e-6);
  EXPECT_NEAR(d[3].second, 0.1, 1e-6);
}

TEST(Sampler, TemperatureSharpensAsPowers) {
  // softmax(log p / T) ∝ p^(1/T): T = 0.5 squares the probabilities.
  Sampler s(params(0.5), 3);
  auto d = dist(s, logits_of({0.2, 0.3, 0.5}));
  const double z = 0.04 + 0.09 + 0.25;
  EXPECT_NEAR(d[0], 0.04 / z, 1e-6);
  EXPECT_NEAR(d[2], 0.25 / z, 1e-6);
}

TEST(Sampler, TopKKeepsTheKMostLikely) {
  SamplingParams p = params();
  p.top_k = 2;
  Sampler s(p, 4);
  auto d = dist(s, logits_of({0.1, 0.4, 0.2, 0.3}));
  ASSERT_EQ(d.size(), 2u);
  EXPECT_NEAR(d[1], 0.4 / 0.7, 1e-6);
  EXPECT_NEAR(d[3], 0.3 / 0.7, 1e-6);
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  SamplingParams p = params();
  p.top_p = 0.75;  // 0.4 + 0.3 = 0.7 < 0.75, so 0.2 joins; 0.1 does not
  Sampler s(p, 4);
  auto d = dist(s, logits_of({0.1, 0.4, 0.2, 0.3}));
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d.count(0), 0u);
  EXPECT_NEAR(d[2], 0.2 / 0.9, 1e-6);
}

TEST(Sampler, MinPDropsTokensBelowAFractionOfTheTop) {
  SamplingParams p = params();
  p.min_p = 0.6;  // threshold 0.24: keeps 0.4 and 0.3
  Sampler s(p, 4);
  auto d = dist(s, logits_of({0.1, 0.4, 0.2, 0.3}));
  ASSERT_EQ(d.size(), 2u);
  EXPECT_NEAR(d[1], 0.4 / 0.7, 1e-6);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeOnce) {
  SamplingParams p = params(0);
  p.repetition_penalty = 2.0;
  Sampler s(p, 3);
  // Token 0 (logit 3) is in the prompt and output twice: 3/2 = 1.5 < 2 → token 1 wins.
  std::vector<float> l = {3.f, 2.f, -1.f};
  EXPECT_EQ(s.distribution(l.data(), std::vector<int32_t>{0}, std::vector<int32_t>{0, 0})[0].first, 1);
  // Penalising token 1 as well (2 → 1): token 0 at 1.5 wins again; negative ones get more negative.
  SamplingParams q = p;
  q.temperature = 1;
  Sampler t(q, 3);
  auto d = dist(t, l, {0, 1, 2}, {});
  const double z = std::exp(1.5) + std::exp(1.0) + std::exp(-2.0);
  EXPECT_NEAR(d[0], std::exp(1.5) / z, 1e-6);
  EXPECT_NEAR(d[2], std::exp(-2.0) / z, 1e-6);
}

TEST(Sampler, FrequencyAndPresencePenaltiesCountOnlyTheOutput) {
  SamplingParams p = params();
  p.frequency_penalty = 0.5;
  p.presence_penalty = 0.25;
  Sampler s(p, 3);
  std::vector<float> l = {1.f, 1.f, 1.f};
  // Token 0 twice in the output: 1 − 2·0.5 − 0.25; token 1 only in the prompt: untouched.
  auto d = dist(s, l, {1}, {0, 0, 2});
  const double a = std::exp(-0.25), b = std::exp(1.0), c = std::exp(1 - 0.5 - 0.25), z = a + b + c;
  EXPECT_NEAR(d[0], a / z, 1e-6);
  EXPECT_NEAR(d[1], b / z, 1e-6);
  EXPECT_NEAR(d[2], c / z, 1e-6);
  // The counts do not leak into the next call.
  auto e = dist(s, l);
  EXPECT_NEAR(e[0], 1.0 / 3, 1e-6);
}

TEST(Sampler, GreedyTakesTheArgMaxLowestIdOnTies) {
  Sampler s(params(0), 4);
  std::vector<float> l = {0.f, 5.f, 5.f, 1.f};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.sample(l.data(), {}, {}), 1);
}

TEST(Sampler, SameSeedSameTokensAndFrequenciesFollowTheDistribution) {
  SamplingParams p = params();
  p.seed = 42;
  auto l = logits_of({0.1, 0.4, 0.2, 0.3});
  Sampler a(p, 4), b(p, 4);
  std::vector<int> counts(4, 0);
  std::vector<int32_t> ra, rb;
  for (int i = 0; i < 20000; ++i) {
    ra.push_back(a.sample(l.data(), {}, {}));
    rb.push_back(b.sample(l.data(), {}, {}));
    ++counts[ra.back()];
  }
  EXPECT_EQ(ra, rb);
  EXPECT_NEAR(counts[1] / 20000.0, 0.4, 0.015);
  EXPECT_NEAR(counts[0] / 20000.0, 0.1, 0.015);
  p.seed = 43;
  Sampler c(p, 4);
  std::vector<int32_t> rc;
  for (int i = 0; i < 20000; ++i) rc.push_back(c.sample(l.data(), {}, {}));
  EXPECT_NE(ra, rc);
}

TEST(Sampler, RejectsBadParameters) {
  SamplingParams p;
  p.top_p = 0;
  EXPECT_THROW(Sampler(p, 4), kormo::Error);
  p = {};
  p.temperature = -1;
  EXPECT_THROW(Sampler(p, 4), kormo::Error);
  p = {};
  p.repetition_penalty = 0;
  EXPECT_THROW(Sampler(p, 4), kormo::Error);
}

TEST(TokenLogprob, IsTheLogSoftmaxWithTopAlternatives) {
  std::vector<float> l = {1.f, 3.f, 2.f};
  const double lse = std::log(std::exp(1.0) + std::exp(3.0) + std::exp(2.0));
  TokenLogprob r = token_logprob(l.data(), 3, 0, 2);
  EXPECT_NEAR(r.logprob, 1 - lse, 1e-6);
  ASSERT_EQ(r.top.size(), 2u);
  EXPECT_EQ(r.top[0].first, 1);
  EXPECT_NEAR(r.top[0].second, 3 - lse, 1e-6);
  EXPECT_EQ(r.top[1].first, 2);
}

}  // namespace sampler_test
