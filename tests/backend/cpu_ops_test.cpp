// Each op's backward against central finite differences of L = Σ out · R (R random),
// at small sizes. Sums are taken in double so the check measures the gradient, not
// rounding; tolerances allow for fp32 forward kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "kormo/backend/cpu/ops.h"
#include "kormo/util/rng.h"

using namespace kormo::backend::cpu_ops;

namespace cpu_ops_test {
std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.f) {
  kormo::Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(r.normal()) * scale;
  return v;
}

double weighted_sum(const std::vector<float>& out, const std::vector<float>& r) {
  double s = 0;
  for (size_t i = 0; i < out.size(); ++i) s += static_cast<double>(out[i]) * r[i];
  return s;
}

// Checks analytic gradient `grad` of f at x against finite differences, on up to 40 entries.
void expect_grad(std::vector<float>& x, const std::vector<float>& grad, const std::function<double()>& f,
                 const char* what, float h = 1e-2f, double tol = 2e-2) {
  ASSERT_EQ(x.size(), grad.size());
  size_t stride = std::max<size_t>(1, x.size() / 40);
  double max_g = 0;
  for (float g : grad) max_g = std::max(max_g, std::fabs(static_cast<double>(g)));
  for (size_t i = 0; i < x.size(); i += stride) {
    float orig = x[i];
    x[i] = orig + h;
    double fp = f();
    x[i] = orig - h;
    double fm = f();
    x[i] = orig;
    double fd = (fp - fm) / (2.0 * h);
    EXPECT_NEAR(grad[i], fd, tol * std::max(1.0, max_g)) << what << " index " << i;
  }
}

TEST(Ops, EmbeddingBackward) {
  const int64_t N = 6, C = 5, V = 4;
  std::vector<int32_t> tok = {1, 3, 1, 0, 2, 1};
  auto wte = randn(V * C, 1), r = randn(N * C, 2);
  std::vector<float> out(N * C), dwte(V * C, 0.f);
  auto f = [&] {
    embedding_forward(out.data(), tok.data(), wte.data(), N, C);
    return weighted_sum(out, r);
  };
  embedding_backward(dwte.data(), r.data(), tok.data(), N, C);
  expect_grad(wte, dwte, f, "dwte");
}

TEST(Ops, RmsnormBackward) {
  const int64_t N = 5, C = 8;
  auto x = randn(N * C, 3), w = randn(C, 4), r = randn(N * C, 5);
  std::vector<float> out(N * C), rstd(N), dx(N * C, 0.f), dw(C, 0.f);
  auto f = [&] {
    rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f);
    return weighted_sum(out, r);
  };
  f();
  rmsnorm_backward(dx.data(), dw.data(), r.data(), x.data(), w.data(), rstd.data(), N, C);
  expect_grad(x, dx, f, "dx", 1e-3f);
  expect_grad(w, dw, f, "dw", 1e-3f);
}

TEST(Ops, MatmulBackward) {
  const int64_t N = 7, C = 6, OC = 5;
  auto x = randn(N * C, 6), w = randn(OC * C, 7), r = randn(N * OC, 8);
  std::vector<float> out(N * OC), dx(N * C, 0.f), dw(OC * C, 0.f);
  auto f = [&] {
    kormo::backend::cpu().matmul_forward(out.data(), x.data(), w.data(), N, C, OC);
    return weighted_sum(out, r);
  };
  f();
  kormo::backend::cpu().matmul_backward(dx.data(), dw.data(), r.data(), x.data(), w.data(), N, C, OC, false);
  expect_grad(x, dx, f, "dx");
  expect_grad(w, dw, f, "dw");
}

TEST(Ops, RopeBackward) {
  const int64_t N = 4, H = 2, hd = 6, half = hd / 2;
  std::vector<int32_t> pos = {0, 1, 2, 5};
  std::vector<float> cs(6 * half), sn(6 * half);
  for (int p = 0; p < 6; ++p)
    for (int i = 0; i < half; ++i) {
      float ang = static_cast<float>(p) / std::pow(100.f, 2.f * i / hd);
      cs[p * half + i] = std::cos(ang);
      sn[p * half + i] = std::sin(ang);
    }
  auto x = randn(N * H * hd, 9), r = randn(N * H * hd, 10);
  std::vector<float> out;
  auto f = [&] {
    out = x;
    rope_forward(out.data(), H * hd, pos.data(), cs.data(), sn.data(), N, H, hd);
    return weighted_sum(out, r);
  };
  std::vector<float> dx = r;
  rope_backward(dx.data(), H * hd, pos.data(), cs.data(), sn.data(), N, H, hd);
  expect_grad(x, dx, f, "dx");
}

