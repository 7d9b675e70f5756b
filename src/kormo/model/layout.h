// Where each parameter tensor lives in the flat parameter buffer.
//
// Promises:
//  - One contiguous fp32 buffer holds every tensor in `tensors` order, each under its
//    Hugging Face Llama name, so a checkpoint is a direct dump and the optimizer and
//    the all-reduce work on one array. Gradients use the same layout.
//  - Named offsets (llm.c's ParameterTensors): code says layers[l].wo, never an index.
//  - q_proj, k_proj, v_proj are adjacent, and so are gate_proj, up_proj: the runner
//    computes each group with one GEMM over the stacked rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kormo/model/config.h"

namespace kormo::model {

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset = 0;  // in floats, into the flat buffer
  int64_t size = 0;
  bool decay = false;  // weight decay applies (linear weights yes; embeddings, norms no)
};

struct LayerOffsets {
  int64_t ln1, wq, wk, wv, wo, ln2, wg, wu, wd;
};

struct ParameterLayout {
  std::vector<TensorInfo> tensors;  // file order
  int64_t embed = 0, norm = 0, head = 0;
  std::vector<LayerOffsets> layers;
  int64_t total = 0;  // floats

  // Throws Error naming the tensor if there is none of that name.
  const TensorInfo& find(const std::string& name) const;
};

ParameterLayout parameter_layout(const ModelConfig& c);

}  // namespace kormo::model
