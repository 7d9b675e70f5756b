#include "kormo/backend/backend.h"

#include <algorithm>

#include "kormo/util/error.h"

namespace kormo::backend {

#if KORMO_HAVE_CUDA
// Defined in backend/cuda (built only when the CUDA toolkit is found): the backend of
// the first visible GPU, or nullptr with `why` set when no GPU can be used.
Backend* cuda_backend(std::string& why);
#endif

void Backend::matmul_forward(float* out, const float* inp, const float* w, int64_t N, int64_t C, int64_t OC) {
  gemm(false, true, N, OC, C, 1.f, inp, C, w, C, 0.f, out, OC);
}

void Backend::matmul_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w, int64_t N,
                              int64_t C, int64_t OC, bool accumulate) {
  gemm(false, false, N, C, OC, 1.f, dout, OC, w, C, accumulate ? 1.f : 0.f, dinp, C);
  gemm(true, false, OC, C, N, 1.f, dout, OC, inp, C, 1.f, dw, C);
}

void Backend::matmul_forward_bf16(float* out, const uint16_t* inp, const uint16_t* w, int64_t N, int64_t C,
                                  int64_t OC) {
  gemm_bf16(false, true, N, OC, C, inp, C, w, C, false, out, OC);
}

void Backend::matmul_backward_bf16(float* dinp, float* dw, const uint16_t* dout, const uint16_t* inp,
                                   const uint16_t* w, int64_t N, int64_t C, int64_t OC, bool accumulate) {
  gemm_bf16(false, false, N, C, OC, dout, OC, w, C, accumulate, dinp, C);
  gemm_bf16(true, false, OC, C, N, dout, OC, inp, C, true, dw, C);
}

void Backend::sum_squares_blocks(const float* x, int64_t n, int64_t block, double* out) {
  for (int64_t b = 0; b * block < n; ++b) out[b] = sum_squares(x + b * block, std::min(block, n - b * block));
}

Backend& get(const std::string& name) {
  if (name == "cpu") return cpu();
  if (name == "cuda" || name == "auto") {
#if KORMO_HAVE_CUDA
    std::string why;
    if (Backend* be = cuda_backend(why)) return *be;
    if (name == "cuda") fail("backend 'cuda': {}", why);
#else
    if (name == "cuda") fail("backend 'cuda': this kormo was built without CUDA (available: {})", available());
#endif
    return cpu();
  }
  fail("unknown backend '{}' (available: {}, auto)", name, available());
}

std::string available() {
#if KORMO_HAVE_CUDA
  return "cpu, cuda";
#else
  return "cpu";
#endif
}

}  // namespace kormo::backend
