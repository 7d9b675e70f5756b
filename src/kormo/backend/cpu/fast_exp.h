// fast_exp: exp in fp32 for loops the compiler vectorises (the CPU backend's softmaxes,
// SwiGLU, cross-entropy; eval's log-softmax over the vocabulary).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace kormo::backend::cpu_ops {

// exp in fp32 that vectorises inside `omp simd` loops (std::exp does not without
// -ffast-math): Cephes' range reduction and polynomial, relative error ~2e-7.
inline float fast_exp(float x) {
  x = std::min(88.3f, std::max(-87.3f, x));
  // Round to nearest by adding and removing 1.5·2²³ (std::floor does not vectorise
  // under the default -ftrapping-math).
  float n = (x * 1.44269504f + 12582912.f) - 12582912.f;
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  int32_t e = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &e, sizeof scale);
  return p * scale;
}

}  // namespace kormo::backend::cpu_ops
