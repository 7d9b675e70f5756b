// Backend attention over a KV cache (cpu_ops::attention_cached) against a double-precision
// reference: sequences of different lengths and cached lengths around the kernel's query
// block size (64 rows), GQA, an even and an odd head size, and bit-identical results on 1
// and 2 threads.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kormo/backend/cpu/ops.h"
#include "kormo/util/rng.h"

using namespace kormo::backend::cpu_ops;

namespace attention_cached_test {
// Queries, keys and values laid out as the decoder lays them out: q inside a fused q|k|v
// row, K and V side by side in each cache row; cache rows past a sequence's keys hold NaN,
// so reading a key the queries may not see poisons the output.
struct Case {
  int64_t nh, nkv, hd;
  std::vector<int32_t> rows, past, slot;
  int64_t q_ld, kv_ld, slot_stride, N;
  std::vector<float> q, cache;

  Case(int64_t nh_, int64_t nkv_, int64_t hd_, const std::vector<int32_t>& lens, const std::vector<int32_t>& pasts,
       uint64_t seed)
      : nh(nh_), nkv(nkv_), hd(hd_), past(pasts) {
    const int64_t S = static_cast<int64_t>(lens.size());
    rows.push_back(0);
    int64_t cap = 0;
    for (int64_t s = 0; s < S; ++s) {
      rows.push_back(rows.back() + lens[s]);
      cap = std::max<int64_t>(cap, past[s] + lens[s] + 3);
      slot.push_back(static_cast<int32_t>(S - 1 - s));  // slots out of sequence order
    }
    N = rows.back();
    q_ld = (nh + 2 * nkv) * hd;
    kv_ld = 2 * nkv * hd;
    slot_stride = cap * kv_ld;
    kormo::Rng r(seed);
    q.resize(static_cast<size_t>(N * q_ld));
    for (auto& x : q) x = static_cast<float>(r.normal());
    cache.assign(static_cast<size_t>(S * slot_stride), std::numeric_limits<float>::quiet_NaN());
    for (int64_t s = 0; s < S; ++s)
      for (int64_t j = 0; j < past[s] + lens[s]; ++j)
        for (int64_t c = 0; c < kv_ld; ++c)
          cache[static_cast<size_t>(slot[s] * slot_stride + j * kv_ld + c)] = static_cast<float>(r.normal());
  }
  int64_t S() const { return static_cast<int64_t>(past.size()); }

  std::vector<float> run() const {
    std::vector<float> out(static_cast<size_t>(N * nh * hd), -1.f);
    attention_cached(out.data(), q.data(), q_ld, cache.data(), cache.data() + nkv * hd, kv_ld, slot_stride,
                     rows.data(), past.data(), slot.data(), S(), nh, nkv, hd);
    return out;
  }

  // softmax(q·kᵀ/√hd)·v in double, query row i of sequence s seeing keys 0 .. past + i.
  std::vector<double> reference() const {
    std::vector<double> out(static_cast<size_t>(N * nh * hd));
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    for (int64_t s = 0; s < S(); ++s)
      for (int64_t i = 0; i < rows[s + 1] - rows[s]; ++i)
        for (int64_t h = 0; h < nh; ++h) {
          const int64_t n = past[s] + i + 1, kh = h / (nh / nkv);
          const float* qr = q.data() + (rows[s] + i) * q_ld + h * hd;
          std::vector<double> p(static_cast<size_t>(n));
          double mx = -INFINITY, sum = 0;
          for (int64_t j = 0; j < n; ++j) {
            const float* kr = cache.data() + slot[s] * slot_stride + j * kv_ld + kh * hd;
            double d = 0;
            for (int64_t c = 0; c < hd; ++c) d += static_cast<double>(qr[c]) * kr[c];
            p[j] = d * scale;
            mx = std::max(mx, p[j]);
          }
          for (auto& x : p) sum += (x = std::exp(x - mx));
          double* o = out.data() + (rows[s] + i) * nh * hd + h * hd;
          for (int64_t j = 0; j < n; ++j) {
            const float* vr = cache.data() + slot[s] * slot_stride + j * kv_ld + nkv * hd + kh * hd;
            for (int64_t c = 0; c < hd; ++c) o[c] += p[j] / sum * vr[c];
          }
        }
    return out;
  }
};

void expect_matches_reference(const Case& c, const char* what) {
  const std::vector<float> out = c.run();
  const std::vector<double> ref = c.reference();
  double worst = 0;
  for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::fabs(out[i] - ref[i]));
  EXPECT_LT(worst, 2e-5) << what;  // fp32 scores and sums of ≤ 300 terms around 1
}

void expect_thread_independent(const Case& c, const char* what) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const std::vector<float> one = c.run();
  omp_set_num_threads(2);
  const std::vector<float> two = c.run();
  omp_set_num_threads(saved);
  EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float))) << what;
}

TEST(AttentionCached, PrefillBlocksMatchReference) {
  // Lengths at the block boundary (63, 64, 65, 129), a one-row sequence beside prefills,
  // cached lengths 0 to 100; 4 query heads on 2 KV heads.
  const std::vector<int32_t> lens = {63, 64, 65, 1, 129, 3}, pasts = {0, 5, 100, 37, 0, 64};
  for (int64_t hd : {64, 7}) {
    Case c(4, 2, hd, lens, pasts, 40 + static_cast<uint64_t>(hd));
    expect_matches_reference(c, hd == 64 ? "hd 64" : "hd 7");
    expect_thread_independent(c, hd == 64 ? "hd 64" : "hd 7");
  }
}

TEST(AttentionCached, DecodeMatchesReference) {
  Case c(6, 3, 64, {1, 1, 1}, {0, 64, 200}, 50);
  expect_matches_reference(c, "decode");
  expect_thread_independent(c, "decode");
}

TEST(AttentionCached, LongSequenceMatchesReference) {
  // One sequence of many blocks, the perplexity-scoring shape (one document per forward).
  Case c(2, 1, 32, {300}, {0}, 60);
  expect_matches_reference(c, "300 rows");
  expect_thread_independent(c, "300 rows");
}

}  // namespace attention_cached_test
