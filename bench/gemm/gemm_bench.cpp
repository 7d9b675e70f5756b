// GEMM throughput at the engine's shapes, one library per build (see run.sh).
// Row-major C[M,N] = op(A) op(B) with the three products a linear layer needs:
//   forward  out  = inp · Wᵀ      (NT)
//   backward dinp = dout · W      (NN)
//   backward dW  += doutᵀ · inp   (TN, beta = 1)
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>
#include <omp.h>
#if defined(USE_OPENBLAS)
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
static const char* kName = "openblas";
static void init(int t) { openblas_set_num_threads(t); }
static void sgemm(bool ta, bool tb, int m, int n, int k, float beta, const float* a, int lda, const float* b,
                  int ldb, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.f, a, lda,
              b, ldb, beta, c, ldc);
}
#elif defined(USE_BLIS)
#include <blis.h>
static const char* kName = "blis";
static void init(int t) { bli_thread_set_num_threads(t); }
static void sgemm(bool ta, bool tb, int m, int n, int k, float beta, const float* a, int lda, const float* b,
                  int ldb, float* c, int ldc) {
  float one = 1.f;
  bli_sgemm(ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, m, n, k, &one,
            const_cast<float*>(a), lda, 1, const_cast<float*>(b), ldb, 1, &beta, c, ldc, 1);
}
#elif defined(USE_KORMO_BF16)
// kormo's own bf16 GEMM (oneDNN matmul primitive, fp32 accumulation and output); inputs
// are converted to bf16 once, outside the timing, as the engine does per step.
#include "kormo/backend/cpu/ops.h"
static const char* kName = "bf16";
static void init(int t) { omp_set_num_threads(t); }
static std::vector<uint16_t> bf(const float* x, size_t n) {
  std::vector<uint16_t> r(n);
  kormo::backend::cpu_ops::to_bf16(r.data(), x, static_cast<int64_t>(n));
  return r;
}
static void sgemm(bool ta, bool tb, int m, int n, int k, float beta, const float* a, int lda, const float* b,
                  int ldb, float* c, int ldc) {
  // Conversions are cached per input pointer so the timed call is the GEMM alone.
  static std::vector<std::pair<const float*, std::vector<uint16_t>>> cache;
  auto conv = [&](const float* x, size_t n) -> const uint16_t* {
    for (auto& [p, v] : cache)
      if (p == x && v.size() == n) return v.data();
    cache.emplace_back(x, bf(x, n));
    return cache.back().second.data();
  };
  const size_t na = static_cast<size_t>(ta ? k : m) * lda, nb = static_cast<size_t>(tb ? n : k) * ldb;
  kormo::backend::cpu_ops::gemm_bf16(ta, tb, m, n, k, conv(a, na), lda, conv(b, nb), ldb, beta != 0.f, c, ldc);
}
#elif defined(USE_DNNL)
#include <dnnl.h>
static const char* kName = "onednn";
static void init(int t) { omp_set_num_threads(t); }
static void sgemm(bool ta, bool tb, int m, int n, int k, float beta, const float* a, int lda, const float* b,
                  int ldb, float* c, int ldc) {
  dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.f, a, lda, b, ldb, beta, c, ldc);
}
#endif

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  init(threads);
  // tokens × (in → out) for the demo/25M/110M sizes and a square reference.
  struct Shape { int tokens, in, out; const char* what; };
  std::vector<Shape> shapes = {
      {2048, 256, 256, "5M attn"},     {2048, 256, 768, "5M mlp"},     {2048, 256, 8192, "5M head"},
      {2048, 512, 512, "25M attn"},    {2048, 512, 1536, "25M mlp"},   {2048, 512, 8192, "25M head"},
      {2048, 768, 768, "110M attn"},   {2048, 768, 2048, "110M mlp"},  {2048, 2048, 768, "110M down"},
      {2048, 768, 16384, "110M head"}, {2048, 2048, 2048, "square"}};
  // Optional TOKENSxINxOUT arguments replace the list (to compare with bench/train/torch_gemm.py).
  if (argc > 2) shapes.clear();
  for (int i = 2; i < argc; ++i) {
    Shape s{0, 0, 0, "arg"};
    if (std::sscanf(argv[i], "%dx%dx%d", &s.tokens, &s.in, &s.out) != 3) {
      std::fprintf(stderr, "shape '%s': expected TOKENSxINxOUT\n", argv[i]);
      return 2;
    }
    shapes.push_back(s);
  }
