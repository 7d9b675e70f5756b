#include "kormo/gguf/llama.h"

#include <numeric>

#include "kormo/util/error.h"

namespace kormo::gguf {
namespace {

// llama.cpp's llama_ftype numbers for general.file_type.
uint32_t file_type_id(TensorType t) {
  switch (t) {
    case TensorType::kF32: return 0;
    case TensorType::kF16: return 1;
    case TensorType::kQ8_0: return 7;
    case TensorType::kBF16: return 32;
  }
  fail_internal("unknown file type");
}

// llama.cpp's token types (llama_token_type).
enum TokenType : int32_t { kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5 };

// Stored row r of a q/k projection takes this source row: HF keeps the two halves of each
// head's rotary dimensions apart (rotate_half), llama.cpp's "llama" RoPE rotates adjacent pairs.
std::vector<int64_t> rope_row_order(int64_t heads, int64_t head_dim) {
  std::vector<int64_t> order(static_cast<size_t>(heads * head_dim));
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t j = 0; j < half; ++j)
      for (int64_t s = 0; s < 2; ++s) order[static_cast<size_t>(h * head_dim + 2 * j + s)] = h * head_dim + s * half + j;
  return order;
}

bool config_flag(const LlamaExport& opt, const char* key) {
  if (opt.tokenizer_config.is_null() || !opt.tokenizer_config.contains(key)) return false;
  const auto& v = opt.tokenizer_config[key];
  if (!v.is_boolean()) fail("{}: '{}' must be true or false", opt.tokenizer_config_origin, key);
  return v.get<bool>();
}

void set_tokenizer(Writer& g, const tok::Tokenizer& tok, const model::ModelConfig& c, const LlamaExport& opt) {
  const auto n_tok = static_cast<int64_t>(tok.vocab_size());
  if (n_tok > c.vocab_size)
    fail("the tokenizer has {} tokens, more than the model's vocabulary of {}", n_tok, c.vocab_size);
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  tokens.reserve(static_cast<size_t>(c.vocab_size));
  std::vector<uint8_t> added(static_cast<size_t>(n_tok), 0);
  for (const auto& a : tok.added_tokens()) added[static_cast<size_t>(a.id)] = 1;
  for (int64_t id = 0; id < c.vocab_size; ++id) {
    const auto i = static_cast<int32_t>(id);
    const std::string* s = id < n_tok ? &tok.id_to_token(i) : nullptr;
    if (s == nullptr || s->empty()) {
      tokens.push_back("[PAD" + std::to_string(id) + "]");
      types.push_back(kUnused);
    } else {
      tokens.push_back(*s);
      types.push_back(tok.is_special(i) ? kControl : added[static_cast<size_t>(id)] ? kUserDefined : kNormal);
    }
  }
  std::vector<std::string> merges;
  merges.reserve(tok.merges().size());
  for (const auto& m : tok.merges()) merges.push_back(tok.id_to_token(m.left) + " " + tok.id_to_token(m.right));

  g.set_string("tokenizer.ggml.model", "gpt2");
  // llama.cpp's name for the Qwen2 split regex (tok::kQwen2Pattern), digits one at a time.
  g.set_string("tokenizer.ggml.pre", "qwen2");
  g.set_strings("tokenizer.ggml.tokens", tokens);
  g.set_i32s("tokenizer.ggml.token_type", types);
  g.set_strings("tokenizer.ggml.merges", merges);
  auto set_id = [&](const char* key, int64_t id) {
    if (id >= 0 && id < c.vocab_size) g.set_u32(key, static_cast<uint32_t>(id));
  };
  set_id("tokenizer.ggml.bos_token_id", c.bos_token_id);
  set_id("tokenizer.ggml.eos_token_id", c.eos_token_id);
  set_id("tokenizer.ggml.padding_token_id", c.pad_token_id);
  g.set_bool("tokenizer.ggml.add_bos_token", config_flag(opt, "add_bos_token"));
  g.set_bool("tokenizer.ggml.add_eos_token", config_flag(opt, "add_eos_token"));
  if (!opt.tokenizer_config.is_null() && opt.tokenizer_config.contains("chat_template")) {
    const auto& t = opt.tokenizer_config["chat_template"];
    if (!t.is_string()) fail("{}: 'chat_template' must be a string", opt.tokenizer_config_origin);
    g.set_string("tokenizer.chat_template", t.get<std::string>());
  }
}

}  // namespace

