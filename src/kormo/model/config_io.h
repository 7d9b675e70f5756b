// Model configs in and out: a TOML [model] section, or a Hugging Face config.json
// (LlamaForCausalLM), written back as config.json so checkpoints load in transformers.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "kormo/model/config.h"
#include "kormo/util/config.h"

namespace kormo::model {

ModelConfig model_config_from_section(ConfigSection& s);
// A TOML file with a [model] section.
ModelConfig load_model_config(const std::string& path);
ModelConfig model_config_from_hf(const nlohmann::json& j, const std::string& where);
nlohmann::json model_config_to_hf(const ModelConfig& c, const std::string& torch_dtype = "float32");
// config.json of a model directory.
ModelConfig load_hf_config(const std::string& path);

}  // namespace kormo::model
