#include "kormo/infer/decoder.h"

#include <algorithm>
#include <iterator>

#include "kormo/model/runner.h"
#include "kormo/util/error.h"
#include "kormo/util/profile.h"

namespace kormo::infer {

Decoder::Decoder(const model::Weights& w, KvCache& cache, model::Precision precision)
    : w_(w), cache_(cache), be_(w.backend()), precision_(precision) {
  if (precision_ == model::Precision::kBf16) {
    // The weights are const for an inference decoder's lifetime: convert once.
    wbf_ = backend::Array<uint16_t>(be_, w.size());
    be_.to_bf16(wbf_.data(), w.data(), w.size());
  }
  std::vector<float> cs, sn;
  model::rope_tables(w.config(), cache.capacity(), cs, sn);
  rope_cos_ = backend::Array<float>(be_, static_cast<int64_t>(cs.size()));
  rope_sin_ = backend::Array<float>(be_, static_cast<int64_t>(sn.size()));
  rope_cos_.upload(cs.data(), static_cast<int64_t>(cs.size()));
  rope_sin_.upload(sn.data(), static_cast<int64_t>(sn.size()));
}

void Decoder::linear(float* out, const float* inp, int64_t woff, int64_t rows, int64_t in, int64_t out_dim) {
  if (precision_ == model::Precision::kFp32) {
    OpTimer tm("matmul");
    be_.matmul_forward(out, inp, w_.data() + woff, rows, in, out_dim);
    return;
  }
  inp_bf_.ensure(be_, rows * in);
  {
    OpTimer tm("to_bf16");
    be_.to_bf16(inp_bf_.data(), inp, rows * in);
  }
  OpTimer tm("matmul");
  be_.matmul_forward_bf16(out, inp_bf_.data(), wbf_.data() + woff, rows, in, out_dim);
}

std::vector<float> Decoder::forward_host(std::span<const Chunk> chunks, bool all_positions) {
  const float* logits = forward(chunks, all_positions);
  std::vector<float> h(static_cast<size_t>(logit_rows_ * w_.config().vocab_size));
  be_.copy_to_host(h.data(), logits, h.size() * sizeof(float));
  return h;
}

const float* Decoder::forward(std::span<const Chunk> chunks, bool all_positions) {
  const model::ModelConfig& cfg = w_.config();
  const model::ParameterLayout& Lo = w_.layout();
  const int64_t S = static_cast<int64_t>(chunks.size()), C = cfg.hidden_size, nh = cfg.num_heads,
                nkv = cfg.num_kv_heads, hd = cfg.head_dim, Q = nh * hd, KV = nkv * hd, QKV = Q + 2 * KV,
                F = cfg.intermediate_size, V = cfg.vocab_size;
  if (S == 0) fail("decoder forward needs at least one sequence");
  // Check everything before touching the cache, so a bad request leaves it as it was.
  rows_.assign(1, 0);
  past_.clear();
  slots_.clear();
  tokens_host_.clear();
  pos_host_.clear();
  for (const Chunk& ch : chunks) {
    const int64_t n = static_cast<int64_t>(ch.tokens.size()), past = cache_.length(ch.slot);
    if (n == 0) fail("decoder forward: slot {} was given no tokens", ch.slot);
    if (std::find(slots_.begin(), slots_.end(), ch.slot) != slots_.end())
      fail("decoder forward: slot {} appears twice in one step", ch.slot);
    if (past + n > cache_.capacity())
      fail("sequence of {} tokens exceeds the context of {} tokens", past + n, cache_.capacity());
    for (int64_t i = 0; i < n; ++i) {
      const int32_t t = ch.tokens[i];
      if (t < 0 || t >= V) fail("token {} is outside the vocabulary (size {})", t, V);
      tokens_host_.push_back(t);
      pos_host_.push_back(static_cast<int32_t>(past + i));
    }
    rows_.push_back(static_cast<int32_t>(rows_.back() + n));
    past_.push_back(static_cast<int32_t>(past));
    slots_.push_back(ch.slot);
  }
  const int64_t N = rows_.back(), R = all_positions ? N : S;
  logit_rows_ = R;

  // Activation slices, 64-byte aligned, carved from one buffer that only grows.
  const int64_t sizes[] = {N * C, N * C, N * C, N, N * QKV, N * Q, N * C, N * 2 * F, N * F, R * C, R * C, R, R * V};
  int64_t total = 0;
  for (int64_t s : sizes) total += (s + 15) / 16 * 16;
  acts_.ensure(be_, total);
  float* p[std::size(sizes)];
  {
    float* base = acts_.data();
    for (size_t i = 0; i < std::size(sizes); ++i) p[i] = base, base += (sizes[i] + 15) / 16 * 16;
  }
  float *x = p[0], *x2 = p[1], *ln = p[2], *rstd = p[3], *qkv = p[4], *att = p[5], *branch = p[6], *gu = p[7],
        *h = p[8], *last = p[9], *lnf = p[10], *rstdf = p[11], *logits = p[12];
  tokens_.ensure(be_, N);
  pos_.ensure(be_, N);
  tokens_.upload(tokens_host_.data(), N);
  pos_.upload(pos_host_.data(), N);

  const float* P = w_.data();
  const float eps = static_cast<float>(cfg.rms_eps);
  const float *cs = rope_cos_.data(), *sn = rope_sin_.data();
  {
    OpTimer tm("embedding");
    be_.embedding_forward(x, tokens_.data(), P + Lo.embed, N, C);
  }
  for (int64_t l = 0; l < cfg.num_layers; ++l) {
    const model::LayerOffsets& o = Lo.layers[l];
    float* kc = cache_.k(l);
    {
      OpTimer tm("rmsnorm");
      be_.rmsnorm_forward(ln, rstd, x, P + o.ln1, N, C, eps);
    }
    linear(qkv, ln, o.wq, N, C, QKV);
    {
      OpTimer tm("rope");
      be_.rope_forward(qkv, QKV, pos_.data(), cs, sn, N, nh, hd);
      be_.rope_forward(qkv + Q, QKV, pos_.data(), cs, sn, N, nkv, hd);
    }
    {
      // K and V sit side by side in a qkv row and in a cache row: one copy per token.
      OpTimer tm("kv_cache");
      for (int64_t s = 0; s < S; ++s)
        for (int64_t r = rows_[s]; r < rows_[s + 1]; ++r)
          be_.copy(kc + slots_[s] * cache_.slot_stride() + (past_[s] + r - rows_[s]) * cache_.row_stride(),
                   qkv + r * QKV + Q, static_cast<size_t>(2 * KV) * sizeof(float));
    }
    {
      OpTimer tm("attention");
      be_.attention_cached(att, qkv, QKV, kc, cache_.v(l), cache_.row_stride(), cache_.slot_stride(), rows_.data(),
                           past_.data(), slots_.data(), S, nh, nkv, hd);
    }
    linear(branch, att, o.wo, N, Q, C);
    {
      OpTimer tm("residual");
      be_.residual_forward(x2, x, branch, N * C);
    }
    {
      OpTimer tm("rmsnorm");
      be_.rmsnorm_forward(ln, rstd, x2, P + o.ln2, N, C, eps);
    }
    linear(gu, ln, o.wg, N, C, 2 * F);
    {
      OpTimer tm("swiglu");
      be_.swiglu_forward(h, gu, N, F);
    }
    linear(branch, h, o.wd, N, F, C);
    {
      OpTimer tm("residual");
      be_.residual_forward(x, x2, branch, N * C);
    }
  }
  const float* final_rows = x;
  if (!all_positions) {
    for (int64_t s = 0; s < S; ++s)
      be_.copy(last + s * C, x + (rows_[s + 1] - 1) * C, static_cast<size_t>(C) * sizeof(float));
    final_rows = last;
  }
  {
    OpTimer tm("rmsnorm");
    be_.rmsnorm_forward(lnf, rstdf, final_rows, P + Lo.norm, R, C, eps);
  }
  linear(logits, lnf, Lo.head, R, C, V);
  for (int64_t s = 0; s < S; ++s) cache_.advance(slots_[s], rows_[s + 1] - rows_[s]);
  return logits;
}

}  // namespace kormo::infer
