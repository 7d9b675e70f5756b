// AdamW over the flat parameter buffer, in the exact form of torch.optim.AdamW
// (decoupled decay p ← p·(1 − lr·wd), bias-corrected moments, eps added after the
// square root), with decay applied per tensor (TensorInfo::decay).
#pragma once

#include <cstdint>
#include <vector>

#include "kormo/model/model.h"

namespace kormo::train {

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.033;
};

class AdamW {
 public:
  AdamW(const AdamWConfig& c, size_t num_params) : cfg_(c), m_(num_params, 0.f), v_(num_params, 0.f) {}
  // One update at 1-based step t (t counts applied updates, not skipped ones), with the
  // gradients multiplied by grad_scale first (gradient clipping, fused to save a pass).
  void step(std::vector<float>& params, const std::vector<float>& grads,
            const std::vector<model::TensorInfo>& tensors, double lr, int64_t t, float grad_scale = 1.f);
  std::vector<float>& m() { return m_; }
  std::vector<float>& v() { return v_; }

 private:
  AdamWConfig cfg_;
  std::vector<float> m_, v_;
};

// sqrt(Σ g²) summed in double in a fixed order.
double grad_norm(const std::vector<float>& grads);

}  // namespace kormo::train
