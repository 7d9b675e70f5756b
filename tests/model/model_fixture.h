// A small training model and random batches for the Runner's tests (tests/model,
// tests/train): two layers, GQA, 16-wide heads.
#pragma once

#include <cstdint>

#include "kormo/model/runner.h"
#include "kormo/util/rng.h"

namespace kormo::model_test {

inline model::ModelConfig tiny() {
  model::ModelConfig c;
  c.vocab_size = 96, c.hidden_size = 64, c.intermediate_size = 128, c.num_layers = 2, c.num_heads = 4,
  c.num_kv_heads = 2, c.head_dim = 16, c.max_seq_len = 64;
  return c;
}

// B rows of T random tokens below V, each row holding two documents, every 7th target
// ignored (-1).
inline Batch batch(int64_t B, int64_t T, int64_t V, uint64_t seed) {
  Rng r(seed);
  Batch b;
  b.B = B, b.T = T;
  for (int64_t n = 0; n < B * T; ++n) {
    b.inputs.push_back(static_cast<int32_t>(r.next_u64() % V));
    b.targets.push_back(n % 7 == 3 ? -1 : static_cast<int32_t>(r.next_u64() % V));
    b.doc.push_back(static_cast<int32_t>(n % T >= T / 2));
  }
  return b;
}

}  // namespace kormo::model_test
