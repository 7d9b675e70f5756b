#include "kormo/model/config.h"

#include "kormo/util/error.h"

namespace kormo::model {

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
}

int64_t num_parameters(const ModelConfig& c) {
  int64_t C = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
  int64_t layer = 2 * C + C * q + 2 * C * kv + q * C + 3 * C * c.intermediate_size;
  return 2 * c.vocab_size * C + c.num_layers * layer + C;
}

double train_flops_per_token(const ModelConfig& c, int64_t seq) {
  double C = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
  double matmul = c.num_layers * (C * q + 2 * C * kv + q * C + 3 * C * c.intermediate_size) + C * c.vocab_size;
  double attn = 12.0 * c.num_layers * c.num_heads * c.head_dim * seq / 2.0;
  return 6.0 * matmul + attn;
}

MemoryEstimate estimate_memory(const ModelConfig& c, int64_t batch, int64_t seq) {
  double p = static_cast<double>(num_parameters(c)) * 4;
  double N = static_cast<double>(batch) * seq;
  double C = c.hidden_size, q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim,
         F = c.intermediate_size;
  // Saved per layer: input, 2 norm outputs, q, k, v, attention output, residual, gate, up, h,
  // 2 rstd and the attention log-sum-exp; plus final norm, logits and their gradient scratch.
  double per_layer = N * (4 * C + 2 * q + 2 * kv + 3 * F + 2 + c.num_heads);
  double rest = N * (2 * C + 1 + c.vocab_size) + N * (2 * C + 2 * q + 2 * kv + 3 * F);
  double act = c.num_layers * per_layer + rest;
  double act_recompute = c.num_layers * N * C + per_layer + rest;
  return {p, p, 2 * p, act * 4, act_recompute * 4};
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
  const double tokens_per_gpu = static_cast<double>(o.batch * o.seq);
  // Recomputation repeats the forward pass: 4 instead of 3 passes' worth of FLOPs.
  const double flops = train_flops_per_token(c, o.seq) * tokens_per_gpu * (o.recompute ? 4.0 / 3.0 : 1.0);
  g.step_s = flops / (o.peak_flops * o.mfu);
  g.tokens_per_s = tokens_per_gpu * static_cast<double>(o.gpus) / g.step_s;
  return g;
}

}  // namespace kormo::model