TensorType parse_file_type(const std::string& s) {
  if (s == "f32") return TensorType::kF32;
  if (s == "f16") return TensorType::kF16;
  if (s == "bf16") return TensorType::kBF16;
  if (s == "q8_0") return TensorType::kQ8_0;
  fail_usage("unknown GGUF type '{}' (expected f32, f16, bf16 or q8_0)", s);
}

void export_llama(const model::Weights& w, const tok::Tokenizer& tok, const LlamaExport& opt,
                  const std::string& path) {
  const model::ModelConfig& c = w.config();
  const model::ParameterLayout& L = w.layout();
  const float* p = w.data();
  if (c.head_dim % 2 != 0) fail("head_dim {} is odd; RoPE needs pairs", c.head_dim);
  Writer g;
  g.set_string("general.architecture", "llama");
  g.set_string("general.name", opt.name);
  g.set_u32("general.file_type", file_type_id(opt.type));
  if (opt.type == TensorType::kQ8_0) g.set_u32("general.quantization_version", 2);
  g.set_u32("general.alignment", kAlignment);
  auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
  g.set_u32("llama.context_length", u32(c.max_seq_len));
  g.set_u32("llama.embedding_length", u32(c.hidden_size));
  g.set_u32("llama.block_count", u32(c.num_layers));
  g.set_u32("llama.feed_forward_length", u32(c.intermediate_size));
  g.set_u32("llama.attention.head_count", u32(c.num_heads));
  g.set_u32("llama.attention.head_count_kv", u32(c.num_kv_heads));
  if (c.head_dim * c.num_heads != c.hidden_size) {
    g.set_u32("llama.attention.key_length", u32(c.head_dim));
    g.set_u32("llama.attention.value_length", u32(c.head_dim));
  }
  g.set_f32("llama.attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_eps));
  g.set_f32("llama.rope.freq_base", static_cast<float>(c.rope_theta));
  g.set_u32("llama.rope.dimension_count", u32(c.head_dim));
  g.set_u32("llama.vocab_size", u32(c.vocab_size));
  set_tokenizer(g, tok, c, opt);

  // HF shapes are [out, in]; GGML lists the contiguous dimension first.
  auto matrix = [&](const std::string& name, int64_t offset, int64_t rows, int64_t cols,
                    std::vector<int64_t> order = {}) {
    TensorType t = opt.type;
    if (t == TensorType::kQ8_0 && cols % kQ8Block != 0) t = TensorType::kF16;
    g.add_tensor(name, {cols, rows}, t, p + offset, std::move(order));
  };
  auto vector = [&](const std::string& name, int64_t offset, int64_t n) {
    g.add_tensor(name, {n}, TensorType::kF32, p + offset);
  };
  const int64_t C = c.hidden_size, F = c.intermediate_size, Q = c.num_heads * c.head_dim,
                KV = c.num_kv_heads * c.head_dim;
  matrix("token_embd.weight", L.embed, c.vocab_size, C);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const auto& o = L.layers[static_cast<size_t>(l)];
    const std::string b = "blk." + std::to_string(l) + ".";
    vector(b + "attn_norm.weight", o.ln1, C);
    matrix(b + "attn_q.weight", o.wq, Q, C, rope_row_order(c.num_heads, c.head_dim));
    matrix(b + "attn_k.weight", o.wk, KV, C, rope_row_order(c.num_kv_heads, c.head_dim));
    matrix(b + "attn_v.weight", o.wv, KV, C);
    matrix(b + "attn_output.weight", o.wo, C, Q);
    vector(b + "ffn_norm.weight", o.ln2, C);
    matrix(b + "ffn_gate.weight", o.wg, F, C);
    matrix(b + "ffn_up.weight", o.wu, F, C);
    matrix(b + "ffn_down.weight", o.wd, C, F);
  }
  vector("output_norm.weight", L.norm, C);
  matrix("output.weight", L.head, c.vocab_size, C);
  g.write(path);
}

}  // namespace kormo::gguf
