#include "kormo/model/config.h"

#include <algorithm>

#include "kormo/util/error.h"

namespace kormo::model {

namespace {
// Size arithmetic that names the keys of a term that does not fit in 64 bits, instead of
// printing a wrapped, negative or infinite size.
int64_t mul(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail("model too large: {} ({} × {}) overflows a 64-bit count", what, a, b);
  return r;
}
int64_t add(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) fail("model too large: {} ({} + {}) overflows a 64-bit count", what, a, b);
  return r;
}

struct Widths {
  int64_t q, kv, layer_matmul;  // q / kv projection widths; matmul parameters of one layer
};
Widths widths(const ModelConfig& c) {
  const int64_t C = c.hidden_size;
  Widths w;
  w.q = mul(c.num_heads, c.head_dim, "num_heads × head_dim");
  w.kv = mul(c.num_kv_heads, c.head_dim, "num_kv_heads × head_dim");
  const int64_t attn = mul(C, add(mul(2, w.q, "2 × num_heads × head_dim"), mul(2, w.kv, "2 × num_kv_heads × head_dim"),
                                  "attention projection widths"),
                           "hidden_size × attention projection widths");
  const int64_t mlp = mul(3, mul(C, c.intermediate_size, "hidden_size × intermediate_size"),
                          "3 × hidden_size × intermediate_size");
  w.layer_matmul = add(attn, mlp, "one layer's parameters");
  return w;
}
}  // namespace

void validate(const ModelConfig& c, const std::string& where) {
  auto pos = [&](int64_t v, const char* name) {
    if (v <= 0) fail("{}: model {} must be positive (got {})", where, name, v);
  };
  pos(c.vocab_size, "vocab_size");
  pos(c.hidden_size, "hidden_size");
  pos(c.intermediate_size, "intermediate_size");
  pos(c.num_layers, "num_layers");
  pos(c.num_heads, "num_heads");
  pos(c.num_kv_heads, "num_kv_heads");
  pos(c.head_dim, "head_dim");
  pos(c.max_seq_len, "max_seq_len");
  if (c.num_heads % c.num_kv_heads != 0)
    fail("{}: num_heads ({}) must be a multiple of num_kv_heads ({})", where, c.num_heads, c.num_kv_heads);
  if (c.head_dim % 2 != 0) fail("{}: head_dim ({}) must be even for RoPE", where, c.head_dim);
  if (!(c.rope_theta > 0) || !(c.rms_eps > 0)) fail("{}: rope_theta and rms_eps must be positive", where);
  // The flat fp32 buffers (weights, gradients, two AdamW moments) must be addressable.
  try {
    mul(num_parameters(c), 16, "parameters × 16 bytes of fp32 training state");
  } catch (const Error& e) {
    fail("{}: {}", where, e.what());
  }
}

int64_t num_parameters(const ModelConfig& c) {
  const int64_t C = c.hidden_size;
  const int64_t layer = add(widths(c).layer_matmul, mul(2, C, "2 × hidden_size"), "one layer's parameters");
  const int64_t embed_head = mul(2, mul(c.vocab_size, C, "vocab_size × hidden_size"), "2 × vocab_size × hidden_size");
  return add(add(embed_head, mul(c.num_layers, layer, "num_layers × one layer's parameters"), "parameters"), C,
             "parameters");
}

double train_flops_per_token(const ModelConfig& c, int64_t seq) {
  const Widths w = widths(c);
  const double matmul = static_cast<double>(c.num_layers) * static_cast<double>(w.layer_matmul) +
                        static_cast<double>(mul(c.hidden_size, c.vocab_size, "hidden_size × vocab_size"));
  const double attn = 12.0 * static_cast<double>(c.num_layers) * static_cast<double>(w.q) * static_cast<double>(seq) / 2;
  return 6.0 * matmul + attn;
}

int64_t loss_chunk_rows(const ModelConfig& c, int64_t rows) {
  return std::clamp<int64_t>(kLossChunkBytes / (4 * c.vocab_size), 1, std::max<int64_t>(rows, 1));
}

