// A kormo / HF Llama model and its byte-level BPE tokenizer as a GGUF file that llama.cpp
// runs with its "llama" architecture (docs/export.md lists every key and tensor).
//
// Promises:
//  - Tensors carry llama.cpp's names and GGML dimension order; q/k rows are reordered from
//    HF's rotate-half RoPE layout to llama.cpp's adjacent pairs, as its own converter does.
//  - Matrices are stored as the chosen type; 1-D tensors (norms) stay F32 in every type, and
//    under q8_0 a matrix whose rows are not whole 32-value blocks is stored as F16.
//  - The vocabulary is padded to the model's with unused "[PAD<id>]" tokens.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "kormo/gguf/writer.h"
#include "kormo/model/weights.h"
#include "kormo/tok/tokenizer.h"

namespace kormo::gguf {

// ggml's names for a whole-file type: "f32", "f16", "bf16", "q8_0" (usage error otherwise).
TensorType parse_file_type(const std::string& s);

struct LlamaExport {
  TensorType type = TensorType::kF32;
  std::string name;  // general.name
  // tokenizer_config.json's content (add_bos_token, add_eos_token, chat_template), or null.
  nlohmann::json tokenizer_config;
  std::string tokenizer_config_origin;  // names it in errors
};

// Writes `path` atomically. `w` must be on the host (CPU backend). Throws Error naming the
// tokenizer or tensor when they do not fit the model (more tokens than its vocabulary).
void export_llama(const model::Weights& w, const tok::Tokenizer& tok, const LlamaExport& opt,
                  const std::string& path);

}  // namespace kormo::gguf