#if defined(USE_KORMO_BF16)
  {
    // Conversion rate: the AVX512_BF16 array path against the scalar rounding loop.
    const int64_t n = 32 << 20;
    std::vector<float> x(n, 1.2345f);
    std::vector<uint16_t> y(n);
    double vec = 1e9, scalar = 1e9;
    for (int rep = 0; rep < 5; ++rep) {
      auto t0 = std::chrono::steady_clock::now();
      kormo::backend::cpu_ops::to_bf16(y.data(), x.data(), n);
      auto t1 = std::chrono::steady_clock::now();
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) y[i] = kormo::backend::cpu_ops::to_bf16(x[i]);
      auto t2 = std::chrono::steady_clock::now();
      vec = std::min(vec, std::chrono::duration<double>(t1 - t0).count());
      scalar = std::min(scalar, std::chrono::duration<double>(t2 - t1).count());
    }
    std::printf("fp32->bf16: array path %.2f GB/s read, scalar loop %.2f GB/s read\n", 4.0 * n / vec * 1e-9,
                4.0 * n / scalar * 1e-9);
  }
  std::printf("bf16 kernels: %s (fwd), %s (dinp), %s (dW)\n",
              kormo::backend::cpu_ops::gemm_bf16_impl(false, true, 2048, 768, 768, 768, 768, 768, false).c_str(),
              kormo::backend::cpu_ops::gemm_bf16_impl(false, false, 2048, 768, 768, 768, 768, 768, false).c_str(),
              kormo::backend::cpu_ops::gemm_bf16_impl(true, false, 768, 768, 2048, 768, 768, 768, true).c_str());
#endif
  double total_flop = 0, total_s = 0;
  for (const Shape& s : shapes) {
    std::vector<float> inp((size_t)s.tokens * s.in, 0.01f), w((size_t)s.out * s.in, 0.02f),
        out((size_t)s.tokens * s.out), dout((size_t)s.tokens * s.out, 0.03f), dinp((size_t)s.tokens * s.in),
        dw((size_t)s.out * s.in);
    double flop = 2.0 * s.tokens * s.in * s.out;
    // Best wall-clock time, and best process CPU time (the rate per busy core, which other
    // jobs on a shared machine disturb far less).
    double best[3] = {1e9, 1e9, 1e9}, best_cpu[3] = {1e9, 1e9, 1e9};
    auto cpu_now = [] {
      timespec ts;
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
      return ts.tv_sec + 1e-9 * ts.tv_nsec;
    };
    for (int rep = 0; rep < 5; ++rep) {
      for (int p = 0; p < 3; ++p) {
        auto t0 = std::chrono::steady_clock::now();
        const double c0 = cpu_now();
        if (p == 0) sgemm(false, true, s.tokens, s.out, s.in, 0.f, inp.data(), s.in, w.data(), s.in, out.data(), s.out);
        if (p == 1)
          sgemm(false, false, s.tokens, s.in, s.out, 0.f, dout.data(), s.out, w.data(), s.in, dinp.data(), s.in);
        if (p == 2) sgemm(true, false, s.out, s.in, s.tokens, 1.f, dout.data(), s.out, inp.data(), s.in, dw.data(), s.in);
        best_cpu[p] = std::min(best_cpu[p], cpu_now() - c0);
        best[p] = std::min(best[p], std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
    }
    std::printf("%-8s %-10s %5d x %5d -> %5d  fwd(NT) %6.1f (%5.1f/core)  dinp(NN) %6.1f (%5.1f/core)  dW(TN) %6.1f "
                "(%5.1f/core) GFLOP/s\n",
                kName, s.what, s.tokens, s.in, s.out, flop / best[0] * 1e-9, flop / best_cpu[0] * 1e-9,
                flop / best[1] * 1e-9, flop / best_cpu[1] * 1e-9, flop / best[2] * 1e-9, flop / best_cpu[2] * 1e-9);
    total_flop += 3 * flop;
    total_s += best[0] + best[1] + best[2];
  }
  std::printf("%-8s overall %.1f GFLOP/s (threads=%d)\n", kName, total_flop / total_s * 1e-9, threads);
}
