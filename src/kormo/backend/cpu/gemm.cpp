#include <dnnl.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "kormo/backend/cpu/ops.h"
#include "kormo/util/error.h"

#if defined(__AVX512BF16__)
#include <immintrin.h>
#endif

namespace kormo::backend::cpu_ops {

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (!trans_a && trans_b && m <= kGemvMaxRows && alpha == 1.f && (beta == 0.f || beta == 1.f) && k > 0)
    return gemv_bt(m, n, k, a, lda, b, ldb, beta == 1.f, c, ldc);
  dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success) fail("gemm: dnnl_sgemm failed (status {}) for m={} n={} k={}", static_cast<int>(st), m, n, k);
}

namespace {

// oneDNN 2.6 has no public bf16 BLAS-style call, so the bf16 GEMM is a matmul primitive
// (brgemm kernels: AMX or AVX512_BF16). Building a primitive costs far more than a small
// GEMM, so each distinct shape/stride/accumulate combination is built once and kept; a
// model has a handful of them.
struct Bf16Gemm {
  using Key = std::tuple<bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool>;
  std::mutex mu;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  struct Entry {
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul prim;
  };
  std::map<Key, Entry> prims;

  static Bf16Gemm& get() {
    static Bf16Gemm g;
    return g;
  }

  Entry primitive(const Key& key) {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = prims.find(key); it != prims.end()) return it->second;
    const auto [ta, tb, m, n, k, lda, ldb, ldc, accumulate] = key;
    using dt = dnnl::memory::data_type;
    // A stored transposed is [k, m] row-major: element (i, j) of op(A) sits at j·lda + i.
    const dnnl::memory::desc a_md({m, k}, dt::bf16, ta ? dnnl::memory::dims{1, lda} : dnnl::memory::dims{lda, 1});
    const dnnl::memory::desc b_md({k, n}, dt::bf16, tb ? dnnl::memory::dims{1, ldb} : dnnl::memory::dims{ldb, 1});
    const dnnl::memory::desc c_md({m, n}, dt::f32, dnnl::memory::dims{ldc, 1});
    dnnl::primitive_attr attr;
    if (accumulate) {
      dnnl::post_ops po;
      po.append_sum(1.f);
      attr.set_post_ops(po);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr, engine);
    Entry e{pd, dnnl::matmul(pd)};
    prims.emplace(key, e);
    return e;
  }
};

}  // namespace

void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
               const uint16_t* b, int64_t ldb, bool accumulate, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i) std::memset(c + i * ldc, 0, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  if (!trans_a && trans_b && m <= kGemvMaxRows) return gemv_bt_bf16(m, n, k, a, lda, b, ldb, accumulate, c, ldc);
  try {
    Bf16Gemm& g = Bf16Gemm::get();
    const Bf16Gemm::Entry e = g.primitive({trans_a, trans_b, m, n, k, lda, ldb, ldc, accumulate});
    dnnl::memory am(e.pd.src_desc(), g.engine, const_cast<uint16_t*>(a));
    dnnl::memory bm(e.pd.weights_desc(), g.engine, const_cast<uint16_t*>(b));
    dnnl::memory cm(e.pd.dst_desc(), g.engine, c);
    // One stream per call: streams are cheap, and a shared one would serialise Runners
    // on different threads.
    dnnl::stream s(g.engine);
    e.prim.execute(s, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    s.wait();
  } catch (const dnnl::error& e) {
    fail("gemm_bf16: oneDNN matmul failed ({}, status {}) for m={} n={} k={} trans_a={} trans_b={}", e.what(),
         static_cast<int>(e.status), m, n, k, trans_a, trans_b);
  }
}

const char* gemm_library() { return "oneDNN sgemm, bf16 matmul"; }

std::string gemm_bf16_impl(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb,
                           int64_t ldc, bool accumulate) {
  return Bf16Gemm::get().primitive({trans_a, trans_b, m, n, k, lda, ldb, ldc, accumulate}).pd.impl_info_str();
}

uint16_t to_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  // NaN stays a (quiet) NaN instead of rounding into infinity.
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<uint16_t>(u >> 16);
}

void to_bf16(uint16_t* dst, const float* src, int64_t n) {
  constexpr int64_t kChunk = 1 << 14;
#pragma omp parallel for schedule(static) if (n > kChunk)
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t c1 = std::min(n, c0 + kChunk);
    int64_t i = c0;
#if defined(__AVX512BF16__)
    // vcvtne2ps2bf16 rounds to nearest even like the scalar path (NaNs stay NaN).
    for (; i + 32 <= c1; i += 32) {
      const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
      _mm512_storeu_si512(dst + i, reinterpret_cast<const __m512i&>(v));
    }
#endif
    for (; i < c1; ++i) dst[i] = to_bf16(src[i]);
  }
}

}  // namespace kormo::backend::cpu_ops