MemoryEstimate estimate_memory(const ModelConfig& c, int64_t batch, int64_t seq, int threads, double program_bytes) {
  if (batch < 1 || seq < 1 || threads < 1)
    fail("memory estimate: batch ({}), seq ({}) and threads ({}) must be positive", batch, seq, threads);
  const double p = static_cast<double>(num_parameters(c)) * 4;
  const Widths w = widths(c);
  const int64_t N = mul(batch, seq, "batch × seq");
  const double n = static_cast<double>(N), C = static_cast<double>(c.hidden_size), q = static_cast<double>(w.q),
               kv = static_cast<double>(w.kv), F = static_cast<double>(c.intermediate_size),
               V = static_cast<double>(c.vocab_size), T = static_cast<double>(seq),
               chunk = static_cast<double>(loss_chunk_rows(c, N));
  // What the training Runner keeps (model::Runner::Acts), per token. Per layer: its input
  // (the residual stream), and in its layer area 2 norm outputs, qkv, attention output,
  // residual, gate|up, h, 2 rstd and the per-head log-sum-exp. Once: the last residual,
  // final norm, its rstd, losses, their log-sum-exp, a branch buffer, backward's scratch
  // (2 residual gradients, norm gradient, dh, dgate|up, attention and qkv gradients) and
  // one chunk of logits.
  const double input = n * C;
  const double area = n * (3 * C + 2 * q + 2 * kv + 3 * F + 2 + static_cast<double>(c.num_heads));
  const double rest = n * (3 * C + 3) + n * (3 * C + 3 * F + 2 * q + 2 * kv) + chunk * V;
  const double layers = static_cast<double>(c.num_layers);
  const double act = layers * (input + area) + rest;
  const double act_recompute = layers * input + area + rest;
  // Measured on a CPU-only build: `kormo pretrain` of a model with a few hundred parameters
  // peaks at 17 MiB, of which ~10 MiB is the program as loaded; allocator and oneDNN
  // packing buffers add up to ~50 MiB more at 110M (docs/engine.md).
  constexpr double kScratchBytes = 14.0 * 1024 * 1024;
  const double runtime = program_bytes + kScratchBytes + threads * (2 * T * T + T) * 4;
  return {p, p, 2 * p, act * 4, act_recompute * 4, runtime};
}

GpuPlan plan_gpu(const ModelConfig& c, const GpuPlanOptions& o) {
  if (o.gpus < 1 || o.batch < 1 || o.seq < 1) fail("GPU plan: gpus, batch and seq must be positive");
  if (o.zero_stage != 0 && o.zero_stage != 1) fail("GPU plan: ZeRO stage {} is not supported (0 or 1)", o.zero_stage);
  if (!(o.mfu > 0 && o.mfu <= 1) || !(o.peak_flops > 0)) fail("GPU plan: MFU must be in (0, 1] and the peak positive");
  GpuPlan g;
  g.per_gpu = estimate_memory(c, o.batch, o.seq);
  if (o.zero_stage == 1) g.per_gpu.optimizer /= static_cast<double>(o.gpus);
  g.activations = o.recompute ? g.per_gpu.activations_recompute : g.per_gpu.activations;
  g.total_bytes = g.per_gpu.weights + g.per_gpu.grads + g.per_gpu.optimizer + g.activations;
  const double tokens_per_gpu = static_cast<double>(o.batch) * static_cast<double>(o.seq);
  // Recomputation repeats the forward pass: 4 instead of 3 passes' worth of FLOPs.
  const double flops = train_flops_per_token(c, o.seq) * tokens_per_gpu * (o.recompute ? 4.0 / 3.0 : 1.0);
  g.step_s = flops / (o.peak_flops * o.mfu);
  g.tokens_per_s = tokens_per_gpu * static_cast<double>(o.gpus) / g.step_s;
  return g;
}

}  // namespace kormo::model
