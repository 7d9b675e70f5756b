#include "kormo/model/model.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "kormo/model/ops.h"
#include "kormo/model/profile.h"
#include "kormo/util/error.h"
#include "kormo/util/rng.h"

namespace kormo::model {

OpProfile& op_profile() {
  static OpProfile p;
  return p;
}

std::vector<int32_t> doc_ids_from_bos(const std::vector<int32_t>& tokens, int64_t B, int64_t T, int32_t bos_id) {
  std::vector<int32_t> doc(static_cast<size_t>(B * T));
  for (int64_t b = 0; b < B; ++b) {
    int32_t d = 0;
    for (int64_t t = 0; t < T; ++t) {
      if (tokens[b * T + t] == bos_id) ++d;
      doc[b * T + t] = d;
    }
  }
  return doc;
}

std::vector<TensorInfo> parameter_layout(const ModelConfig& c) {
  const int64_t C = c.hidden_size, Q = c.num_heads * c.head_dim, KV = c.num_kv_heads * c.head_dim,
                F = c.intermediate_size;
  std::vector<TensorInfo> t;
  int64_t off = 0;
  auto add = [&](std::string name, std::vector<int64_t> shape, bool decay) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    t.push_back({std::move(name), std::move(shape), off, n, decay});
    off += n;
  };
  add("model.embed_tokens.weight", {c.vocab_size, C}, false);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {C}, false);
    add(p + "self_attn.q_proj.weight", {Q, C}, true);
    add(p + "self_attn.k_proj.weight", {KV, C}, true);
    add(p + "self_attn.v_proj.weight", {KV, C}, true);
    add(p + "self_attn.o_proj.weight", {C, Q}, true);
    add(p + "post_attention_layernorm.weight", {C}, false);
    add(p + "mlp.gate_proj.weight", {F, C}, true);
    add(p + "mlp.up_proj.weight", {F, C}, true);
    add(p + "mlp.down_proj.weight", {C, F}, true);
  }
  add("model.norm.weight", {C}, false);
  // The LM head is a linear layer and is decayed, as in the released KORMo/HF trainer
  // convention (no decay only for embeddings and norm weights).
  add("lm_head.weight", {c.vocab_size, C}, true);
  return t;
}

// Pointers into the flat parameter (or gradient) buffer for one layer.
struct Model::Layer {
  float *ln1, *wq, *wk, *wv, *wo, *ln2, *wg, *wu, *wd;
  static Layer at(float* base, const std::vector<TensorInfo>& t, int64_t l) {
    const TensorInfo* p = &t[1 + 9 * l];
    return {base + p[0].offset, base + p[1].offset, base + p[2].offset, base + p[3].offset, base + p[4].offset,
            base + p[5].offset, base + p[6].offset, base + p[7].offset, base + p[8].offset};
  }
};

// Views into the flat activation buffer for a (B, T) shape: what forward saves for
// backward, then the gradient scratch shared by all layers.
struct Model::Acts {
  struct LayerActs {
    float *ln1, *rstd1, *qkv, *att, *lse, *res2, *ln2, *rstd2, *gu, *h;
  };
  std::vector<float*> resid;  // [L+1][N,C]: layer inputs, resid[L] the last layer's output
  std::vector<LayerActs> layers;
  float *lnf, *rstdf, *logits, *losses, *ce_lse;
  float *dres_a, *dres_b, *dbranch, *dln, *dh, *dgu, *datt, *dqkv;

  static int64_t carve(const ModelConfig& c, int64_t B, int64_t T, float* base, Acts* a) {
    const int64_t N = B * T, C = c.hidden_size, Q = c.num_heads * c.head_dim, KV = c.num_kv_heads * c.head_dim,
                  F = c.intermediate_size;
    int64_t off = 0;
    auto take = [&](int64_t n) {
      float* p = base ? base + off : nullptr;
      off += (n + 15) / 16 * 16;  // 64-byte aligned slices
      return p;
    };
    if (a) a->resid.clear(), a->layers.clear();
    for (int64_t l = 0; l <= c.num_layers; ++l) {
      float* r = take(N * C);
      if (a) a->resid.push_back(r);
    }
    for (int64_t l = 0; l < c.num_layers; ++l) {
      LayerActs la{take(N * C), take(N),     take(N * (Q + 2 * KV)), take(N * Q),     take(B * c.num_heads * T),
                   take(N * C), take(N * C), take(N),                take(N * 2 * F), take(N * F)};
      if (a) a->layers.push_back(la);
    }
    float* f[13];
    int64_t sizes[13] = {N * C, N,     N * c.vocab_size, N, N, N * C, N * C, N * C, N * C, N * F, N * 2 * F,
                         N * Q, N * (Q + 2 * KV)};
    for (int i = 0; i < 13; ++i) f[i] = take(sizes[i]);
    if (a) {
      a->lnf = f[0], a->rstdf = f[1], a->logits = f[2], a->losses = f[3], a->ce_lse = f[4];
      a->dres_a = f[5], a->dres_b = f[6], a->dbranch = f[7], a->dln = f[8], a->dh = f[9], a->dgu = f[10];
      a->datt = f[11], a->dqkv = f[12];
    }
    return off;
  }
};

