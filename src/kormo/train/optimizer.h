// AdamW over the flat parameter buffer in backend memory, in the exact form of
// torch.optim.AdamW (decoupled decay p ← p·(1 − lr·wd), bias-corrected moments, eps
// added after the square root), with decay applied per tensor (TensorInfo::decay).
// The moments live in the same backend as the weights.
#pragma once

#include <cstdint>
#include <vector>

#include "kormo/backend/backend.h"
#include "kormo/model/weights.h"

namespace kormo::train {

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.033;
};

class AdamW {
 public:
  AdamW(const AdamWConfig& c, const model::Weights& w);
  // One update at 1-based step t (t counts applied updates, not skipped ones), with the
  // gradients multiplied by grad_scale first (gradient clipping, fused to save a pass).
  void step(model::Weights& w, const float* grads, double lr, int64_t t, float grad_scale = 1.f);
  backend::Array<float>& m() { return m_; }
  backend::Array<float>& v() { return v_; }

 private:
  AdamWConfig cfg_;
  std::vector<backend::ParamRange> ranges_;
  backend::Array<float> m_, v_;
};

// sqrt(Σ g²) summed in double in a fixed order.
double grad_norm(backend::Backend& be, const float* grads, int64_t n);

}  // namespace kormo::train
