// Products with few rows of activations against a weight matrix stored [n, k] row-major
// (C = A · Bᵀ with m ≤ kGemvMaxRows): decoding one or a few tokens. Written here rather than
// left to oneDNN because at m = 1 oneDNN's sgemm and its bf16 matmul primitive read the
// weights at 70–80% of the rate a plain streaming dot product reaches on this CPU
// (bench/infer/RESULTS.md), and decode time is the time to read the weights once. Each
// weight row is read once for all m activation rows; every output is one dot product
// summed in a fixed order, so results do not depend on the thread count.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kormo/backend/cpu/ops.h"

#if defined(__AVX512F__)
// GCC 12's _mm512_reduce_add_ps passes _mm256_undefined_pd() to an extract builtin, which
// -Wmaybe-uninitialized reports at every use once inlined (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

namespace kormo::backend::cpu_ops {

namespace {

// Weight rows per micro-block and activation rows per pass: 4 × 4 accumulators plus the
// loaded operands stay within the 32 vector registers. The kernels prefetch the next
// micro-block's rows as they go: without it the hardware prefetcher left a single thread
// at ~6 GB/s on rows of 768 bf16, with it ~10 GB/s (CPU time, gemv over 200 MB of weights).
constexpr int64_t kRowBlock = 4, kActBlock = 4;

#if defined(__AVX512F__)
inline __m512 load16(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }

// c[i, j] (+)= Σ_k a[i, k] · b[j, k] for i < ma ≤ 4, j < nb ≤ 4, fp32.
void block_f32(const float* a, int64_t lda, int64_t ma, const float* b, int64_t ldb, int64_t nb, int64_t k,
               float* c, int64_t ldc, bool accumulate) {
  __m512 acc[kActBlock][kRowBlock];
  for (auto& r : acc)
    for (auto& v : r) v = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; p += 16) {
    const __mmask16 m = k - p >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (k - p)) - 1);
    __m512 bv[kRowBlock];
    for (int64_t j = 0; j < kRowBlock; ++j) _mm_prefetch(reinterpret_cast<const char*>(b + (j + kRowBlock) * ldb + p), _MM_HINT_T0);
    for (int64_t j = 0; j < kRowBlock; ++j) bv[j] = j < nb ? load16(b + j * ldb + p, m) : _mm512_setzero_ps();
    for (int64_t i = 0; i < kActBlock; ++i) {
      if (i >= ma) break;
      const __m512 av = load16(a + i * lda + p, m);
      for (int64_t j = 0; j < kRowBlock; ++j) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
    }
  }
  for (int64_t i = 0; i < ma; ++i)
    for (int64_t j = 0; j < nb; ++j) {
      const float s = _mm512_reduce_add_ps(acc[i][j]);
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
    }
}
#else
void block_f32(const float* a, int64_t lda, int64_t ma, const float* b, int64_t ldb, int64_t nb, int64_t k,
               float* c, int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < ma; ++i)
    for (int64_t j = 0; j < nb; ++j) {
      float s = 0.f;
      for (int64_t p = 0; p < k; ++p) s += a[i * lda + p] * b[j * ldb + p];
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
    }
}
#endif

#if defined(__AVX512BF16__)
// The same over bf16 operands: vdpbf16ps multiplies bf16 pairs and accumulates in fp32.
// A masked tail loads zeros, whose products add nothing.
void block_bf16(const uint16_t* a, int64_t lda, int64_t ma, const uint16_t* b, int64_t ldb, int64_t nb, int64_t k,
                float* c, int64_t ldc, bool accumulate) {
  __m512 acc[kActBlock][kRowBlock];
  for (auto& r : acc)
    for (auto& v : r) v = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; p += 32) {
    const __mmask32 m = k - p >= 32 ? ~static_cast<__mmask32>(0) : static_cast<__mmask32>((1ull << (k - p)) - 1);
    __m512bh bv[kRowBlock];
    for (int64_t j = 0; j < kRowBlock; ++j) _mm_prefetch(reinterpret_cast<const char*>(b + (j + kRowBlock) * ldb + p), _MM_HINT_T0);
    for (int64_t j = 0; j < kRowBlock; ++j)
      bv[j] = reinterpret_cast<__m512bh>(j < nb ? _mm512_maskz_loadu_epi16(m, b + j * ldb + p) : _mm512_setzero_si512());
    for (int64_t i = 0; i < kActBlock; ++i) {
      if (i >= ma) break;
      const __m512bh av = reinterpret_cast<__m512bh>(_mm512_maskz_loadu_epi16(m, a + i * lda + p));
      for (int64_t j = 0; j < kRowBlock; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], av, bv[j]);
    }
  }
  for (int64_t i = 0; i < ma; ++i)
    for (int64_t j = 0; j < nb; ++j) {
      const float s = _mm512_reduce_add_ps(acc[i][j]);
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
    }
}
#else
float bf16_value(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
void block_bf16(const uint16_t* a, int64_t lda, int64_t ma, const uint16_t* b, int64_t ldb, int64_t nb, int64_t k,
                float* c, int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < ma; ++i)
    for (int64_t j = 0; j < nb; ++j) {
      float s = 0.f;
      for (int64_t p = 0; p < k; ++p) s += bf16_value(a[i * lda + p]) * bf16_value(b[j * ldb + p]);
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
    }
}
#endif

// Splits the n weight rows over the threads in static slices of whole micro-blocks; within a
// slice each micro-block of weight rows is read from memory once and reused from L1 for
// every group of activation rows.
template <typename T, typename Block>
void gemv_rows(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, float* c,
               int64_t ldc, bool accumulate, Block block) {
  const int64_t blocks = (n + kRowBlock - 1) / kRowBlock;
  // A thread hand-off costs more than a small product (a few µs on this VM): stay on the
  // calling thread below ~64K multiply-adds.
  const bool parallel = m * n * k >= (1 << 16) && omp_get_max_threads() > 1;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t j0 = blk * kRowBlock, nb = std::min(kRowBlock, n - j0);
    for (int64_t i0 = 0; i0 < m; i0 += kActBlock)
      block(a + i0 * lda, lda, std::min(kActBlock, m - i0), b + j0 * ldb, ldb, nb, k, c + i0 * ldc + j0, ldc,
            accumulate);
  }
}

}  // namespace

void gemv_bt(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
             bool accumulate, float* c, int64_t ldc) {
  gemv_rows(m, n, k, a, lda, b, ldb, c, ldc, accumulate, block_f32);
}

void gemv_bt_bf16(int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda, const uint16_t* b, int64_t ldb,
                  bool accumulate, float* c, int64_t ldc) {
  gemv_rows(m, n, k, a, lda, b, ldb, c, ldc, accumulate, block_bf16);
}

}  // namespace kormo::backend::cpu_ops
