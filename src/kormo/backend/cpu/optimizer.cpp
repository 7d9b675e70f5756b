// The optimizer's kernels on the CPU: AdamW and the reductions behind gradient clipping.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kormo/backend/cpu/ops.h"

namespace kormo::backend::cpu_ops {

namespace {
// Sums f(x[i]) in double over a fixed partition of [0, n): the result depends on n
// only, not on the thread count.
template <class F>
double chunked_sum(const float* x, int64_t n, F f) {
  constexpr int kChunks = 64;
  double part[kChunks] = {};
#pragma omp parallel for schedule(static)
  for (int c = 0; c < kChunks; ++c) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = n * c / kChunks; i < n * (c + 1) / kChunks; ++i) s += f(static_cast<double>(x[i]));
    part[c] = s;
  }
  double s = 0;
  for (double p : part) s += p;
  return s;
}
}  // namespace

double sum(const float* x, int64_t n) {
  return chunked_sum(x, n, [](double v) { return v; });
}

double sum_squares(const float* x, int64_t n) {
  return chunked_sum(x, n, [](double v) { return v * v; });
}

void adamw(float* p, const float* g, float* m, float* v, const ParamRange* ranges, int64_t num_ranges,
           const AdamWStep& s) {
  const float b1 = s.beta1, b2 = s.beta2, eps = s.eps, scale = s.grad_scale;
  const float step_size = static_cast<float>(s.lr / s.bias_correction1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(s.bias_correction2));
  int64_t total = 0;
  for (int64_t r = 0; r < num_ranges; ++r) total = std::max(total, ranges[r].offset + ranges[r].size);
  // One parallel region over the whole flat buffer (each thread a fixed slice, walking
  // the ranges it overlaps) rather than one per tensor: fewer barriers per step.
#pragma omp parallel
  {
    const int64_t nt = omp_get_num_threads(), th = omp_get_thread_num();
    const int64_t i0 = total * th / nt, i1 = total * (th + 1) / nt;
    for (int64_t r = 0; r < num_ranges; ++r) {
      const ParamRange& pr = ranges[r];
      const int64_t lo = std::max(i0, pr.offset), hi = std::min(i1, pr.offset + pr.size);
      if (lo >= hi) continue;
      const float keep = pr.decay ? static_cast<float>(1.0 - s.lr * s.weight_decay) : 1.f;
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) {
        const float gi = g[i] * scale;
        p[i] *= keep;
        m[i] = b1 * m[i] + (1.f - b1) * gi;
        v[i] = b2 * v[i] + (1.f - b2) * gi * gi;
        p[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps);
      }
    }
  }
}

}  // namespace kormo::backend::cpu_ops
