#include "kormo/train/optimizer.h"

#include <cmath>

namespace kormo::train {

AdamW::AdamW(const AdamWConfig& c, const model::Weights& w)
    : cfg_(c), m_(w.backend(), w.size()), v_(w.backend(), w.size()) {
  for (const auto& t : w.layout().tensors) ranges_.push_back({t.offset, t.size, t.decay});
}

void AdamW::step(model::Weights& w, const float* grads, double lr, int64_t t, float grad_scale) {
  backend::AdamWStep s;
  s.beta1 = static_cast<float>(cfg_.beta1);
  s.beta2 = static_cast<float>(cfg_.beta2);
  s.eps = static_cast<float>(cfg_.eps);
  s.lr = lr;
  s.weight_decay = cfg_.weight_decay;
  s.bias_correction1 = 1.0 - std::pow(cfg_.beta1, static_cast<double>(t));
  s.bias_correction2 = 1.0 - std::pow(cfg_.beta2, static_cast<double>(t));
  s.grad_scale = grad_scale;
  w.backend().adamw(w.data(), grads, m_.data(), v_.data(), ranges_.data(), static_cast<int64_t>(ranges_.size()), s);
}

double grad_norm(backend::Backend& be, const float* grads, int64_t n) { return std::sqrt(be.sum_squares(grads, n)); }

}  // namespace kormo::train
