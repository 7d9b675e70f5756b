#include "kormo/infer/sampler.h"

#include <algorithm>
#include <cmath>

#include "kormo/util/error.h"

namespace kormo::infer {

void validate(const SamplingParams& p) {
  if (!(p.temperature >= 0) || !std::isfinite(p.temperature))
    fail_usage("temperature must be ≥ 0 (got {})", p.temperature);
  if (p.top_k < 0) fail_usage("top_k must be ≥ 0 (got {})", p.top_k);
  if (!(p.top_p > 0 && p.top_p <= 1)) fail_usage("top_p must be in (0, 1] (got {})", p.top_p);
  if (!(p.min_p >= 0 && p.min_p <= 1)) fail_usage("min_p must be in [0, 1] (got {})", p.min_p);
  if (!(p.repetition_penalty > 0) || !std::isfinite(p.repetition_penalty))
    fail_usage("repetition_penalty must be > 0 (got {})", p.repetition_penalty);
  if (!std::isfinite(p.frequency_penalty) || !std::isfinite(p.presence_penalty))
    fail_usage("frequency and presence penalties must be finite");
}

Sampler::Sampler(const SamplingParams& p, int64_t vocab_size) : p_(p), V_(vocab_size), rng_(p.seed) {
  validate(p);
  if (vocab_size <= 0) fail("sampler needs a vocabulary (size {})", vocab_size);
  work_.resize(static_cast<size_t>(V_));
  counts_.assign(static_cast<size_t>(V_), 0);
  cand_.reserve(static_cast<size_t>(V_));
}

namespace {
// Most likely first; lower id first among equals, so the order is total.
bool more_likely(const std::pair<int32_t, float>& a, const std::pair<int32_t, float>& b) {
  return a.second > b.second || (a.second == b.second && a.first < b.first);
}
// Keeps the first `keep` candidates and rescales them to sum to 1.
void truncate_renormalise(std::vector<std::pair<int32_t, float>>& c, size_t keep) {
  c.resize(std::max<size_t>(keep, 1));
  double sum = 0;
  for (auto& [t, p] : c) sum += p;
  for (auto& [t, p] : c) p = static_cast<float>(p / sum);
}
}  // namespace

std::span<const std::pair<int32_t, float>> Sampler::distribution(const float* logits, std::span<const int32_t> prompt,
                                                                std::span<const int32_t> generated) {
  std::copy_n(logits, V_, work_.begin());
  auto check = [&](int32_t t) {
    if (t < 0 || t >= V_) fail("token {} is outside the vocabulary (size {})", t, V_);
  };
  // counts_ doubles as the "already penalised" mark for the repetition penalty (bit 30),
  // and is left all-zero for the next call.
  if (p_.repetition_penalty != 1.0) {
    const float rp = static_cast<float>(p_.repetition_penalty);
    for (auto ids : {prompt, generated})
      for (int32_t t : ids) {
        check(t);
        if (counts_[t] & (1 << 30)) continue;
        counts_[t] |= 1 << 30;
        work_[t] = work_[t] < 0 ? work_[t] * rp : work_[t] / rp;
      }
    for (auto ids : {prompt, generated})
      for (int32_t t : ids) counts_[t] = 0;
  }
  if (p_.frequency_penalty != 0.0 || p_.presence_penalty != 0.0) {
    for (int32_t t : generated) check(t), ++counts_[t];
    for (int32_t t : generated)
      if (counts_[t] > 0) {
        work_[t] -= static_cast<float>(p_.frequency_penalty * counts_[t] + p_.presence_penalty);
        counts_[t] = 0;
      }
  }
  cand_.clear();
  if (p_.temperature == 0.0) {
    cand_.emplace_back(static_cast<int32_t>(std::max_element(work_.begin(), work_.end()) - work_.begin()), 1.f);
    return cand_;
  }
  const float inv_t = static_cast<float>(1.0 / p_.temperature);
  for (int64_t i = 0; i < V_; ++i) cand_.emplace_back(static_cast<int32_t>(i), work_[i] * inv_t);
  if (p_.top_k > 0 && p_.top_k < V_) {
    std::partial_sort(cand_.begin(), cand_.begin() + p_.top_k, cand_.end(), more_likely);
    cand_.resize(static_cast<size_t>(p_.top_k));
  } else {
    std::sort(cand_.begin(), cand_.end(), more_likely);
  }
  // Softmax over the survivors (max first, so exp never overflows).
  const float mx = cand_.front().second;
  double sum = 0;
  for (auto& [t, v] : cand_) sum += std::exp(static_cast<double>(v) - mx);
  for (auto& [t, v] : cand_) v = static_cast<float>(std::exp(static_cast<double>(v) - mx) / sum);
  if (p_.top_p < 1.0) {
    // A token stays while the probability of the tokens before it is below top_p.
    double before = 0;
    size_t keep = 0;
    while (keep < cand_.size() && before < p_.top_p) before += cand_[keep++].second;
    truncate_renormalise(cand_, keep);
  }
  if (p_.min_p > 0.0) {
    const double floor = p_.min_p * cand_.front().second;
    size_t keep = 0;
    while (keep < cand_.size() && cand_[keep].second >= floor) ++keep;
    truncate_renormalise(cand_, keep);
  }
  return cand_;
}

int32_t Sampler::sample(const float* logits, std::span<const int32_t> prompt, std::span<const int32_t> generated) {
  auto dist = distribution(logits, prompt, generated);
  if (dist.size() == 1) return dist.front().first;
  double u = rng_.uniform(), acc = 0;
  for (const auto& [t, p] : dist) {
    acc += p;
    if (u < acc) return t;
  }
  return dist.back().first;  // u above the float sum's rounding
}

TokenLogprob token_logprob(const float* logits, int64_t vocab_size, int32_t token, int64_t top) {
  if (token < 0 || token >= vocab_size) fail("token {} is outside the vocabulary (size {})", token, vocab_size);
  const float mx = *std::max_element(logits, logits + vocab_size);
  double sum = 0;
  for (int64_t i = 0; i < vocab_size; ++i) sum += std::exp(static_cast<double>(logits[i]) - mx);
  const double lse = mx + std::log(sum);
  TokenLogprob r;
  r.token = token;
  r.logprob = static_cast<float>(logits[token] - lse);
  top = std::min(top, vocab_size);
  if (top > 0) {
    std::vector<std::pair<int32_t, float>> all(static_cast<size_t>(vocab_size));
    for (int64_t i = 0; i < vocab_size; ++i) all[i] = {static_cast<int32_t>(i), logits[i]};
    std::partial_sort(all.begin(), all.begin() + top, all.end(), more_likely);
    for (int64_t i = 0; i < top; ++i) r.top.emplace_back(all[i].first, static_cast<float>(all[i].second - lse));
  }
  return r;
}

}  // namespace kormo::infer
