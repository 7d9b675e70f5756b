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

// A dot-product kernel's element type: how to load a (masked) vector of it and multiply-add
// two of them into fp32 lanes. The bf16 one uses vdpbf16ps (bf16 pairs, fp32 accumulation);
// a masked tail loads zeros, whose products add nothing.
#if defined(__AVX512F__)
struct F32Lanes {
  using T = float;
  using Vec = __m512;
  static constexpr int64_t kStep = 16;
  static __mmask16 mask(int64_t left) { return left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1); }
  static Vec load(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
  static Vec zero() { return _mm512_setzero_ps(); }
  static __m512 madd(__m512 acc, Vec a, Vec b) { return _mm512_fmadd_ps(a, b, acc); }
};
#endif
#if defined(__AVX512BF16__)
struct Bf16Lanes {
  using T = uint16_t;
  using Vec = __m512bh;
  static constexpr int64_t kStep = 32;
  static __mmask32 mask(int64_t left) {
    return left >= 32 ? ~static_cast<__mmask32>(0) : static_cast<__mmask32>((1ull << left) - 1);
  }
  static Vec load(const uint16_t* p, __mmask32 m) { return reinterpret_cast<Vec>(_mm512_maskz_loadu_epi16(m, p)); }
  static Vec zero() { return reinterpret_cast<Vec>(_mm512_setzero_si512()); }
  static __m512 madd(__m512 acc, Vec a, Vec b) { return _mm512_dpbf16_ps(acc, a, b); }
};
#endif

#if defined(__AVX512F__)
// The four horizontal sums of a, b, c, d as one vector: a transposing add tree costs about a
// third of four separate reductions, which matter on short rows (k of a few hundred).
inline __m128 sum4(__m512 a, __m512 b, __m512 c, __m512 d) {
  // Per 128-bit lane: (a0+a2, b0+b2, a1+a3, b1+b3) and the same for c, d; then (a, b, c, d).
  const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
  const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
  const __m512 s = _mm512_add_ps(_mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(3, 2, 3, 2)));
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(s),
                                 _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}
#endif

// c[i, j] (+)= Σ_k a[i, k] · b[j, k] for i < MA ≤ 4, j < nb ≤ 4. The row counts are compile-time
// so that the 4 × MA accumulators stay in registers (a runtime bound spilled them to the stack
// and halved the rate); missing weight rows of a partial block reread row 0, unstored.
#if defined(__AVX512F__)
template <class L, int MA>
void block(const typename L::T* a, int64_t lda, const typename L::T* b, int64_t ldb, int64_t nb, int64_t k, float* c,
           int64_t ldc, bool accumulate) {
  const typename L::T* row[kRowBlock];
  for (int64_t j = 0; j < kRowBlock; ++j) row[j] = b + (j < nb ? j : 0) * ldb;
  __m512 acc[MA][kRowBlock];
#pragma GCC unroll 4
  for (int i = 0; i < MA; ++i)
#pragma GCC unroll 4
    for (int64_t j = 0; j < kRowBlock; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; p += L::kStep) {
    const auto m = L::mask(k - p);
    typename L::Vec bv[kRowBlock];
#pragma GCC unroll 4
    for (int64_t j = 0; j < kRowBlock; ++j) {
      _mm_prefetch(reinterpret_cast<const char*>(b + (j + kRowBlock) * ldb + p), _MM_HINT_T0);
      bv[j] = L::load(row[j] + p, m);
    }
#pragma GCC unroll 4
    for (int i = 0; i < MA; ++i) {
      const typename L::Vec av = L::load(a + i * lda + p, m);
#pragma GCC unroll 4
      for (int64_t j = 0; j < kRowBlock; ++j) acc[i][j] = L::madd(acc[i][j], av, bv[j]);
    }
  }
  for (int i = 0; i < MA; ++i) {
    float* ci = c + i * ldc;
    if (nb == kRowBlock) {
      const __m128 s = sum4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
      _mm_storeu_ps(ci, accumulate ? _mm_add_ps(_mm_loadu_ps(ci), s) : s);
      continue;
    }
    for (int64_t j = 0; j < nb; ++j) {
      const float s = _mm512_reduce_add_ps(acc[i][j]);
      ci[j] = accumulate ? ci[j] + s : s;
    }
  }
}

// The block for ma activation rows, 1 ≤ ma ≤ kActBlock.
template <class L>
void block_rows(const typename L::T* a, int64_t lda, int64_t ma, const typename L::T* b, int64_t ldb, int64_t nb,
                int64_t k, float* c, int64_t ldc, bool accumulate) {
  switch (ma) {
    case 1: return block<L, 1>(a, lda, b, ldb, nb, k, c, ldc, accumulate);
    case 2: return block<L, 2>(a, lda, b, ldb, nb, k, c, ldc, accumulate);
    case 3: return block<L, 3>(a, lda, b, ldb, nb, k, c, ldc, accumulate);
    default: return block<L, 4>(a, lda, b, ldb, nb, k, c, ldc, accumulate);
  }
}
#endif

// Without the vector units: plain loops over the widened values.
[[maybe_unused]] float widen(float x) { return x; }
[[maybe_unused]] float widen(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
template <typename T>
void block_scalar(const T* a, int64_t lda, int64_t ma, const T* b, int64_t ldb, int64_t nb, int64_t k, float* c,
                  int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < ma; ++i)
    for (int64_t j = 0; j < nb; ++j) {
      float s = 0.f;
      for (int64_t p = 0; p < k; ++p) s += widen(a[i * lda + p]) * widen(b[j * ldb + p]);
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
    }
}

#if defined(__AVX512F__)
constexpr auto block_f32 = block_rows<F32Lanes>;
#else
constexpr auto block_f32 = block_scalar<float>;
#endif
#if defined(__AVX512BF16__)
constexpr auto block_bf16 = block_rows<Bf16Lanes>;
#else
constexpr auto block_bf16 = block_scalar<uint16_t>;
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
