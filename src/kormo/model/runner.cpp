#include "kormo/model/runner.h"

#include <algorithm>
#include <cmath>

#include "kormo/util/error.h"
#include "kormo/util/profile.h"

namespace kormo::model {

// Views into the flat activation buffer for one Shape. Training keeps every layer's
// input for backward, and without recomputation every layer's saved tensors too;
// inference points all layers at one set and alternates two residual buffers.
struct Runner::Acts {
  struct Layer {
    float *ln1, *rstd1, *qkv, *att, *lse, *res2, *ln2, *rstd2, *gu, *h;
    // bf16 runs: the bf16 copies of the four GEMM inputs.
    uint16_t *ln1_bf = nullptr, *att_bf = nullptr, *ln2_bf = nullptr, *h_bf = nullptr;
  };
  std::vector<float*> resid;  // [L+1][N,C]: layer inputs, resid[L] the last layer's output
  std::vector<Layer> layers;
  // logits: logit_rows rows (all positions, each row's last, or one loss chunk).
  float *lnf, *rstdf, *logits, *losses, *ce_lse, *branch;
  // Gradient scratch shared by all layers (training only).
  float *dres_a = nullptr, *dres_b = nullptr, *dln = nullptr, *dh = nullptr, *dgu = nullptr, *datt = nullptr,
        *dqkv = nullptr;
  // bf16 runs: the final norm's output and one output gradient at a time, in bf16.
  uint16_t *lnf_bf = nullptr, *dout_bf = nullptr;

  // Returns the floats needed; fills `a` with pointers into `base` when given.
  static int64_t carve(const ModelConfig& c, const Shape& sh, float* base, Acts* a) {
    const int64_t N = sh.B * sh.T, C = c.hidden_size, Q = c.num_heads * c.head_dim, KV = c.num_kv_heads * c.head_dim,
                  F = c.intermediate_size, L = c.num_layers, sets = sh.layer_sets(c);
    int64_t off = 0;
    auto take = [&](int64_t n) {
      float* p = base ? base + off : nullptr;
      off += (n + 15) / 16 * 16;  // 64-byte aligned slices
      return p;
    };
    std::vector<float*> resid;
    for (int64_t l = 0; l < (sh.training ? L + 1 : 2); ++l) resid.push_back(take(N * C));
    std::vector<Layer> layers;
    for (int64_t l = 0; l < sets; ++l)
      layers.push_back({take(N * C), take(N), take(N * (Q + 2 * KV)), take(N * Q), take(sh.B * c.num_heads * sh.T),
                        take(N * C), take(N * C), take(N), take(N * 2 * F), take(N * F)});
    Acts s;
    s.lnf = take(N * C), s.rstdf = take(N), s.logits = take(sh.logit_rows * c.vocab_size), s.losses = take(N),
    s.ce_lse = take(N), s.branch = take(N * C);
    if (sh.training) {
      s.dres_a = take(N * C), s.dres_b = take(N * C), s.dln = take(N * C), s.dh = take(N * F),
      s.dgu = take(N * 2 * F), s.datt = take(N * Q), s.dqkv = take(N * (Q + 2 * KV));
    }
    if (a) {
      for (int64_t l = 0; l <= L; ++l) s.resid.push_back(resid[sh.training ? l : l % 2]);
      for (int64_t l = 0; l < L; ++l) s.layers.push_back(layers[l % sets]);
      *a = std::move(s);
    }
    return off;
  }

