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
  double act = c.num_layers * per_layer + N * (2 * C + 1 + c.vocab_size) + N * (2 * C + 2 * q + 2 * kv + 3 * F);
  return {p, p, 2 * p, act * 4};
}

}  // namespace kormo::model
