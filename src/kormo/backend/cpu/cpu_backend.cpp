// The CPU backend: host memory and the OpenMP/oneDNN kernels of backend/cpu/ops.h.
#include <cstdlib>
#include <cstring>

#include "kormo/backend/cpu/ops.h"
#include "kormo/util/error.h"

namespace kormo::backend {

namespace {

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return std::string("cpu (") + cpu_ops::gemm_library() + ")"; }
  bool host_accessible() const override { return true; }

  void* allocate(size_t bytes) override {
    const size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    if (!p) fail("out of memory allocating {:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
    // calloc-like zeroing through the kernel's zero pages would be cheaper, but
    // aligned_alloc gives no such promise; touch-once here also makes first-step
    // timings honest.
    std::memset(p, 0, rounded == 0 ? 64 : rounded);
    return p;
  }
  void deallocate(void* p) noexcept override { std::free(p); }
  void copy_to_device(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy_to_host(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void fill(float* x, float value, int64_t n) override {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) x[i] = value;
  }

  void embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C) override {
    cpu_ops::embedding_forward(out, tokens, wte, N, C);
  }
  void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t N, int64_t C) override {
    cpu_ops::embedding_backward(dwte, dout, tokens, N, C);
  }
  void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, int64_t N, int64_t C,
                       float eps) override {
    cpu_ops::rmsnorm_forward(out, rstd, inp, w, N, C, eps);
  }
  void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w,
                        const float* rstd, int64_t N, int64_t C) override {
    cpu_ops::rmsnorm_backward(dinp, dw, dout, inp, w, rstd, N, C);
  }
  void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
            const float* b, int64_t ldb, float beta, float* c, int64_t ldc) override {
    cpu_ops::gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void to_bf16(uint16_t* dst, const float* src, int64_t n) override { cpu_ops::to_bf16(dst, src, n); }
  void gemm_bf16(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda, const uint16_t* b,
                 int64_t ldb, bool accumulate, float* c, int64_t ldc) override {
    cpu_ops::gemm_bf16(ta, tb, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
  }
  void rope_forward(float* x, int64_t ld, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                    int64_t heads, int64_t hd) override {
    cpu_ops::rope_forward(x, ld, pos, cos, sin, N, heads, hd);
  }
  void rope_backward(float* dx, int64_t ld, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                     int64_t heads, int64_t hd) override {
    cpu_ops::rope_backward(dx, ld, pos, cos, sin, N, heads, hd);
  }
  void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int64_t q_ld,
                         int64_t kv_ld, const int32_t* seg_start, int64_t B, int64_t T, int64_t nh, int64_t nkv,
                         int64_t hd) override {
    cpu_ops::attention_forward(out, lse, q, k, v, q_ld, kv_ld, seg_start, B, T, nh, nkv, hd);
  }
  void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out, const float* lse,
                          const float* q, const float* k, const float* v, int64_t q_ld, int64_t kv_ld,
                          const int32_t* seg_start, int64_t B, int64_t T, int64_t nh, int64_t nkv,
                          int64_t hd) override {
    cpu_ops::attention_backward(dq, dk, dv, dout, out, lse, q, k, v, q_ld, kv_ld, seg_start, B, T, nh, nkv, hd);
  }
  void attention_cached(float* out, const float* q, int64_t q_ld, const float* k, const float* v, int64_t kv_ld,
                        int64_t slot_stride, const int32_t* rows, const int32_t* past, const int32_t* slot,
                        int64_t S, int64_t nh, int64_t nkv, int64_t hd) override {
    cpu_ops::attention_cached(out, q, q_ld, k, v, kv_ld, slot_stride, rows, past, slot, S, nh, nkv, hd);
  }
  void swiglu_forward(float* h, const float* gu, int64_t N, int64_t F) override { cpu_ops::swiglu_forward(h, gu, N, F); }
  void swiglu_backward(float* dgu, const float* dh, const float* gu, int64_t N, int64_t F) override {
    cpu_ops::swiglu_backward(dgu, dh, gu, N, F);
  }
  void residual_forward(float* out, const float* a, const float* b, int64_t n) override {
    cpu_ops::residual_forward(out, a, b, n);
  }
  void residual_backward(float* da, float* db, const float* dout, int64_t n) override {
    cpu_ops::residual_backward(da, db, dout, n);
  }
  void crossentropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets, int64_t N,
                            int64_t V, float z_loss) override {
    cpu_ops::crossentropy_forward(losses, lse, logits, targets, N, V, z_loss);
  }
  void crossentropy_backward(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                             const float* weight, int64_t N, int64_t V, float z_loss) override {
    cpu_ops::crossentropy_backward(dlogits, logits, lse, targets, weight, N, V, z_loss);
  }
  double sum(const float* x, int64_t n) override { return cpu_ops::sum(x, n); }
  double sum_squares(const float* x, int64_t n) override { return cpu_ops::sum_squares(x, n); }
  void adamw(float* params, const float* grads, float* m, float* v, const ParamRange* ranges, int64_t num_ranges,
             const AdamWStep& s) override {
    cpu_ops::adamw(params, grads, m, v, ranges, num_ranges, s);
  }
};

}  // namespace

Backend& cpu() {
  static CpuBackend be;
  return be;
}

}  // namespace kormo::backend