  // The bf16 area of a bf16 run, laid out like carve(); sets the *_bf pointers of a
  // carved `a` when `base` is given.
  static int64_t carve_bf16(const ModelConfig& c, const Shape& sh, uint16_t* base, Acts* a) {
    const int64_t N = sh.B * sh.T, C = c.hidden_size, Q = c.num_heads * c.head_dim, KV = c.num_kv_heads * c.head_dim,
                  F = c.intermediate_size, L = c.num_layers, sets = sh.layer_sets(c);
    int64_t off = 0;
    auto take = [&](int64_t n) {
      uint16_t* p = base ? base + off : nullptr;
      off += (n + 31) / 32 * 32;  // 64-byte aligned slices
      return p;
    };
    for (int64_t set = 0; set < sets; ++set) {
      uint16_t *ln1 = take(N * C), *att = take(N * Q), *ln2 = take(N * C), *h = take(N * F);
      if (!a) continue;
      for (int64_t j = set; j < L; j += sets)
        a->layers[j].ln1_bf = ln1, a->layers[j].att_bf = att, a->layers[j].ln2_bf = ln2, a->layers[j].h_bf = h;
    }
    uint16_t* lnf = take(N * C);
    uint16_t* dout =
        sh.training ? take(std::max({N * (Q + 2 * KV), N * 2 * F, N * C, sh.logit_rows * c.vocab_size})) : nullptr;
    if (a) a->lnf_bf = lnf, a->dout_bf = dout;
    return off;
  }
};

Precision parse_precision(const std::string& s, const std::string& what) {
  if (s == "fp32") return Precision::kFp32;
  if (s == "bf16") return Precision::kBf16;
  fail_usage("{}: precision must be \"fp32\" or \"bf16\" (got \"{}\")", what, s);
}

void rope_tables(const ModelConfig& cfg, int64_t T, std::vector<float>& cs, std::vector<float>& sn) {
  // Computed in fp32 the way transformers does it (inv_freq = 1/theta^(2i/hd),
  // angle = pos · inv_freq), so checkpoints match HF.
  const int64_t half = cfg.head_dim / 2;
  cs.assign(static_cast<size_t>(T * half), 0.f);
  sn.assign(cs.size(), 0.f);
  for (int64_t i = 0; i < half; ++i) {
    float inv = 1.0f / std::pow(static_cast<float>(cfg.rope_theta),
                                static_cast<float>(2 * i) / static_cast<float>(cfg.head_dim));
    for (int64_t p = 0; p < T; ++p) {
      float ang = static_cast<float>(p) * inv;
      cs[p * half + i] = std::cos(ang);
      sn[p * half + i] = std::sin(ang);
    }
  }
}

Runner::Runner(const Weights& w, Mode mode, Precision precision, const RunnerOptions& opts)
    : w_(w), be_(w.backend()), mode_(mode), precision_(precision), opts_(opts) {
  if (opts.loss_chunk_rows < 0) fail("loss_chunk_rows must be at least 0 (0 = automatic), got {}", opts.loss_chunk_rows);
  // At the weights' capacity: the padding (Weights::pad_to) stays zero (zero_grads covers
  // it, backward never writes past size()) for the collectives that read whole shards.
  if (mode == Mode::kTraining) grads_ = backend::Array<float>(be_, w.capacity());
}

Runner::~Runner() = default;

void Runner::zero_grads() {
  if (mode_ != Mode::kTraining) fail("zero_grads needs a training Runner");
  be_.fill(grads_.data(), 0.f, grads_.size());
}

void Runner::prepare(const Batch& batch, bool with_targets, bool keep_logits) {
  const ModelConfig& cfg = w_.config();
  const int64_t B = batch.B, T = batch.T, N = B * T;
  if (B <= 0 || T <= 0) fail("batch shape must be positive (B={}, T={})", B, T);
  if (T > cfg.max_seq_len) fail("sequence length {} exceeds the model's max_seq_len {}", T, cfg.max_seq_len);
  if (static_cast<int64_t>(batch.inputs.size()) != N || (with_targets && static_cast<int64_t>(batch.targets.size()) != N) ||
      (!batch.doc.empty() && static_cast<int64_t>(batch.doc.size()) != N))
    fail("batch arrays must hold B·T = {} entries (inputs {}, targets {}, doc {})", N, batch.inputs.size(),
         batch.targets.size(), batch.doc.size());
  for (int64_t n = 0; n < N; ++n) {
    if (batch.inputs[n] < 0 || batch.inputs[n] >= cfg.vocab_size)
      fail("batch token {} at position {} is outside the vocabulary (size {})", batch.inputs[n], n, cfg.vocab_size);
    if (with_targets && batch.targets[n] >= cfg.vocab_size)
      fail("batch target {} at position {} is outside the vocabulary (size {})", batch.targets[n], n, cfg.vocab_size);
  }
  pos_host_.resize(N);
  seg_host_.resize(N);
  for (int64_t b = 0; b < B; ++b) {
    int64_t start = 0;
    for (int64_t t = 0; t < T; ++t) {
      const int64_t n = b * T + t;
      if (t > 0 && !batch.doc.empty() && batch.doc[n] != batch.doc[n - 1]) {
        if (batch.doc[n] < batch.doc[n - 1]) fail("batch row {}: document ids must not decrease (position {})", b, t);
        start = t;
      }
      seg_host_[n] = static_cast<int32_t>(start);
      pos_host_[n] = static_cast<int32_t>(t - start);
    }
  }
  const bool training = mode_ == Mode::kTraining;
  // Training with targets: the LM head runs over chunks of rows; only an inference
  // forward, or one asked to keep them, holds every row's logits.
  const bool chunked = training && with_targets;
  const int64_t chunk = !chunked ? N : opts_.loss_chunk_rows > 0 ? std::min(opts_.loss_chunk_rows, N)
                                                                 : loss_chunk_rows(cfg, N);
  const int64_t logit_rows = last_only_ ? B : chunked && !keep_logits ? chunk : N;
  shape_ = {training, training && opts_.recompute, B, T, logit_rows};
  const int64_t floats = Acts::carve(cfg, shape_, nullptr, nullptr),
                bf16s = precision_ == Precision::kBf16 ? Acts::carve_bf16(cfg, shape_, nullptr, nullptr) : 0;
  used_bytes_ = floats * static_cast<int64_t>(sizeof(float)) + bf16s * static_cast<int64_t>(sizeof(uint16_t));
  acts_.ensure(be_, floats);
  if (precision_ == Precision::kBf16) {
    acts_bf_.ensure(be_, bf16s);
    if (shadow_stale_) {
      OpTimer tm("to_bf16");
      wbf_.ensure(be_, w_.size());
      be_.to_bf16(wbf_.data(), w_.data(), w_.size());
      shadow_stale_ = false;
    }
  }
  for (auto* a : {&inputs_, &targets_, &pos_, &seg_start_}) a->ensure(be_, N);
  inputs_.upload(batch.inputs.data(), N);
  if (with_targets) targets_.upload(batch.targets.data(), N);
  pos_.upload(pos_host_.data(), N);
  seg_start_.upload(seg_host_.data(), N);
  if (rope_T_ < T) {
    const int64_t half = cfg.head_dim / 2;
    std::vector<float> cs, sn;
    rope_tables(cfg, T, cs, sn);
    rope_cos_ = backend::Array<float>(be_, T * half);
    rope_sin_ = backend::Array<float>(be_, T * half);
    rope_cos_.upload(cs.data(), T * half);
    rope_sin_.upload(sn.data(), T * half);
    rope_T_ = T;
  }
  B_ = B, T_ = T, logits_rows_ = logit_rows, chunk_rows_ = last_only_ ? B : chunk;
  kept_logits_ = logit_rows == (last_only_ ? B : N);
}

double Runner::forward(const Batch& batch, const ForwardOptions& opts) {
  const ModelConfig& cfg = w_.config();
  const ParameterLayout& L = w_.layout();
  const bool with_targets = !batch.targets.empty() && !opts.last_only;
  last_only_ = opts.last_only;
  have_targets_ = with_targets;
  z_loss_ = opts.z_loss;
  prepare(batch, with_targets, opts.keep_logits);
  const int64_t B = batch.B, T = batch.T, N = B * T, C = cfg.hidden_size, V = cfg.vocab_size;
  const float eps = static_cast<float>(cfg.rms_eps);
  const Acts a = carve();
  const float* P = w_.data();
  {
    OpTimer tm("embedding");
    be_.embedding_forward(a.resid[0], inputs_.data(), P + L.embed, N, C);
  }
  for (int64_t l = 0; l < cfg.num_layers; ++l) layer_forward(a, l, false);
  {
    OpTimer tm("rmsnorm");
    be_.rmsnorm_forward(a.lnf, a.rstdf, a.resid[cfg.num_layers], P + L.norm, N, C, eps);
  }
  losses_ = nullptr;
  // Null when not asked for, even where one chunk happens to hold every row: callers
  // must not depend on the batch size.
  logits_ = mode_ == Mode::kInference || !with_targets || opts.keep_logits ? a.logits : nullptr;
  if (opts.last_only) {
    // Row b's last position sits at lnf[(b·T + T−1)·C]: a strided GEMM.
    if (precision_ == Precision::kBf16) {
      to_bf16(a.lnf_bf, a.lnf, N * C);
      OpTimer tm("matmul");
      be_.gemm_bf16(false, true, B, V, C, a.lnf_bf + (T - 1) * C, T * C, wbf_.data() + L.head, C, false, a.logits,
                    V);
    } else {
      OpTimer tm("matmul");
      be_.gemm(false, true, B, V, C, 1.f, a.lnf + (T - 1) * C, T * C, P + L.head, C, 0.f, a.logits, V);
    }
    return 0.0;
  }
  for (int64_t r0 = 0; r0 < N; r0 += chunk_rows_) {
    const int64_t rows = std::min(chunk_rows_, N - r0);
    float* logits = kept_logits_ ? a.logits + r0 * V : a.logits;
    head_forward(logits, a, r0, rows);
    if (!with_targets) continue;
    OpTimer tm("crossentropy");
    be_.crossentropy_forward(a.losses + r0, a.ce_lse + r0, logits, targets_.data() + r0, rows, V, opts.z_loss);
  }
  if (!with_targets) return 0.0;
  losses_ = a.losses;
  return be_.sum(a.losses, N);
}

void Runner::layer_forward(const Acts& a, int64_t l, bool recompute) {
  const ModelConfig& cfg = w_.config();
  const int64_t B = B_, T = T_, N = B * T, C = cfg.hidden_size, nh = cfg.num_heads, nkv = cfg.num_kv_heads,
                hd = cfg.head_dim, Q = nh * hd, KV = nkv * hd, QKV = Q + 2 * KV, F = cfg.intermediate_size;
  const float eps = static_cast<float>(cfg.rms_eps);
  const float* P = w_.data();
  const LayerOffsets& o = w_.layout().layers[l];
  const Acts::Layer& s = a.layers[l];
  const int32_t* pos = pos_.data();
  const float *cs = rope_cos_.data(), *sn = rope_sin_.data();
  {
    OpTimer tm("rmsnorm");
    be_.rmsnorm_forward(s.ln1, s.rstd1, a.resid[l], P + o.ln1, N, C, eps);
  }
  // q_proj, k_proj and v_proj are adjacent in the flat buffer: one GEMM computes all three.
  linear_forward(s.qkv, s.ln1, s.ln1_bf, o.wq, N, C, QKV);
  {
    OpTimer tm("rope");
    be_.rope_forward(s.qkv, QKV, pos, cs, sn, N, nh, hd);
    be_.rope_forward(s.qkv + Q, QKV, pos, cs, sn, N, nkv, hd);
  }
  {
    OpTimer tm("attention");
    be_.attention_forward(s.att, s.lse, s.qkv, s.qkv + Q, s.qkv + Q + KV, QKV, QKV, seg_start_.data(), B, T, nh, nkv,
                          hd);
  }
  linear_forward(a.branch, s.att, s.att_bf, o.wo, N, Q, C);
  {
    OpTimer tm("residual");
    be_.residual_forward(s.res2, a.resid[l], a.branch, N * C);
  }
  {
    OpTimer tm("rmsnorm");
    be_.rmsnorm_forward(s.ln2, s.rstd2, s.res2, P + o.ln2, N, C, eps);
  }
  // gate_proj and up_proj are adjacent too: one GEMM gives rows [gate | up].
  linear_forward(s.gu, s.ln2, s.ln2_bf, o.wg, N, C, 2 * F);
  {
    OpTimer tm("swiglu");
    be_.swiglu_forward(s.h, s.gu, N, F);
  }
  if (recompute) {
    // Backward needs down_proj's input, not its output (resid[l+1] is kept).
    if (precision_ == Precision::kBf16) to_bf16(s.h_bf, s.h, N * F);
    return;
  }
  linear_forward(a.branch, s.h, s.h_bf, o.wd, N, F, C);
  {
    OpTimer tm("residual");
    be_.residual_forward(a.resid[l + 1], s.res2, a.branch, N * C);
  }
}

void Runner::head_forward(float* out, const Acts& a, int64_t r0, int64_t rows) {
  const int64_t C = w_.config().hidden_size;
  linear_forward(out, a.lnf + r0 * C, a.lnf_bf ? a.lnf_bf + r0 * C : nullptr, w_.layout().head, rows, C,
                 w_.config().vocab_size);
}

Runner::Acts Runner::carve() {
  Acts a;
  Acts::carve(w_.config(), shape_, acts_.data(), &a);
  if (precision_ == Precision::kBf16) Acts::carve_bf16(w_.config(), shape_, acts_bf_.data(), &a);
  return a;
}

void Runner::backward(const Batch& batch, const std::vector<float>& weight) {
  const ModelConfig& cfg = w_.config();
  const ParameterLayout& L = w_.layout();
  const int64_t B = batch.B, T = batch.T, N = B * T, C = cfg.hidden_size, nh = cfg.num_heads,
                nkv = cfg.num_kv_heads, hd = cfg.head_dim, Q = nh * hd, KV = nkv * hd, QKV = Q + 2 * KV,
                F = cfg.intermediate_size, V = cfg.vocab_size;
  if (mode_ != Mode::kTraining) fail("backward needs a training Runner");
  if (!have_targets_ || B != B_ || T != T_ || static_cast<int64_t>(weight.size()) != N)
    fail("backward needs the batch of the preceding forward (with targets) and one weight per position");
  weight_.ensure(be_, N);
  weight_.upload(weight.data(), N);
  const Acts a = carve();
  dout_bf_ = a.dout_bf;
  const float* P = w_.data();
  float* G = grads_.data();
  const int32_t* pos = pos_.data();
  const float *cs = rope_cos_.data(), *sn = rope_sin_.data();
  float* dcur = a.dres_a;
  float* dnext = a.dres_b;
  // For out = in + branch(in): both the stream (dnext) and the branch get dcur.
  auto split_residual_grad = [&] {
    OpTimer tm("residual");
    be_.fill(dnext, 0.f, N * C);
    be_.fill(a.branch, 0.f, N * C);
    be_.residual_backward(dnext, a.branch, dcur, N * C);
  };
  // Last chunk first: unless every row's logits were kept, the buffer still holds the
  // last chunk's from forward, and the others are recomputed.
  const int64_t chunks = (N + chunk_rows_ - 1) / chunk_rows_;
  for (int64_t k = chunks - 1; k >= 0; --k) {
    const int64_t r0 = k * chunk_rows_, rows = std::min(chunk_rows_, N - r0);
    float* logits = kept_logits_ ? a.logits + r0 * V : a.logits;
    if (!kept_logits_ && k != chunks - 1) head_forward(logits, a, r0, rows);
    {
      OpTimer tm("crossentropy");
      be_.crossentropy_backward(logits, logits, a.ce_lse + r0, targets_.data() + r0, weight_.data() + r0, rows, V,
                                z_loss_);
    }
    linear_backward(a.dln + r0 * C, logits, a.lnf + r0 * C, a.lnf_bf ? a.lnf_bf + r0 * C : nullptr, L.head, rows, C,
                    V);
  }
  {
    OpTimer tm("rmsnorm");
    be_.fill(dcur, 0.f, N * C);
    be_.rmsnorm_backward(dcur, G + L.norm, a.dln, a.resid[cfg.num_layers], P + L.norm, a.rstdf, N, C);
  }
  for (int64_t l = cfg.num_layers - 1; l >= 0; --l) {
    const LayerOffsets& o = L.layers[l];
    const Acts::Layer& s = a.layers[l];
    if (shape_.recompute) layer_forward(a, l, true);
    // dcur = ∂/∂resid[l+1]; resid[l+1] = res2 + mlp_out.
    split_residual_grad();
    linear_backward(a.dh, a.branch, s.h, s.h_bf, o.wd, N, F, C);
    {
      OpTimer tm("swiglu");
      be_.swiglu_backward(a.dgu, a.dh, s.gu, N, F);
    }
    linear_backward(a.dln, a.dgu, s.ln2, s.ln2_bf, o.wg, N, C, 2 * F);
    {
      OpTimer tm("rmsnorm");
      be_.rmsnorm_backward(dnext, G + o.ln2, a.dln, s.res2, P + o.ln2, s.rstd2, N, C);
    }
    std::swap(dcur, dnext);
    // dcur = ∂/∂res2; res2 = resid[l] + attn_out.
    split_residual_grad();
    linear_backward(a.datt, a.branch, s.att, s.att_bf, o.wo, N, Q, C);
    {
      OpTimer tm("attention");
      be_.attention_backward(a.dqkv, a.dqkv + Q, a.dqkv + Q + KV, a.datt, s.att, s.lse, s.qkv, s.qkv + Q,
                             s.qkv + Q + KV, QKV, QKV, seg_start_.data(), B, T, nh, nkv, hd);
    }
    {
      OpTimer tm("rope");
      be_.rope_backward(a.dqkv, QKV, pos, cs, sn, N, nh, hd);
      be_.rope_backward(a.dqkv + Q, QKV, pos, cs, sn, N, nkv, hd);
    }
    linear_backward(a.dln, a.dqkv, s.ln1, s.ln1_bf, o.wq, N, C, QKV);
    {
      OpTimer tm("rmsnorm");
      be_.rmsnorm_backward(dnext, G + o.ln1, a.dln, a.resid[l], P + o.ln1, s.rstd1, N, C);
    }
    std::swap(dcur, dnext);
  }
  {
    OpTimer tm("embedding");
    be_.embedding_backward(G + L.embed, dcur, inputs_.data(), N, C);
  }
}

void Runner::linear_forward(float* out, const float* inp, uint16_t* inp_bf, int64_t woff, int64_t N, int64_t C,
                            int64_t OC) {
  if (precision_ == Precision::kFp32) {
    OpTimer tm("matmul");
    be_.matmul_forward(out, inp, w_.data() + woff, N, C, OC);
    return;
  }
  to_bf16(inp_bf, inp, N * C);
  OpTimer tm("matmul");
  be_.matmul_forward_bf16(out, inp_bf, wbf_.data() + woff, N, C, OC);
}

void Runner::linear_backward(float* dinp, const float* dout, const float* inp, const uint16_t* inp_bf, int64_t woff,
                             int64_t N, int64_t C, int64_t OC) {
  float* dw = grads_.data() + woff;
  if (precision_ == Precision::kFp32) {
    OpTimer tm("matmul");
    be_.matmul_backward(dinp, dw, dout, inp, w_.data() + woff, N, C, OC, false);
    return;
  }
  to_bf16(dout_bf_, dout, N * OC);
  OpTimer tm("matmul");
  be_.matmul_backward_bf16(dinp, dw, dout_bf_, inp_bf, wbf_.data() + woff, N, C, OC, false);
}

void Runner::to_bf16(uint16_t* dst, const float* src, int64_t n) {
  OpTimer tm("to_bf16");
  be_.to_bf16(dst, src, n);
}

std::vector<float> Runner::logits_host() const {
  if (!logits_ && have_targets_ && mode_ == Mode::kTraining)
    fail("no logits: a training forward with targets keeps them only with ForwardOptions::keep_logits");
  std::vector<float> h(static_cast<size_t>(logits_rows_ * w_.config().vocab_size));
  if (logits_) be_.copy_to_host(h.data(), logits_, h.size() * sizeof(float));
  return h;
}

int64_t Runner::activation_bytes() const { return used_bytes_; }

std::vector<float> Runner::losses_host() const {
  if (!losses_) fail("no losses: the last forward had no targets");
  std::vector<float> h(static_cast<size_t>(B_ * T_));
  be_.copy_to_host(h.data(), losses_, h.size() * sizeof(float));
  return h;
}

}  // namespace kormo::model