TEST(Ops, AttentionBackwardGqaWithDocuments) {
  // Two rows; row 0 holds documents [0,3) and [3,7), row 1 one document; 4 query heads share 2 KV heads.
  const int64_t B = 2, T = 7, nh = 4, nkv = 2, hd = 4, N = B * T;
  std::vector<int32_t> seg = {0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0};
  auto q = randn(N * nh * hd, 11), k = randn(N * nkv * hd, 12), v = randn(N * nkv * hd, 13),
       r = randn(N * nh * hd, 14);
  std::vector<float> out(N * nh * hd), lse(B * nh * T), dq(q.size()), dk(k.size()), dv(v.size());
  auto f = [&] {
    attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), nh * hd, nkv * hd, seg.data(), B, T, nh,
                      nkv, hd);
    return weighted_sum(out, r);
  };
  f();
  attention_backward(dq.data(), dk.data(), dv.data(), r.data(), out.data(), lse.data(), q.data(), k.data(),
                     v.data(), nh * hd, nkv * hd, seg.data(), B, T, nh, nkv, hd);
  expect_grad(q, dq, f, "dq");
  expect_grad(k, dk, f, "dk");
  expect_grad(v, dv, f, "dv");
}

TEST(Ops, AttentionMasksOtherDocuments) {
  // Changing a key/value in document 1 must not change outputs of document 2 in the same row.
  const int64_t B = 1, T = 6, nh = 2, nkv = 1, hd = 4;
  std::vector<int32_t> seg = {0, 0, 0, 3, 3, 3};
  auto q = randn(T * nh * hd, 15), k = randn(T * nkv * hd, 16), v = randn(T * nkv * hd, 17);
  std::vector<float> out1(T * nh * hd), out2(out1.size()), lse(nh * T);
  attention_forward(out1.data(), lse.data(), q.data(), k.data(), v.data(), nh * hd, nkv * hd, seg.data(), B, T, nh,
                    nkv, hd);
  for (int i = 0; i < hd; ++i) k[1 * hd + i] += 3.f, v[1 * hd + i] -= 2.f;
  attention_forward(out2.data(), lse.data(), q.data(), k.data(), v.data(), nh * hd, nkv * hd, seg.data(), B, T, nh,
                    nkv, hd);
  for (int64_t i = 3 * nh * hd; i < T * nh * hd; ++i) EXPECT_EQ(out1[i], out2[i]);
  bool changed = false;
  for (int64_t i = 1 * nh * hd; i < 3 * nh * hd; ++i) changed |= out1[i] != out2[i];
  EXPECT_TRUE(changed);
}

TEST(Ops, SwigluBackward) {
  const int64_t N = 3, F = 5;
  auto gu = randn(N * 2 * F, 18), r = randn(N * F, 20);
  std::vector<float> h(N * F), dgu(N * 2 * F);
  auto f = [&] {
    swiglu_forward(h.data(), gu.data(), N, F);
    return weighted_sum(h, r);
  };
  swiglu_backward(dgu.data(), r.data(), gu.data(), N, F);
  expect_grad(gu, dgu, f, "dgu", 1e-3f);
}

TEST(Ops, ResidualBackward) {
  const int64_t n = 10;
  auto a = randn(n, 21), b = randn(n, 22), r = randn(n, 23);
  std::vector<float> out(n), da(n, 0.f), db(n, 0.f);
  auto f = [&] {
    residual_forward(out.data(), a.data(), b.data(), n);
    return weighted_sum(out, r);
  };
  residual_backward(da.data(), db.data(), r.data(), n);
  expect_grad(a, da, f, "da");
  expect_grad(b, db, f, "db");
}

TEST(Ops, CrossEntropyBackwardWithIgnoredAndZLoss) {
  const int64_t N = 4, V = 7;
  std::vector<int32_t> tgt = {3, -100, 0, 6};
  std::vector<float> weight = {0.5f, 0.5f, 1.5f, 0.25f};
  auto logits = randn(N * V, 24, 2.f);
  std::vector<float> losses(N), lse(N), d(N * V);
  for (float z : {0.f, 1e-2f}) {
    auto f = [&] {
      crossentropy_forward(losses.data(), lse.data(), logits.data(), tgt.data(), N, V, z);
      return weighted_sum(losses, weight);
    };
    f();
    EXPECT_EQ(losses[1], 0.f);
    crossentropy_backward(d.data(), logits.data(), lse.data(), tgt.data(), weight.data(), N, V, z);
    for (int j = 0; j < V; ++j) EXPECT_EQ(d[1 * V + j], 0.f);
    expect_grad(logits, d, f, "dlogits", 1e-3f);
  }
}

}  // namespace cpu_ops_test
