// Turning a row of logits into the next token: the usual processors, then a seeded draw.
//
// Promises:
//  - Processors run in this order: repetition penalty (transformers' form: over prompt
//    and generated tokens, a positive logit divided by it, a negative one multiplied),
//    frequency and presence penalties (OpenAI's form: over generated tokens, logit −=
//    frequency·count + presence·[count > 0]), temperature, top-k, top-p (the smallest
//    set of most likely tokens whose probability reaches top_p), min-p (tokens below
//    min_p × the top probability dropped).
//  - temperature 0 is greedy: the arg-max after the penalties (lowest id on ties).
//  - Same params (seed included) and the same sequence of calls → the same tokens, on
//    every machine (kormo::Rng, no std:: distributions).
//  - After warm-up a call allocates nothing.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "kormo/util/rng.h"

namespace kormo::infer {

struct SamplingParams {
  double temperature = 1.0;  // 0: greedy
  int64_t top_k = 0;         // 0: off
  double top_p = 1.0;        // 1: off
  double min_p = 0.0;        // 0: off
  double repetition_penalty = 1.0;
  double frequency_penalty = 0.0;
  double presence_penalty = 0.0;
  uint64_t seed = 0;
};

// Throws a usage Error naming the field when a value is out of range.
void validate(const SamplingParams& p);

class Sampler {
 public:
  Sampler(const SamplingParams& p, int64_t vocab_size);

  // The next token for `logits` (vocab_size raw model logits); `prompt` and
  // `generated` feed the penalties.
  int32_t sample(const float* logits, std::span<const int32_t> prompt, std::span<const int32_t> generated);

  // The distribution sample() draws from, as (token, probability) pairs in decreasing
  // probability (greedy: the arg-max with probability 1). Valid until the next call.
  std::span<const std::pair<int32_t, float>> distribution(const float* logits, std::span<const int32_t> prompt,
                                                         std::span<const int32_t> generated);

 private:
  SamplingParams p_;
  int64_t V_;
  Rng rng_;
  std::vector<float> work_;                       // penalised logits
  std::vector<int32_t> counts_;                   // generated-token counts, reset after use
  std::vector<std::pair<int32_t, float>> cand_;   // candidates, most likely first
};

// log-softmax of a logits row (the model's own distribution, before any processor):
// the chosen token's log-probability and the `top` most likely alternatives.
struct TokenLogprob {
  int32_t token = -1;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // decreasing
};
TokenLogprob token_logprob(const float* logits, int64_t vocab_size, int32_t token, int64_t top);

}  // namespace kormo::infer
