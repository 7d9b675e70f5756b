#include "kormo/model/config_io.h"

#include "kormo/util/io.h"

#include "kormo/util/error.h"

namespace kormo::model {

ModelConfig model_config_from_section(ConfigSection& s) {
  ModelConfig c;
  c.vocab_size = s.get_int("vocab_size", 0);
  c.hidden_size = s.get_int("hidden_size", 0);
  c.intermediate_size = s.get_int("intermediate_size", 0);
  c.num_layers = s.get_int("num_layers", 0);
  c.num_heads = s.get_int("num_heads", 0);
  c.num_kv_heads = s.get_int("num_kv_heads", c.num_heads);
  c.head_dim = s.get_int("head_dim", c.num_heads > 0 ? c.hidden_size / c.num_heads : 0);
  c.max_seq_len = s.get_int("max_seq_len", c.max_seq_len);
  c.rope_theta = s.get_double("rope_theta", c.rope_theta);
  c.rms_eps = s.get_double("rms_eps", c.rms_eps);
  c.init_std = s.get_double("init_std", c.init_std);
  c.bos_token_id = s.get_int("bos_token_id", c.bos_token_id);
  c.eos_token_id = s.get_int("eos_token_id", c.eos_token_id);
  c.pad_token_id = s.get_int("pad_token_id", c.pad_token_id);
  s.check_unused();
  return c;
}

ModelConfig load_model_config(const std::string& path) {
  toml::table t = load_toml(path);
  ConfigSection root(&t, path);
  ConfigSection m = root.section("model");
  if (!root.has("model")) fail("{}: missing [model] section", path);
  root.check_unused();
  ModelConfig c = model_config_from_section(m);
  validate(c, path);
  return c;
}

ModelConfig model_config_from_hf(const nlohmann::json& j, const std::string& where) {
  auto get = [&](const char* key) -> const nlohmann::json& {
    if (!j.contains(key) || j[key].is_null()) fail("{}: config.json lacks '{}'", where, key);
    return j[key];
  };
  try {
    if (j.contains("model_type") && j["model_type"] != "llama")
      fail("{}: model_type '{}' is not supported (expected llama)", where, j["model_type"].dump());
    if (j.value("tie_word_embeddings", false)) fail("{}: tied embeddings are not supported", where);
    ModelConfig c;
    c.vocab_size = get("vocab_size").get<int64_t>();
    c.hidden_size = get("hidden_size").get<int64_t>();
    c.intermediate_size = get("intermediate_size").get<int64_t>();
    c.num_layers = get("num_hidden_layers").get<int64_t>();
    c.num_heads = get("num_attention_heads").get<int64_t>();
    c.num_kv_heads = j.value("num_key_value_heads", c.num_heads);
    c.head_dim = j.contains("head_dim") && !j["head_dim"].is_null() ? j["head_dim"].get<int64_t>()
                                                                     : c.hidden_size / c.num_heads;
    c.max_seq_len = j.value("max_position_embeddings", c.max_seq_len);
    c.rope_theta = j.value("rope_theta", c.rope_theta);
    c.rms_eps = j.value("rms_norm_eps", c.rms_eps);
    c.init_std = j.value("initializer_range", c.init_std);
    auto id = [&](const char* key, int64_t def) {
      if (!j.contains(key) || j[key].is_null()) return def;
      if (j[key].is_array()) return j[key].empty() ? def : j[key][0].get<int64_t>();
      return j[key].get<int64_t>();
    };
    c.bos_token_id = id("bos_token_id", c.bos_token_id);
    c.eos_token_id = id("eos_token_id", c.eos_token_id);
    c.pad_token_id = id("pad_token_id", c.pad_token_id);
    validate(c, where);
    return c;
  } catch (const nlohmann::json::exception& e) {
    fail("{}: bad value in config.json: {}", where, e.what());
  }
}

nlohmann::json model_config_to_hf(const ModelConfig& c, const std::string& torch_dtype) {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"vocab_size", c.vocab_size},
          {"hidden_size", c.hidden_size},
          {"intermediate_size", c.intermediate_size},
          {"num_hidden_layers", c.num_layers},
          {"num_attention_heads", c.num_heads},
          {"num_key_value_heads", c.num_kv_heads},
          {"head_dim", c.head_dim},
          {"max_position_embeddings", c.max_seq_len},
          {"rope_theta", c.rope_theta},
          {"rope_scaling", nullptr},
          {"rms_norm_eps", c.rms_eps},
          {"initializer_range", c.init_std},
          {"hidden_act", "silu"},
          {"attention_bias", false},
          {"attention_dropout", 0.0},
          {"mlp_bias", false},
          {"tie_word_embeddings", false},
          {"bos_token_id", c.bos_token_id},
          {"eos_token_id", c.eos_token_id},
          {"pad_token_id", c.pad_token_id},
          {"torch_dtype", torch_dtype},
          {"use_cache", true}};
}
ModelConfig load_hf_config(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON: {}", path, e.what());
  }
  return model_config_from_hf(j, path);
}

}  // namespace kormo::model
