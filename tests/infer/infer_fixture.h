// A tiny random model and the training forward as the reference the inference path is
// checked against (tests/infer/*).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "kormo/model/runner.h"
#include "kormo/model/weights.h"

namespace kormo::infer_test {

inline model::ModelConfig tiny() {
  model::ModelConfig c;
  c.vocab_size = 97, c.hidden_size = 48, c.intermediate_size = 96, c.num_layers = 3, c.num_heads = 6,
  c.num_kv_heads = 2, c.head_dim = 8, c.max_seq_len = 64;
  c.init_std = 0.2;  // large weights: sharp distributions, so greedy ties are unlikely
  return c;
}

struct Fixture {
  model::Weights w{tiny(), backend::cpu()};
  Fixture() { w.init_random(7); }
};

// The training forward (model::Runner) over a whole sequence: logits at every position.
inline std::vector<float> full_logits(const model::Weights& w, const std::vector<int32_t>& seq,
                                      model::Precision p = model::Precision::kFp32) {
  model::Runner r(w, model::Runner::Mode::kInference, p);
  Batch b;
  b.B = 1, b.T = static_cast<int64_t>(seq.size()), b.inputs = seq;
  r.forward(b);
  return r.logits_host();
}

inline float max_abs_diff(const float* a, const float* b, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

inline int32_t argmax(const float* l, int64_t n) { return static_cast<int32_t>(std::max_element(l, l + n) - l); }

}  // namespace kormo::infer_test