Model::Model(const ModelConfig& c) : cfg_(c), tensors_(parameter_layout(c)) {
  validate(c, "model config");
  const TensorInfo& last = tensors_.back();
  params_.assign(static_cast<size_t>(last.offset + last.size), 0.f);
  grads_.assign(params_.size(), 0.f);
}

const TensorInfo& Model::tensor(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return t;
  fail("model has no tensor named '{}'", name);
}

void Model::init_weights(uint64_t seed) {
  Rng rng(seed);
  for (const auto& t : tensors_) {
    float* p = params_.data() + t.offset;
    if (t.shape.size() == 1) {
      std::fill_n(p, t.size, 1.f);
    } else {
      for (int64_t i = 0; i < t.size; ++i) p[i] = static_cast<float>(rng.normal() * cfg_.init_std);
    }
  }
}

void Model::zero_grads() {
  const int64_t n = static_cast<int64_t>(grads_.size());
  float* g = grads_.data();
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) g[i] = 0.f;
}

void Model::ensure_activations(int64_t B, int64_t T) {
  if (T > cfg_.max_seq_len) fail("sequence length {} exceeds the model's max_seq_len {}", T, cfg_.max_seq_len);
  if (B == B_ && T == T_) return;
  acts_.assign(static_cast<size_t>(Acts::carve(cfg_, B, T, nullptr, nullptr)), 0.f);
  B_ = B, T_ = T;
  // RoPE table for positions 0..T-1, computed in fp32 the way transformers does it
  // (inv_freq = 1/theta^(2i/hd), angle = pos · inv_freq), so checkpoints match HF.
  const int64_t half = cfg_.head_dim / 2;
  rope_cos_.resize(static_cast<size_t>(T * half));
  rope_sin_.resize(rope_cos_.size());
  for (int64_t i = 0; i < half; ++i) {
    float inv = 1.0f / std::pow(static_cast<float>(cfg_.rope_theta),
                                static_cast<float>(2 * i) / static_cast<float>(cfg_.head_dim));
    for (int64_t p = 0; p < T; ++p) {
      float ang = static_cast<float>(p) * inv;
      rope_cos_[p * half + i] = std::cos(ang);
      rope_sin_[p * half + i] = std::sin(ang);
    }
  }
}

void Model::prepare_positions(const Batch& batch) {
  const int64_t B = batch.B, T = batch.T, N = B * T;
  if (static_cast<int64_t>(batch.inputs.size()) != N || static_cast<int64_t>(batch.targets.size()) != N ||
      static_cast<int64_t>(batch.doc.size()) != N)
    fail("batch arrays must hold B·T = {} entries", N);
  pos_.resize(N);
  seg_start_.resize(N);
  for (int64_t b = 0; b < B; ++b) {
    int64_t start = 0;
    for (int64_t t = 0; t < T; ++t) {
      int64_t n = b * T + t;
      if (t > 0 && batch.doc[n] != batch.doc[n - 1]) {
        if (batch.doc[n] < batch.doc[n - 1]) fail("batch row {}: document ids must not decrease (position {})", b, t);
        start = t;
      }
      seg_start_[n] = static_cast<int32_t>(start);
      pos_[n] = static_cast<int32_t>(t - start);
    }
  }
  for (int64_t n = 0; n < N; ++n) {
    if (batch.inputs[n] < 0 || batch.inputs[n] >= cfg_.vocab_size)
      fail("batch token {} at position {} is outside the vocabulary (size {})", batch.inputs[n], n, cfg_.vocab_size);
    if (batch.targets[n] >= cfg_.vocab_size)
      fail("batch target {} at position {} is outside the vocabulary (size {})", batch.targets[n], n, cfg_.vocab_size);
  }
}

