// The decode-sized products (few rows of A against a [n, k] weight matrix, gemv.cpp):
// against a double-precision product, through the gemm/gemm_bf16 entry points that route
// them there, over lengths that exercise the vector tails and partial micro-blocks.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kormo/backend/cpu/ops.h"
#include "kormo/util/rng.h"

using namespace kormo::backend::cpu_ops;

namespace gemv_test {

float from_bf16(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

struct Case {
  int64_t m, n, k;
};

// m = 5 is past kGemvMaxRows (oneDNN's path), so both sides of the switch are held to the same bound.
const Case kCases[] = {{1, 1, 1}, {1, 7, 33}, {2, 9, 70}, {3, 13, 768}, {4, 6, 17}, {4, 64, 100}, {5, 11, 40}};

void check_product(bool bf16) {
  kormo::Rng r(5);
  for (const Case& cs : kCases)
    for (bool acc : {false, true}) {
      const int64_t pad = 3, lda = cs.k + pad, ldb = cs.k + pad, ldc = cs.n + pad;
      std::vector<float> af(cs.m * lda), bf(cs.n * ldb), c(cs.m * ldc);
      for (auto& v : af) v = static_cast<float>(r.normal());
      for (auto& v : bf) v = static_cast<float>(r.normal());
      for (auto& v : c) v = static_cast<float>(r.normal());
      std::vector<uint16_t> a(af.size()), b(bf.size());
      to_bf16(a.data(), af.data(), static_cast<int64_t>(af.size()));
      to_bf16(b.data(), bf.data(), static_cast<int64_t>(bf.size()));
      const std::vector<float> c0 = c;
      if (bf16)
        gemm_bf16(false, true, cs.m, cs.n, cs.k, a.data(), lda, b.data(), ldb, acc, c.data(), ldc);
      else
        gemm(false, true, cs.m, cs.n, cs.k, 1.f, af.data(), lda, bf.data(), ldb, acc ? 1.f : 0.f, c.data(), ldc);
      for (int64_t i = 0; i < cs.m; ++i) {
        for (int64_t j = 0; j < cs.n; ++j) {
          double want = acc ? c0[i * ldc + j] : 0.0, mag = 0;
          for (int64_t p = 0; p < cs.k; ++p) {
            const double x = bf16 ? from_bf16(a[i * lda + p]) : af[i * lda + p];
            const double y = bf16 ? from_bf16(b[j * ldb + p]) : bf[j * ldb + p];
            want += x * y, mag += std::fabs(x * y);
          }
          ASSERT_NEAR(c[i * ldc + j], want, 1e-6 * (mag + 1))
              << "m=" << cs.m << " n=" << cs.n << " k=" << cs.k << " acc=" << acc << " at " << i << "," << j;
        }
        for (int64_t j = cs.n; j < ldc; ++j) ASSERT_EQ(c[i * ldc + j], c0[i * ldc + j]) << "padding written";
      }
    }
}

TEST(Gemv, Fp32FewRowsMatchDoubleProduct) { check_product(false); }
TEST(Gemv, Bf16FewRowsMatchDoubleProduct) { check_product(true); }

TEST(Gemv, SameBitsOnAnyThreadCount) {
  // Large enough to be split across threads.
  const int64_t m = 2, n = 1000, k = 300;
  kormo::Rng r(9);
  std::vector<float> a(m * k), b(n * k);
  for (auto& v : a) v = static_cast<float>(r.normal());
  for (auto& v : b) v = static_cast<float>(r.normal());
  std::vector<uint16_t> ab(a.size()), bb(b.size());
  to_bf16(ab.data(), a.data(), static_cast<int64_t>(a.size()));
  to_bf16(bb.data(), b.data(), static_cast<int64_t>(b.size()));
  const int saved = omp_get_max_threads();
  std::vector<float> c1(m * n), c2(m * n), d1(m * n), d2(m * n);
  omp_set_num_threads(1);
  gemv_bt(m, n, k, a.data(), k, b.data(), k, false, c1.data(), n);
  gemv_bt_bf16(m, n, k, ab.data(), k, bb.data(), k, false, d1.data(), n);
  omp_set_num_threads(2);
  gemv_bt(m, n, k, a.data(), k, b.data(), k, false, c2.data(), n);
  gemv_bt_bf16(m, n, k, ab.data(), k, bb.data(), k, false, d2.data(), n);
  omp_set_num_threads(saved);
  EXPECT_EQ(0, std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(d1.data(), d2.data(), d1.size() * sizeof(float)));
}

}  // namespace gemv_test
