#include "kormo/model/layout.h"

#include "kormo/util/error.h"

namespace kormo::model {

const TensorInfo& ParameterLayout::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return t;
  fail("model has no tensor named '{}'", name);
}

ParameterLayout parameter_layout(const ModelConfig& c) {
  const int64_t C = c.hidden_size, Q = c.num_heads * c.head_dim, KV = c.num_kv_heads * c.head_dim,
                F = c.intermediate_size;
  ParameterLayout L;
  auto add = [&](std::string name, std::vector<int64_t> shape, bool decay) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    L.tensors.push_back({std::move(name), std::move(shape), L.total, n, decay});
    L.total += n;
    return L.tensors.back().offset;
  };
  L.embed = add("model.embed_tokens.weight", {c.vocab_size, C}, false);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    LayerOffsets o;
    o.ln1 = add(p + "input_layernorm.weight", {C}, false);
    o.wq = add(p + "self_attn.q_proj.weight", {Q, C}, true);
    o.wk = add(p + "self_attn.k_proj.weight", {KV, C}, true);
    o.wv = add(p + "self_attn.v_proj.weight", {KV, C}, true);
    o.wo = add(p + "self_attn.o_proj.weight", {C, Q}, true);
    o.ln2 = add(p + "post_attention_layernorm.weight", {C}, false);
    o.wg = add(p + "mlp.gate_proj.weight", {F, C}, true);
    o.wu = add(p + "mlp.up_proj.weight", {F, C}, true);
    o.wd = add(p + "mlp.down_proj.weight", {C, F}, true);
    L.layers.push_back(o);
  }
  L.norm = add("model.norm.weight", {C}, false);
  // The LM head is a linear layer and is decayed, as in the released KORMo/HF trainer
  // convention (no decay only for embeddings and norm weights).
  L.head = add("lm_head.weight", {c.vocab_size, C}, true);
  return L;
}

}  // namespace kormo::model
