// The CPU backend's mixed-precision pieces: fp32 → bf16 rounding and the bf16 GEMM
// (bf16 inputs, fp32 accumulation) against a double-precision product of the same
// rounded inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kormo/backend/cpu/ops.h"
#include "kormo/util/rng.h"

using namespace kormo::backend::cpu_ops;

namespace bf16_test {
float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
float from_bf16(uint16_t h) { return bits_to_float(static_cast<uint32_t>(h) << 16); }

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(to_bf16(-2.0f), 0xC000);
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
  EXPECT_EQ(to_bf16(bits_to_float(0x3F808000u)), 0x3F80);
  // 1 + 3·2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6: rounds up to even.
  EXPECT_EQ(to_bf16(bits_to_float(0x3F818000u)), 0x3F82);
  EXPECT_EQ(to_bf16(bits_to_float(0x3F808001u)), 0x3F81);  // just above halfway
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(std::nanf("")))));
  EXPECT_TRUE(std::isinf(from_bf16(to_bf16(INFINITY))));
  EXPECT_TRUE(std::isinf(from_bf16(to_bf16(3.4e38f))));  // rounds past the largest bf16
}

TEST(Bf16, ArrayConversionMatchesScalar) {
  // An odd length exercises the vector body and the scalar tail.
  kormo::Rng r(7);
  std::vector<float> x(100003);
  for (auto& v : x) v = static_cast<float>(r.normal()) * 3.f;
  x[5] = std::nanf(""), x[6] = -INFINITY, x[7] = bits_to_float(0x3F818000u);
  std::vector<uint16_t> y(x.size());
  to_bf16(y.data(), x.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) {
      EXPECT_TRUE(std::isnan(from_bf16(y[i])));
      continue;
    }
    ASSERT_EQ(y[i], to_bf16(x[i])) << "index " << i << " value " << x[i];
  }
}

TEST(Bf16, GemmMatchesDoubleProductOfRoundedInputs) {
  const int64_t m = 37, n = 29, k = 70, pad = 3;
  kormo::Rng r(11);
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (bool acc : {false, true}) {
        // Stored shapes with padded row strides, as the engine's fused buffers have.
        const int64_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
        const int64_t lda = ac + pad, ldb = bc + pad, ldc = n + pad;
        std::vector<float> af(ar * lda), bf(br * ldb), c(m * ldc);
        for (auto& v : af) v = static_cast<float>(r.normal());
        for (auto& v : bf) v = static_cast<float>(r.normal());
        for (auto& v : c) v = static_cast<float>(r.normal());
        std::vector<uint16_t> a(af.size()), b(bf.size());
        to_bf16(a.data(), af.data(), static_cast<int64_t>(af.size()));
        to_bf16(b.data(), bf.data(), static_cast<int64_t>(bf.size()));
        const std::vector<float> c0 = c;
        gemm_bf16(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, acc, c.data(), ldc);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double want = acc ? c0[i * ldc + j] : 0.0, mag = 0;
            for (int64_t p = 0; p < k; ++p) {
              const double x = from_bf16(ta ? a[p * lda + i] : a[i * lda + p]);
              const double y = from_bf16(tb ? b[j * ldb + p] : b[p * ldb + j]);
              want += x * y, mag += std::fabs(x * y);
            }
            // bf16 × bf16 products are exact in fp32: only fp32 summation error remains.
            ASSERT_NEAR(c[i * ldc + j], want, 1e-6 * (mag + 1)) << "ta=" << ta << " tb=" << tb << " acc=" << acc
                                                                << " at " << i << "," << j;
          }
        // The padding between rows of C is left alone.
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = n; j < ldc; ++j) ASSERT_EQ(c[i * ldc + j], c0[i * ldc + j]);
      }
}

}  // namespace bf16_test
