// Reference-check driver (for tests against PyTorch): runs forward, backward and one
// AdamW step on a model directory and a batch given as JSON, and writes everything
// a reference needs to compare into one safetensors file.
#pragma once

#include <cstdint>
#include <string>

namespace kormo::train {

struct CheckOptions {
  std::string model_dir;   // config.json + model.safetensors
  std::string batch_path;  // {"B", "T", "inputs", "targets", "doc"}
  std::string out_path;
  double z_loss = 0, lr = 1e-3, weight_decay = 0.033;
  std::string backend = "cpu";
  std::string precision = "fp32";  // of the matmuls, both Runners (model::parse_precision)
  int64_t loss_chunk_rows = 0;     // training Runner's LM-head chunk (model::RunnerOptions)
};

// Output tensors: "logits" [B·T, V], "logits_inference" [B·T, V] (forward without
// targets on an inference Runner), "logits_last" [B, V] (last position of each row),
// "losses" [B·T], "loss" [1] (mean over non-ignored
// targets), "grad.<name>" for every parameter, "updated.<name>" after one AdamW step
// (β 0.9/0.95, eps 1e-8, no clipping).
void model_check(const CheckOptions& o);

}  // namespace kormo::train