double Model::forward(const Batch& batch, float z_loss) {
  const int64_t B = batch.B, T = batch.T, N = B * T, C = cfg_.hidden_size, nh = cfg_.num_heads,
                nkv = cfg_.num_kv_heads, hd = cfg_.head_dim, Q = nh * hd, KV = nkv * hd, QKV = Q + 2 * KV,
                F = cfg_.intermediate_size, V = cfg_.vocab_size;
  ensure_activations(B, T);
  prepare_positions(batch);
  z_loss_ = z_loss;
  Acts a;
  Acts::carve(cfg_, B, T, acts_.data(), &a);
  float* P = params_.data();
  {
    OpTimer tm("embedding");
    embedding_forward(a.resid[0], batch.inputs.data(), P + tensors_[0].offset, N, C);
  }
  for (int64_t l = 0; l < cfg_.num_layers; ++l) {
    Layer w = Layer::at(P, tensors_, l);
    const Acts::LayerActs& s = a.layers[l];
    {
      OpTimer tm("rmsnorm");
      rmsnorm_forward(s.ln1, s.rstd1, a.resid[l], w.ln1, N, C, static_cast<float>(cfg_.rms_eps));
    }
    {
      // q_proj, k_proj and v_proj are adjacent in the flat buffer: one GEMM computes all three.
      OpTimer tm("matmul");
      matmul_forward(s.qkv, s.ln1, w.wq, N, C, QKV);
    }
    {
      OpTimer tm("rope");
      rope_forward(s.qkv, QKV, pos_.data(), rope_cos_.data(), rope_sin_.data(), N, nh, hd);
      rope_forward(s.qkv + Q, QKV, pos_.data(), rope_cos_.data(), rope_sin_.data(), N, nkv, hd);
    }
    {
      OpTimer tm("attention");
      attention_forward(s.att, s.lse, s.qkv, s.qkv + Q, s.qkv + Q + KV, QKV, QKV, seg_start_.data(), B, T, nh, nkv,
                        hd);
    }
    {
      OpTimer tm("matmul");
      matmul_forward(a.dbranch, s.att, w.wo, N, Q, C);
    }
    {
      OpTimer tm("residual");
      residual_forward(s.res2, a.resid[l], a.dbranch, N * C);
    }
    {
      OpTimer tm("rmsnorm");
      rmsnorm_forward(s.ln2, s.rstd2, s.res2, w.ln2, N, C, static_cast<float>(cfg_.rms_eps));
    }
    {
      // gate_proj and up_proj are adjacent too: one GEMM gives rows [gate | up].
      OpTimer tm("matmul");
      matmul_forward(s.gu, s.ln2, w.wg, N, C, 2 * F);
    }
    {
      OpTimer tm("swiglu");
      swiglu_forward(s.h, s.gu, N, F);
    }
    {
      OpTimer tm("matmul");
      matmul_forward(a.dbranch, s.h, w.wd, N, F, C);
    }
    {
      OpTimer tm("residual");
      residual_forward(a.resid[l + 1], s.res2, a.dbranch, N * C);
    }
  }
  const TensorInfo& normf = tensors_[tensors_.size() - 2];
  const TensorInfo& head = tensors_.back();
  {
    OpTimer tm("rmsnorm");
    rmsnorm_forward(a.lnf, a.rstdf, a.resid[cfg_.num_layers], P + normf.offset, N, C,
                    static_cast<float>(cfg_.rms_eps));
  }
  {
    OpTimer tm("matmul");
    matmul_forward(a.logits, a.lnf, P + head.offset, N, C, V);
  }
  {
    OpTimer tm("crossentropy");
    crossentropy_forward(a.losses, a.ce_lse, a.logits, batch.targets.data(), N, V, z_loss);
  }
  double sum = 0;
  for (int64_t n = 0; n < N; ++n) sum += a.losses[n];
  return sum;
}

