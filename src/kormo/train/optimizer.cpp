#include "kormo/train/optimizer.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

namespace kormo::train {

void AdamW::step(std::vector<float>& params, const std::vector<float>& grads,
                 const std::vector<model::TensorInfo>& tensors, double lr, int64_t t, float grad_scale) {
  const float b1 = static_cast<float>(cfg_.beta1), b2 = static_cast<float>(cfg_.beta2);
  const double bc1 = 1.0 - std::pow(cfg_.beta1, static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(cfg_.beta2, static_cast<double>(t));
  const float step_size = static_cast<float>(lr / bc1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  const float eps = static_cast<float>(cfg_.eps);
  // One parallel region over the whole flat buffer (each thread a fixed slice, walking
  // the tensors it overlaps) rather than one per tensor: fewer barriers per step.
  const int64_t total = static_cast<int64_t>(params.size());
#pragma omp parallel
  {
    const int64_t nt = omp_get_num_threads(), th = omp_get_thread_num();
    const int64_t i0 = total * th / nt, i1 = total * (th + 1) / nt;
    for (const auto& ti : tensors) {
      const int64_t lo = std::max(i0, ti.offset), hi = std::min(i1, ti.offset + ti.size);
      if (lo >= hi) continue;
      const float keep = ti.decay ? static_cast<float>(1.0 - lr * cfg_.weight_decay) : 1.f;
      float* p = params.data();
      const float* g = grads.data();
      float* m = m_.data();
      float* v = v_.data();
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) {
        const float gi = g[i] * grad_scale;
        p[i] *= keep;
        m[i] = b1 * m[i] + (1.f - b1) * gi;
        v[i] = b2 * v[i] + (1.f - b2) * gi * gi;
        p[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps);
      }
    }
  }
}

double grad_norm(const std::vector<float>& grads) {
  const int64_t n = static_cast<int64_t>(grads.size());
  const int chunks = 64;  // fixed partition, independent of the thread count
  std::vector<double> part(chunks, 0.0);
#pragma omp parallel for schedule(static)
  for (int c = 0; c < chunks; ++c) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = n * c / chunks; i < n * (c + 1) / chunks; ++i) s += static_cast<double>(grads[i]) * grads[i];
    part[c] = s;
  }
  double s = 0;
  for (double p : part) s += p;
  return std::sqrt(s);
}

}  // namespace kormo::train
