// Model directories in Hugging Face layout: config.json (LlamaForCausalLM),
// model.safetensors (F32, HF tensor names), generation_config.json. transformers'
// AutoModelForCausalLM loads them as they are.
#pragma once

#include <string>

#include "kormo/model/model.h"

namespace kormo::model {

// Writes the three files into `dir` (which must exist); each file is written atomically.
void write_model_files(const std::string& dir, const Model& m);

// Loads weights from a safetensors file into `m`; every tensor of the model must be
// present with the right shape (errors name the file and the tensor).
void load_weights(Model& m, const std::string& safetensors_path);

// Reads config.json and model.safetensors from a model directory.
Model load_model_dir(const std::string& dir);

}  // namespace kormo::model