void Model::backward(const Batch& batch, const std::vector<float>& weight) {
  const int64_t B = batch.B, T = batch.T, N = B * T, C = cfg_.hidden_size, nh = cfg_.num_heads,
                nkv = cfg_.num_kv_heads, hd = cfg_.head_dim, Q = nh * hd, KV = nkv * hd, QKV = Q + 2 * KV,
                F = cfg_.intermediate_size, V = cfg_.vocab_size;
  if (B != B_ || T != T_ || static_cast<int64_t>(weight.size()) != N)
    fail("backward needs the batch of the preceding forward and one weight per position");
  Acts a;
  Acts::carve(cfg_, B, T, acts_.data(), &a);
  float* P = params_.data();
  float* G = grads_.data();
  const TensorInfo& normf = tensors_[tensors_.size() - 2];
  const TensorInfo& head = tensors_.back();
  float* dcur = a.dres_a;
  float* dnext = a.dres_b;
  {
    OpTimer tm("crossentropy");
    crossentropy_backward(a.logits, a.logits, a.ce_lse, batch.targets.data(), weight.data(), N, V, z_loss_);
  }
  {
    OpTimer tm("matmul");
    matmul_backward(a.dln, G + head.offset, a.logits, a.lnf, P + head.offset, N, C, V, false);
  }
  {
    OpTimer tm("rmsnorm");
    std::fill_n(dcur, N * C, 0.f);
    rmsnorm_backward(dcur, G + normf.offset, a.dln, a.resid[cfg_.num_layers], P + normf.offset, a.rstdf, N, C);
  }
  for (int64_t l = cfg_.num_layers - 1; l >= 0; --l) {
    Layer w = Layer::at(P, tensors_, l);
    Layer dw = Layer::at(G, tensors_, l);
    const Acts::LayerActs& s = a.layers[l];
    // dcur = ∂/∂resid[l+1]; resid[l+1] = res2 + mlp_out.
    {
      OpTimer tm("residual");
      std::fill_n(dnext, N * C, 0.f);
      std::fill_n(a.dbranch, N * C, 0.f);
      residual_backward(dnext, a.dbranch, dcur, N * C);
    }
    {
      OpTimer tm("matmul");
      matmul_backward(a.dh, dw.wd, a.dbranch, s.h, w.wd, N, F, C, false);
    }
    {
      OpTimer tm("swiglu");
      swiglu_backward(a.dgu, a.dh, s.gu, N, F);
    }
    {
      OpTimer tm("matmul");
      matmul_backward(a.dln, dw.wg, a.dgu, s.ln2, w.wg, N, C, 2 * F, false);
    }
    {
      OpTimer tm("rmsnorm");
      rmsnorm_backward(dnext, dw.ln2, a.dln, s.res2, w.ln2, s.rstd2, N, C);
    }
    std::swap(dcur, dnext);
    // dcur = ∂/∂res2; res2 = resid[l] + attn_out.
    {
      OpTimer tm("residual");
      std::fill_n(dnext, N * C, 0.f);
      std::fill_n(a.dbranch, N * C, 0.f);
      residual_backward(dnext, a.dbranch, dcur, N * C);
    }
    {
      OpTimer tm("matmul");
      matmul_backward(a.datt, dw.wo, a.dbranch, s.att, w.wo, N, Q, C, false);
    }
    {
      OpTimer tm("attention");
      attention_backward(a.dqkv, a.dqkv + Q, a.dqkv + Q + KV, a.datt, s.att, s.lse, s.qkv, s.qkv + Q,
                         s.qkv + Q + KV, QKV, QKV, seg_start_.data(), B, T, nh, nkv, hd);
    }
    {
      OpTimer tm("rope");
      rope_backward(a.dqkv, QKV, pos_.data(), rope_cos_.data(), rope_sin_.data(), N, nh, hd);
      rope_backward(a.dqkv + Q, QKV, pos_.data(), rope_cos_.data(), rope_sin_.data(), N, nkv, hd);
    }
    {
      OpTimer tm("matmul");
      matmul_backward(a.dln, dw.wq, a.dqkv, s.ln1, w.wq, N, C, QKV, false);
    }
    {
      OpTimer tm("rmsnorm");
      rmsnorm_backward(dnext, dw.ln1, a.dln, a.resid[l], w.ln1, s.rstd1, N, C);
    }
    std::swap(dcur, dnext);
  }
  {
    OpTimer tm("embedding");
    embedding_backward(G + tensors_[0].offset, dcur, batch.inputs.data(), N, C);
  }
}

const float* Model::logits() const {
  Acts a;
  Acts::carve(cfg_, B_, T_, const_cast<float*>(acts_.data()), &a);
  return a.logits;
}

const float* Model::losses() const {
  Acts a;
  Acts::carve(cfg_, B_, T_, const_cast<float*>(acts_.data()), &a);
  return a.losses;
}

}  // namespace kormo::model
