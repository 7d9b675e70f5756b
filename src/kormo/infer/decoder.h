// The decoder's inference forward over a KV cache: each call appends new tokens to any
// number of sequences (whole prompts, single decode tokens, or a mix) in one batched
// pass, and returns logits.
//
// Promises:
//  - Same weights, same math as model::Runner's forward (RMSNorm, fused QKV and
//    gate/up GEMMs, RoPE tables from model::rope_tables, SwiGLU): logits agree with the
//    training forward on the whole sequence to float rounding.
//  - All projections of all chunks run as one GEMM each; attention reads the cache
//    (Backend::attention_cached).
//  - Buffers only grow: once the largest step has run, later steps allocate nothing.
//  - Precision::kBf16 runs the projections and lm_head as model::Runner's bf16 mode does
//    (bf16 weight copy made once here, bf16 GEMM inputs, fp32 accumulation and everything
//    else fp32), so its logits match a bf16 Runner's to float rounding.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kormo/backend/backend.h"
#include "kormo/infer/kv_cache.h"
#include "kormo/model/runner.h"
#include "kormo/model/weights.h"

namespace kormo::infer {

// New tokens for one sequence (cache slot).
struct Chunk {
  int32_t slot = -1;
  std::span<const int32_t> tokens;
};

class Decoder {
 public:
  Decoder(const model::Weights& w, KvCache& cache, model::Precision precision = model::Precision::kFp32);

  // Writes the chunks' keys/values into their slots (after what each holds) and
  // computes logits: [chunks, V], each chunk's last token, or with all_positions
  // [Σ tokens, V] in chunk order. The pointer (backend memory) is valid until the next
  // call. Throws Error for an empty chunk, a token outside the vocabulary or a slot
  // that would overflow the cache; the cache is then unchanged.
  const float* forward(std::span<const Chunk> chunks, bool all_positions = false);
  std::vector<float> forward_host(std::span<const Chunk> chunks, bool all_positions = false);

  const model::Weights& weights() const { return w_; }
  KvCache& cache() { return cache_; }

 private:
  const model::Weights& w_;
  KvCache& cache_;
  backend::Backend& be_;
  model::Precision precision_;
  // out[rows, OC] = inp · W[woff]ᵀ in the decoder's precision.
  void linear(float* out, const float* inp, int64_t woff, int64_t rows, int64_t in, int64_t out_dim);
  backend::Array<float> rope_cos_, rope_sin_, acts_;
  backend::Array<uint16_t> wbf_, inp_bf_;  // bf16: the weights' copy and one GEMM input
  backend::Array<int32_t> tokens_, pos_;
  std::vector<int32_t> tokens_host_, pos_host_, rows_, past_, slots_;
  int64_t logit_rows_ = 0;
};

}  // namespace kormo::infer
