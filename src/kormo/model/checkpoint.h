// Model directories in Hugging Face layout: config.json (LlamaForCausalLM),
// model.safetensors (HF tensor names; F32, BF16 or F16), generation_config.json.
// transformers' AutoModelForCausalLM loads them as they are.
#pragma once

#include <string>

#include "kormo/backend/backend.h"
#include "kormo/model/safetensors.h"
#include "kormo/model/weights.h"

namespace kormo::model {

// Writes the three files into `dir` (which must exist), each atomically; tensors are
// stored as `dtype` (rounded to nearest even) and config.json's torch_dtype says so.
void save_model_dir(const std::string& dir, const Weights& w, Dtype dtype = Dtype::kF32);

// Reads every tensor of `w`'s layout from a safetensors file (any supported dtype,
// widened to fp32); each must be present with the right shape (errors name the file
// and the tensor). Peak memory is the weights plus one tensor's staging on a
// non-host backend.
void load_weights(Weights& w, const std::string& safetensors_path);

// config.json + model.safetensors of a model directory into `be`'s memory.
Weights load_model_dir(const std::string& dir, backend::Backend& be = backend::cpu());

}  // namespace kormo::model
