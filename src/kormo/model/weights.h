// The decoder's weights: config, named tensor table and one flat fp32 buffer in
// backend memory. Nothing else — no gradients, no activations — so loading a model
// for inference costs its weight bytes and no more.
//
// Promises:
//  - Layout as in layout.h (HF tensor names, named offsets).
//  - Readers (any number of Runners, threads) share a `const Weights&`; only the
//    trainer's optimizer writes through data().
//  - size() is the parameter count; the buffer may be longer (capacity(), see pad_to) for
//    device collectives, with zeros past size() that no reader, writer or file sees.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kormo/backend/backend.h"
#include "kormo/model/config.h"
#include "kormo/model/layout.h"

namespace kormo::model {

class Weights {
 public:
  // Zero-filled weights for `c` in `be`'s memory.
  Weights(const ModelConfig& c, backend::Backend& be);

  const ModelConfig& config() const { return cfg_; }
  const ParameterLayout& layout() const { return layout_; }
  backend::Backend& backend() const { return data_.backend(); }
  const float* data() const { return data_.data(); }
  float* data() { return data_.data(); }
  int64_t size() const { return layout_.total; }
  // Elements allocated: size(), or more after pad_to.
  int64_t capacity() const { return data_.size(); }
  // Grows the buffer to `capacity` elements, zeros past size() (no-op when it holds that
  // many): NCCL's reduce-scatter and all-gather work on whole shards (dist::padded_length).
  // A training Runner sizes its gradients by capacity(), so pad before making one.
  void pad_to(int64_t capacity);

  // Normal(0, init_std) for embeddings and linear weights, 1 for norm weights, from a
  // deterministic generator (same seed → same weights on every backend).
  void init_random(uint64_t seed);
  // A host copy of the whole buffer (a view-free copy even on the CPU backend).
  std::vector<float> to_host() const;

 private:
  ModelConfig cfg_;
  ParameterLayout layout_;
  backend::Array<float> data_;
};

}  // namespace kormo::model
