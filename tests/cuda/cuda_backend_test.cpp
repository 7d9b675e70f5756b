// The CUDA backend against the CPU backend, both fed the same host data: every op on
// random inputs, determinism (each op sequence run twice on the GPU → bit-identical), and
// a whole tiny model (init, forward, backward, AdamW) in fp32 and bf16 GEMM modes.
// Errors are relative: max|cuda − cpu| / max|cpu| per op output, ‖cuda − cpu‖ / ‖cpu‖ per
// model tensor. Skipped when no GPU is visible; compiled only in CUDA builds.
#include <gtest/gtest.h>

#include "kormo/backend/backend.h"

#if KORMO_HAVE_CUDA

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <functional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "kormo/backend/cuda/cuda_backend.h"
#include "kormo/dist/communicator.h"
#include "kormo/dist/nccl_communicator.h"
#include "kormo/infer/decoder.h"
#include "kormo/infer/kv_cache.h"
#include "kormo/model/runner.h"
#include "kormo/model/weights.h"
#include "kormo/util/error.h"
#include "kormo/util/rng.h"

using namespace kormo;
using namespace kormo::backend;

namespace cuda_backend_test {

std::vector<float> randn(int64_t n, uint64_t seed, float scale = 1.f) {
  Rng r(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<float>(r.normal()) * scale;
  return v;
}

template <class T>
Array<T> upload(Backend& be, const std::vector<T>& h) {
  Array<T> a(be, static_cast<int64_t>(h.size()));
  a.upload(h.data(), a.size());
  return a;
}

template <class T>
std::vector<T> download(const Array<T>& a) {
  std::vector<T> h(static_cast<size_t>(a.size()));
  a.download(h.data(), a.size());
  return h;
}

// max|a − b| / max|b|; infinite when either holds a non-finite value.
double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return INFINITY;
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    ref = std::max(ref, std::fabs(static_cast<double>(b[i])));
  }
  return diff == 0 ? 0 : diff / ref;
}

// ‖a − b‖ / ‖b‖ over [off, off + n).
double norm_rel(const float* a, const float* b, int64_t n) {
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(a[i])) return INFINITY;
    diff += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    ref += static_cast<double>(b[i]) * b[i];
  }
  return diff == 0 ? 0 : std::sqrt(diff / ref);
}

bool bit_identical(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Named host copies of an op sequence's outputs.
using Outputs = std::vector<std::pair<std::string, std::vector<float>>>;

class Cuda : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    gpu_ = cuda_backend(why);
    if (!gpu_) GTEST_SKIP() << why;
    set_cuda_gemm(*gpu_, CudaGemm::kFp32);
    set_cuda_attention(*gpu_, CudaAttention::kFp32);
  }

  // Runs `run` on the CPU and twice on the GPU: each output within `tol` of the CPU's
  // (max_rel) and identical across the two GPU runs.
  void expect_parity(const std::function<Outputs(Backend&)>& run, double tol) {
    const Outputs c = run(cpu()), g = run(*gpu_), again = run(*gpu_);
    ASSERT_EQ(c.size(), g.size());
    for (size_t i = 0; i < c.size(); ++i) {
      EXPECT_LE(max_rel(g[i].second, c[i].second), tol) << g[i].first;
      EXPECT_TRUE(bit_identical(g[i].second, again[i].second)) << g[i].first << " differs between two GPU runs";
    }
  }

  Backend* gpu_ = nullptr;
};

// seg_start of B rows of T positions with documents starting at `starts` (per row).
std::vector<int32_t> seg_starts(int64_t B, int64_t T, const std::vector<std::vector<int32_t>>& starts) {
  std::vector<int32_t> seg(static_cast<size_t>(B * T));
  for (int64_t b = 0; b < B; ++b) {
    int32_t s = 0;
    for (int64_t t = 0; t < T; ++t) {
      for (int32_t st : starts[b])
        if (st == t) s = st;
      seg[b * T + t] = s;
    }
  }
  return seg;
}

TEST_F(Cuda, NameAndMemory) {
  EXPECT_EQ(gpu_->name().rfind("cuda:0 (", 0), 0u) << gpu_->name();
  EXPECT_NE(gpu_->name().find("GEMM fp32"), std::string::npos) << gpu_->name();
  EXPECT_NE(gpu_->name().find("attention fp32"), std::string::npos) << gpu_->name();
  EXPECT_FALSE(gpu_->host_accessible());
  Array<float> a(*gpu_, 1000), b(*gpu_, 1000);
  EXPECT_EQ(download(a), std::vector<float>(1000, 0.f));  // zero-filled
  gpu_->fill(a.data(), 2.5f, 600);
  gpu_->copy(b.data(), a.data(), 1000 * sizeof(float));
  std::vector<float> want(1000, 0.f);
  std::fill_n(want.begin(), 600, 2.5f);
  EXPECT_EQ(download(b), want);
  EXPECT_THROW({ Array<float> huge(*gpu_, int64_t{1} << 45); }, Error);  // 128 TiB: out of memory is an Error
}

TEST_F(Cuda, Embedding) {
  const int64_t N = 2 * 64, C = 300, V = 50;  // C > 256: more than one column block
  Rng r(1);
  std::vector<int32_t> tok(N);
  for (auto& t : tok) t = static_cast<int32_t>(r.below(V));
  const auto wte = randn(V * C, 2), dout = randn(N * C, 3), dwte = randn(V * C, 4);
  // Sums of the same floats in the same (token) order on both backends: exact.
  expect_parity(
      [&](Backend& be) {
        auto T = upload(be, tok);
        auto W = upload(be, wte), D = upload(be, dout), DW = upload(be, dwte);
        Array<float> O(be, N * C);
        be.embedding_forward(O.data(), T.data(), W.data(), N, C);
        be.embedding_backward(DW.data(), D.data(), T.data(), N, C);
        return Outputs{{"out", download(O)}, {"dwte", download(DW)}};
      },
      0.0);
}

TEST_F(Cuda, Rmsnorm) {
  const int64_t N = 300, C = 300;  // N > 64: several row chunks in the dw reduction
  const auto x = randn(N * C, 5), w = randn(C, 6), dout = randn(N * C, 7), dx = randn(N * C, 8), dw = randn(C, 9);
  expect_parity(
      [&](Backend& be) {
        auto X = upload(be, x), W = upload(be, w), D = upload(be, dout), DX = upload(be, dx), DW = upload(be, dw);
        Array<float> O(be, N * C), R(be, N);
        be.rmsnorm_forward(O.data(), R.data(), X.data(), W.data(), N, C, 1e-5f);
        be.rmsnorm_backward(DX.data(), DW.data(), D.data(), X.data(), W.data(), R.data(), N, C);
        return Outputs{{"out", download(O)}, {"rstd", download(R)}, {"dinp", download(DX)}, {"dw", download(DW)}};
      },
      1e-5);
}

TEST_F(Cuda, Rope) {
  // q and k heads inside a fused row of stride ld, positions restarting per document.
  const int64_t B = 2, T = 64, nh = 4, nkv = 2, hd = 16, ld = (nh + 2 * nkv) * hd, half = hd / 2, N = B * T;
  const auto seg = seg_starts(B, T, {{0, 20, 45}, {0, 10, 50}});
  std::vector<int32_t> pos(N);
  for (int64_t n = 0; n < N; ++n) pos[n] = static_cast<int32_t>(n % T - seg[n]);
  const auto x = randn(N * ld, 10), cs = randn(T * half, 11), sn = randn(T * half, 12), dx = randn(N * ld, 13);
  expect_parity(
      [&](Backend& be) {
        auto X = upload(be, x), DX = upload(be, dx), CS = upload(be, cs), SN = upload(be, sn);
        auto P = upload(be, pos);
        be.rope_forward(X.data(), ld, P.data(), CS.data(), SN.data(), N, nh, hd);
        be.rope_forward(X.data() + nh * hd, ld, P.data(), CS.data(), SN.data(), N, nkv, hd);
        be.rope_backward(DX.data(), ld, P.data(), CS.data(), SN.data(), N, nh, hd);
        return Outputs{{"x", download(X)}, {"dx", download(DX)}};
      },
      1e-5);
}

TEST_F(Cuda, SwigluAndResidual) {
  const int64_t N = 100, F = 300;
  const auto gu = randn(N * 2 * F, 14, 3.f), dh = randn(N * F, 15), a = randn(N * F, 16), da = randn(N * F, 17),
             db = randn(N * F, 18);
  expect_parity(
      [&](Backend& be) {
        auto GU = upload(be, gu), DH = upload(be, dh), A = upload(be, a), DA = upload(be, da), DB = upload(be, db);
        Array<float> H(be, N * F), DGU(be, N * 2 * F), R(be, N * F);
        be.swiglu_forward(H.data(), GU.data(), N, F);
        be.swiglu_backward(DGU.data(), DH.data(), GU.data(), N, F);
        be.residual_forward(R.data(), A.data(), H.data(), N * F);
        be.residual_backward(DA.data(), DB.data(), DH.data(), N * F);
        return Outputs{{"h", download(H)}, {"dgu", download(DGU)}, {"sum", download(R)}, {"da", download(DA)},
                       {"db", download(DB)}};
      },
      1e-5);
}

TEST_F(Cuda, CrossEntropy) {
  const int64_t N = 64, V = 1000;
  const float z_loss = 1e-4f;
  const auto logits = randn(N * V, 19, 4.f);
  Rng r(20);
  std::vector<int32_t> targets(N);
  std::vector<float> weight(N);
  for (int64_t n = 0; n < N; ++n) {
    targets[n] = n % 7 == 3 ? -100 : static_cast<int32_t>(r.below(V));  // some ignored
    weight[n] = targets[n] < 0 || n % 11 == 5 ? 0.f : 1.f / 50;          // and some zero weights
  }
  expect_parity(
      [&](Backend& be) {
        auto L = upload(be, logits), W = upload(be, weight);
        auto TG = upload(be, targets);
        Array<float> loss(be, N), lse(be, N);
        be.crossentropy_forward(loss.data(), lse.data(), L.data(), TG.data(), N, V, z_loss);
        // In place, as the runner calls it.
        be.crossentropy_backward(L.data(), L.data(), lse.data(), TG.data(), W.data(), N, V, z_loss);
        return Outputs{{"losses", download(loss)}, {"lse", download(lse)}, {"dlogits", download(L)}};
      },
      1e-5);
}

struct AttentionCase {
  int64_t B, T, nh, nkv, hd;
  std::vector<std::vector<int32_t>> doc_starts;  // per row
};

TEST_F(Cuda, Attention) {
  const std::vector<AttentionCase> cases = {
      {2, 64, 4, 2, 16, {{0, 20, 45}, {0, 10, 50}}},                // 3 documents per row, GQA
      {2, 200, 4, 1, 64, {{0, 1, 130}, {0, 63, 64}}},               // a 1-token document; T not a tile multiple
      {1, 300, 2, 2, 128, {{0, 100, 299}}},                         // head_dim 128, no grouping
      {1, 96, 6, 2, 40, {{0, 33, 70}}},                             // head_dim padded to 64
  };
  for (const AttentionCase& c : cases) {
    SCOPED_TRACE("B=" + std::to_string(c.B) + " T=" + std::to_string(c.T) + " hd=" + std::to_string(c.hd));
    const int64_t N = c.B * c.T, Q = c.nh * c.hd, KV = c.nkv * c.hd, QKV = Q + 2 * KV;
    const auto seg = seg_starts(c.B, c.T, c.doc_starts);
    const auto qkv = randn(N * QKV, 21), dout = randn(N * Q, 22);
    expect_parity(
        [&](Backend& be) {
          auto X = upload(be, qkv), DO = upload(be, dout);
          auto S = upload(be, seg);
          Array<float> out(be, N * Q), lse(be, c.B * c.nh * c.T), dqkv(be, N * QKV);
          const float* q = X.data();
          be.attention_forward(out.data(), lse.data(), q, q + Q, q + Q + KV, QKV, QKV, S.data(), c.B, c.T, c.nh,
                               c.nkv, c.hd);
          be.attention_backward(dqkv.data(), dqkv.data() + Q, dqkv.data() + Q + KV, DO.data(), out.data(),
                                lse.data(), q, q + Q, q + Q + KV, QKV, QKV, S.data(), c.B, c.T, c.nh, c.nkv, c.hd);
          return Outputs{{"out", download(out)}, {"lse", download(lse)}, {"dqkv", download(dqkv)}};
        },
        1e-4);
  }
}

// The bf16 tensor-core kernels (KORMO_CUDA_ATTENTION=bf16) against the CPU backend: every
// T of {1, 17, 64, 129, 300} (below, at and across the 64-row tiles) with every head dim of
// {16, 37, 64, 128} (padded to 32, 64, 128), heads 4/4 and 8/2 (GQA) in turn; two rows of
// packed documents (a 1-token document, a boundary on a tile edge); q, k, v side by side in
// one fused row. Errors are ‖cuda − cpu‖ / ‖cpu‖ per tensor (dq, dk, dv taken from their
// columns of the fused gradient) and max |cuda − cpu| for lse.
//
// The bounds are set from a float64 emulation of the kernels' rounding (q, k, v, dO, P
// and dS rounded to bf16, everything else exact; bench/cuda/attention_bf16_bounds.py) on
// these cases and inputs (N(0, 1), so scores of unit variance), head by head (a ratio over
// all heads is at most the worst head's): worst errors out 3.0e-3, dv 3.4e-3, dq and dk
// 7.7e-3, lse 1.1e-2 (a 1-key row's lse is its score, which carries the bf16 rounding of q
// and k whole). The bounds allow 2–3× that. A wrong mask or scale lands far outside them:
// in the same emulation, dropping the document mask (causal only) moves out by ≥ 0.26,
// dq/dk by ≥ 0.056 and lse by ≥ 1.5; scaling scores by 1.1 moves out and dv by ≥ 0.029,
// dq/dk by ≥ 0.072 and lse by ≥ 0.12. Each GPU result is also bit-identical on a second run.
TEST_F(Cuda, AttentionTensorCores) {
  constexpr double kOutTol = 1e-2, kDvTol = 1e-2, kDqDkTol = 1.5e-2, kLseTol = 3e-2;
  const std::vector<std::vector<int32_t>> doc_starts = {{0, 7, 8, 40, 100, 130}, {0, 63, 64, 200}};  // ≥ T: unused
  int index = 0;
  for (int64_t T : {1, 17, 64, 129, 300})
    for (int64_t hd : {16, 37, 64, 128}) {
      const bool gqa = index++ % 2 == 1;
      const AttentionCase c{2, T, gqa ? 8 : 4, gqa ? 2 : 4, hd, doc_starts};
      SCOPED_TRACE("T=" + std::to_string(T) + " hd=" + std::to_string(hd) + " heads " + std::to_string(c.nh) + "/" +
                   std::to_string(c.nkv));
      const int64_t N = c.B * c.T, Q = c.nh * c.hd, KV = c.nkv * c.hd, QKV = Q + 2 * KV;
      const auto seg = seg_starts(c.B, c.T, c.doc_starts);
      const auto qkv = randn(N * QKV, 31), dout = randn(N * Q, 32);
      const auto run = [&](Backend& be) {
        auto X = upload(be, qkv), DO = upload(be, dout);
        auto S = upload(be, seg);
        Array<float> out(be, N * Q), lse(be, c.B * c.nh * c.T), dqkv(be, N * QKV);
        if (&be == gpu_) be.fill(dqkv.data(), NAN, N * QKV);  // the kernels overwrite every gradient
        const float* q = X.data();
        be.attention_forward(out.data(), lse.data(), q, q + Q, q + Q + KV, QKV, QKV, S.data(), c.B, c.T, c.nh,
                             c.nkv, c.hd);
        be.attention_backward(dqkv.data(), dqkv.data() + Q, dqkv.data() + Q + KV, DO.data(), out.data(), lse.data(),
                              q, q + Q, q + Q + KV, QKV, QKV, S.data(), c.B, c.T, c.nh, c.nkv, c.hd);
        return Outputs{{"out", download(out)}, {"lse", download(lse)}, {"dqkv", download(dqkv)}};
      };
      const Outputs cpu_out = run(cpu());
      set_cuda_attention(*gpu_, CudaAttention::kBf16);
      const Outputs g = run(*gpu_), again = run(*gpu_);
      for (size_t i = 0; i < g.size(); ++i)
        EXPECT_TRUE(bit_identical(g[i].second, again[i].second)) << g[i].first << " differs between two GPU runs";
      EXPECT_LE(norm_rel(g[0].second.data(), cpu_out[0].second.data(), N * Q), kOutTol) << "out";
      double lse_err = 0;
      for (size_t i = 0; i < g[1].second.size(); ++i)
        lse_err = std::max(lse_err, std::isfinite(g[1].second[i])
                                        ? std::fabs(static_cast<double>(g[1].second[i]) - cpu_out[1].second[i])
                                        : INFINITY);
      EXPECT_LE(lse_err, kLseTol) << "lse";
      // dq, dk, dv: columns [off, off + width) of the fused rows.
      const auto columns = [&](const std::vector<float>& fused, int64_t off, int64_t width) {
        std::vector<float> part;
        for (int64_t n = 0; n < N; ++n) part.insert(part.end(), &fused[n * QKV + off], &fused[n * QKV + off + width]);
        return part;
      };
      const std::array<std::tuple<const char*, int64_t, int64_t, double>, 3> grads = {
          {{"dq", 0, Q, kDqDkTol}, {"dk", Q, KV, kDqDkTol}, {"dv", Q + KV, KV, kDvTol}}};
      for (const auto& [name, off, width, tol] : grads) {
        const auto gp = columns(g[2].second, off, width), cp = columns(cpu_out[2].second, off, width);
        // At T = 1 a query's one key is its own: the softmax of one score has no gradient, so
        // the exact dq and dk are 0 and the kernels' dP − D is bf16 rounding noise of dO (a
        // ratio to 0 is meaningless); they must still be finite, written over the NaN fill.
        if (T == 1 && off < Q + KV)
          EXPECT_TRUE(std::all_of(gp.begin(), gp.end(), [](float x) { return std::isfinite(x); })) << name;
        else
          EXPECT_LE(norm_rel(gp.data(), cp.data(), static_cast<int64_t>(cp.size())), tol) << name;
      }
      set_cuda_attention(*gpu_, CudaAttention::kFp32);
    }
}

// Attention of new rows against a KV cache laid out as infer::KvCache lays it out
// ([slot][position][K | V]): sequences with different cached lengths in slots out of
// order, 1-row decode steps beside multi-row prefill chunks (one from an empty cache),
// GQA and not, head dims 16 … 128 including odd ones. Every cache position a sequence
// must not read (at or past past + rows) holds NaN, so a stray read fails the test.
// Three calls per run: two with the same sequences on different caches (the second
// reuses the uploaded sequence table) and one with changed lengths (it must not).
struct CachedCase {
  int64_t nh, nkv, hd;
};

TEST_F(Cuda, AttentionCached) {
  const std::vector<CachedCase> cases = {{4, 2, 64}, {6, 2, 37}, {8, 1, 128}, {2, 2, 16}, {3, 3, 65}};
  const int64_t slots = 5, capacity = 300;
  // {slot, past, rows}
  const std::vector<std::array<int32_t, 3>> first = {{3, 0, 37}, {0, 150, 1}, {4, 77, 20}, {1, 255, 1}, {2, 5, 40}};
  const std::vector<std::array<int32_t, 3>> second = {{1, 31, 1}, {0, 0, 1}, {3, 200, 17}, {2, 99, 1}, {4, 260, 40}};
  for (const CachedCase& c : cases) {
    SCOPED_TRACE("nh=" + std::to_string(c.nh) + " nkv=" + std::to_string(c.nkv) + " hd=" + std::to_string(c.hd));
    const int64_t Q = c.nh * c.hd, KV = c.nkv * c.hd, q_ld = Q + 2 * KV + 3, row = 2 * KV,
                  slot_stride = capacity * row;
    // Host arrays in the Backend's form, plus a cache whose unread positions are NaN.
    struct Call {
      std::vector<int32_t> rows{0}, past, slot;
      std::vector<float> q, cache;
    };
    auto make = [&](const std::vector<std::array<int32_t, 3>>& seqs, uint64_t seed) {
      Call k;
      k.cache = randn(slots * slot_stride, seed);
      for (const auto& [sl, past, n] : seqs) {
        k.rows.push_back(k.rows.back() + n);
        k.past.push_back(past);
        k.slot.push_back(sl);
        for (int64_t p = past + n; p < capacity; ++p)
          std::fill_n(k.cache.begin() + sl * slot_stride + p * row, row, NAN);
      }
      k.q = randn(k.rows.back() * q_ld, seed + 1);
      return k;
    };
    const Call a = make(first, 31), b = make(first, 33), d = make(second, 35);
    expect_parity(
        [&](Backend& be) {
          Outputs outs;
          for (const Call* k : {&a, &b, &d}) {
            auto X = upload(be, k->q), KC = upload(be, k->cache);
            const int64_t N = k->rows.back(), S = static_cast<int64_t>(k->past.size());
            Array<float> out(be, N * Q);
            be.attention_cached(out.data(), X.data(), q_ld, KC.data(), KC.data() + KV, row, slot_stride,
                                k->rows.data(), k->past.data(), k->slot.data(), S, c.nh, c.nkv, c.hd);
            outs.push_back({"out " + std::to_string(outs.size()), download(out)});
          }
          return outs;
        },
        1e-5);
  }
}

// Row-major C = alpha·op(A)·op(B) + beta·C with padded strides, every transpose pair.
void gemm_parity(Backend& gpu, double tol) {
  const int64_t m = 67, n = 45, k = 130, pad = 3;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      SCOPED_TRACE(std::string("trans_a=") + (ta ? "1" : "0") + " trans_b=" + (tb ? "1" : "0"));
      const int64_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
      const auto a = randn((ta ? k : m) * lda, 23), b = randn((tb ? n : k) * ldb, 24), c = randn(m * ldc, 25);
      auto run = [&](Backend& be) {
        auto A = upload(be, a), B = upload(be, b), C = upload(be, c);
        be.gemm(ta, tb, m, n, k, 0.7f, A.data(), lda, B.data(), ldb, 0.3f, C.data(), ldc);
        return download(C);
      };
      const auto want = run(cpu()), got = run(gpu);
      EXPECT_LE(max_rel(got, want), tol);
      EXPECT_TRUE(bit_identical(got, run(gpu)));
    }
}

TEST_F(Cuda, GemmFp32) { gemm_parity(*gpu_, 1e-5); }

TEST_F(Cuda, GemmTf32AndBf16) {
  set_cuda_gemm(*gpu_, CudaGemm::kTf32);
  gemm_parity(*gpu_, 5e-3);
  set_cuda_gemm(*gpu_, CudaGemm::kBf16);
  gemm_parity(*gpu_, 1e-2);
}

// The mixed-precision pieces: fp32 → bf16 bit-identical to the CPU's rounding, and the
// bf16 GEMM (fp32 accumulation) on the same bf16 operands within fp32 summation error.
TEST_F(Cuda, Bf16ConversionAndGemm) {
  const int64_t m = 67, n = 45, k = 130, pad = 3;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (bool acc : {false, true}) {
        SCOPED_TRACE(std::string("trans_a=") + (ta ? "1" : "0") + " trans_b=" + (tb ? "1" : "0") +
                     " accumulate=" + (acc ? "1" : "0"));
        const int64_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
        const auto a = randn((ta ? k : m) * lda, 27), b = randn((tb ? n : k) * ldb, 28), c = randn(m * ldc, 29);
        std::vector<std::vector<uint16_t>> converted;
        auto run = [&](Backend& be) {
          auto A = upload(be, a), B = upload(be, b), C = upload(be, c);
          Array<uint16_t> Ab(be, A.size()), Bb(be, B.size());
          be.to_bf16(Ab.data(), A.data(), A.size());
          be.to_bf16(Bb.data(), B.data(), B.size());
          be.gemm_bf16(ta, tb, m, n, k, Ab.data(), lda, Bb.data(), ldb, acc, C.data(), ldc);
          converted.push_back(download(Ab));
          return download(C);
        };
        const auto want = run(cpu()), got = run(*gpu_);
        EXPECT_EQ(converted[0], converted[1]) << "fp32 → bf16 rounding differs between CPU and GPU";
        EXPECT_LE(max_rel(got, want), 1e-5);
        EXPECT_TRUE(bit_identical(got, run(*gpu_)));
      }
}

TEST_F(Cuda, Sums) {
  for (int64_t n : {int64_t{1}, int64_t{1000}, int64_t{3'000'007}}) {
    const auto x = randn(n, 26);
    auto X = upload(*gpu_, x);
    const double s = gpu_->sum(X.data(), n), ss = gpu_->sum_squares(X.data(), n);
    EXPECT_NEAR(s, cpu().sum(x.data(), n), 1e-9 * std::max(1.0, std::fabs(s))) << n;
    EXPECT_NEAR(ss, cpu().sum_squares(x.data(), n), 1e-12 * ss) << n;
    EXPECT_EQ(s, gpu_->sum(X.data(), n));  // bit-identical on repeat
    EXPECT_EQ(ss, gpu_->sum_squares(X.data(), n));
  }
}

// The gradient norm's per-block sums (train::block_grad_norm): one call equals one
// sum_squares per block bit for bit, with a ragged tail, a single short block, and more
// whole blocks than one launch's gridDim.y (65,535) takes.
TEST_F(Cuda, SumSquaresBlocks) {
  for (auto [n, block] : {std::pair<int64_t, int64_t>{3 * 16384 + 100, 16384}, {5000, 16384}, {2 * 16384, 16384},
                          {70'000 * 8 + 3, 8}}) {
    const auto x = randn(n, 27);
    auto X = upload(*gpu_, x);
    std::vector<double> got(static_cast<size_t>((n + block - 1) / block), -1.0);
    gpu_->sum_squares_blocks(X.data(), n, block, got.data());
    for (int64_t b = 0; b * block < n; ++b)
      ASSERT_EQ(got[static_cast<size_t>(b)], gpu_->sum_squares(X.data() + b * block, std::min(block, n - b * block)))
          << "n " << n << " block " << b;
  }
}

TEST_F(Cuda, AdamW) {
  const int64_t n = 300'000;  // several chunks per range
  const std::vector<ParamRange> ranges = {{0, 150'000, false}, {150'000, 7, true}, {150'007, 149'993, true}};
  const auto p = randn(n, 27), g = randn(n, 28);
  AdamWStep s;
  s.lr = 1e-3;
  s.weight_decay = 0.1;
  s.grad_scale = 0.5f;
  expect_parity(
      [&](Backend& be) {
        auto P = upload(be, p), G = upload(be, g);
        Array<float> M(be, n), V(be, n);
        for (int t = 1; t <= 2; ++t) {
          s.bias_correction1 = 1 - std::pow(0.9, t);
          s.bias_correction2 = 1 - std::pow(0.95, t);
          be.adamw(P.data(), G.data(), M.data(), V.data(), ranges.data(), static_cast<int64_t>(ranges.size()), s);
        }
        return Outputs{{"params", download(P)}, {"m", download(M)}, {"v", download(V)}};
      },
      1e-6);
}

// The whole decoder: a tiny config, 2 rows of 64 tokens holding 3 documents each, some
// ignored targets, z-loss.
class CudaModel : public Cuda {
 protected:
  struct Result {
    double loss;
    std::vector<float> logits, grads;
  };

  static model::ModelConfig config() {
    model::ModelConfig c;
    c.vocab_size = 512;
    c.hidden_size = 64;
    c.intermediate_size = 160;
    c.num_layers = 2;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    c.head_dim = 16;
    c.max_seq_len = 64;
    return c;
  }

  static Batch batch() {
    Batch b;
    b.B = 2, b.T = 64;
    Rng r(30);
    for (int64_t n = 0; n < b.B * b.T; ++n) {
      const int64_t t = n % b.T;
      b.inputs.push_back(static_cast<int32_t>(r.below(512)));
      b.targets.push_back(n % 13 == 4 ? -100 : static_cast<int32_t>(r.below(512)));
      b.doc.push_back(n < b.T ? (t >= 20) + (t >= 45) : (t >= 10) + (t >= 50));
    }
    return b;
  }

  static Result run(const model::Weights& w, model::Precision p = model::Precision::kFp32) {
    const Batch b = batch();
    model::Runner r(w, model::Runner::Mode::kTraining, p);
    model::ForwardOptions fo;
    fo.z_loss = 1e-4f;
    fo.keep_logits = true;
    Result out;
    double valid = 0;
    for (int32_t t : b.targets) valid += t >= 0;
    out.loss = r.forward(b, fo) / valid;
    out.logits = r.logits_host();
    std::vector<float> weight(b.targets.size());
    for (size_t n = 0; n < weight.size(); ++n) weight[n] = b.targets[n] >= 0 ? static_cast<float>(1 / valid) : 0.f;
    r.zero_grads();
    r.backward(b, weight);
    out.grads.resize(static_cast<size_t>(w.size()));
    w.backend().copy_to_host(out.grads.data(), r.grads(), out.grads.size() * sizeof(float));
    return out;
  }

  // Compares a GPU run with the CPU's (and with a second GPU run), both Runners in
  // precision p, then one AdamW step.
  void compare(const char* mode, double tol_loss, double tol_logits, double tol_grads,
               model::Precision p = model::Precision::kFp32) {
    model::Weights wc(config(), cpu()), wg(config(), *gpu_);
    wc.init_random(7);
    wg.init_random(7);
    ASSERT_TRUE(bit_identical(wg.to_host(), wc.to_host())) << "init_random differs between backends";
    const Result c = run(wc, p), g = run(wg, p), again = run(wg, p);
    const double loss_err = std::fabs(g.loss - c.loss) / std::fabs(c.loss);
    const double logit_err = norm_rel(g.logits.data(), c.logits.data(), static_cast<int64_t>(c.logits.size()));
    EXPECT_LE(loss_err, tol_loss) << "loss cpu " << c.loss << " cuda " << g.loss;
    EXPECT_LE(logit_err, tol_logits);
    double worst = 0;
    std::string worst_name;
    for (const auto& t : wc.layout().tensors) {
      const double e = norm_rel(g.grads.data() + t.offset, c.grads.data() + t.offset, t.size);
      EXPECT_LE(e, tol_grads) << "grad." << t.name;
      if (e >= worst) worst = e, worst_name = t.name;
    }
    EXPECT_TRUE(bit_identical(g.grads, again.grads)) << "gradients differ between two GPU runs";
    EXPECT_TRUE(bit_identical(g.logits, again.logits)) << "logits differ between two GPU runs";
    std::printf("[ model %s ] loss cpu %.7f cuda %.7f (rel %.2e), logits rel %.2e, worst grad rel %.2e (%s)\n", mode,
                c.loss, g.loss, loss_err, logit_err, worst, worst_name.c_str());

    // One AdamW step from identical parameters and the CPU's gradients.
    AdamWStep s;
    s.lr = 1e-3;
    s.weight_decay = 0.033;
    s.bias_correction1 = 0.1;
    s.bias_correction2 = 1 - 0.95;
    std::vector<ParamRange> ranges;
    for (const auto& t : wc.layout().tensors) ranges.push_back({t.offset, t.size, t.decay});
    const int64_t n = wc.size();
    Array<float> mc(cpu(), n), vc(cpu(), n), mg(*gpu_, n), vg(*gpu_, n);
    auto gg = upload(*gpu_, c.grads);
    cpu().adamw(wc.data(), c.grads.data(), mc.data(), vc.data(), ranges.data(), static_cast<int64_t>(ranges.size()), s);
    gpu_->adamw(wg.data(), gg.data(), mg.data(), vg.data(), ranges.data(), static_cast<int64_t>(ranges.size()), s);
    EXPECT_LE(max_rel(wg.to_host(), wc.to_host()), 1e-6) << "parameters after AdamW";
  }
};

TEST_F(CudaModel, Fp32Gemm) { compare("fp32", 1e-4, 1e-4, 1e-4); }

TEST_F(CudaModel, Bf16Gemm) {
  set_cuda_gemm(*gpu_, CudaGemm::kBf16);
  compare("bf16", 1e-3, 1e-2, 1e-2);
}

// The bf16 tensor-core attention kernels in the tiny model, GEMMs in fp32 so that they
// alone differ from the CPU. Bounds from Cuda.AttentionTensorCores' per-op ones: the
// attention output within 1e-2 moves the logits by less (attention is one branch of the
// residual stream), and a weight gradient passes through at most both layers' attention
// backward, each within 1.5e-2, hence 3e-2. The loss, a mean over 128 tokens, within 1e-3
// as in Bf16Gemm.
TEST_F(CudaModel, Bf16Attention) {
  set_cuda_attention(*gpu_, CudaAttention::kBf16);
  compare("bf16 attention", 1e-3, 1e-2, 3e-2);
}

// Same ops on the same data; only the activation buffers differ (cuBLAS may pick kernels
// by pointer alignment, hence a tolerance rather than bit equality).
TEST_F(CudaModel, InferenceLogitsMatchTraining) {
  model::Weights w(config(), *gpu_);
  w.init_random(7);
  Batch b = batch();
  const std::vector<float> training = run(w).logits;
  b.targets.clear();
  model::Runner infer(w, model::Runner::Mode::kInference);
  infer.forward(b);
  EXPECT_LE(max_rel(infer.logits_host(), training), 1e-6);
}

// Generation on the GPU: infer::Decoder (KV cache in device memory, attention_cached)
// against the CPU's on the same weights — a batched prefill of two prompts of different
// lengths, then 8 greedy decode steps, each backend feeding back its own argmax. Logits
// of every step within 1e-4 (max_rel), greedy tokens identical. The CPU's top-2 logit
// gap is checked to be far above that bound, so equal tokens are a fair demand.
TEST_F(CudaModel, DecoderMatchesCpu) {
  struct Run {
    std::vector<std::vector<float>> logits;  // per step, [2, V]
    std::vector<std::vector<int32_t>> tokens;  // per step, one per sequence
    double min_gap = INFINITY;                 // smallest top-2 gap / max|logit|
  };
  const int64_t V = config().vocab_size;
  auto run = [&](Backend& be) {
    model::Weights w(config(), be);
    w.init_random(7);
    infer::KvCache cache(config(), be, 3, config().max_seq_len);
    infer::Decoder dec(w, cache);
    cache.acquire();  // slot 0 held but unused: the prompts sit at non-zero slot offsets
    const int32_t sa = cache.acquire(), sb = cache.acquire();
    Rng r(40);
    std::vector<int32_t> pa(23), pb(6);
    for (auto& t : pa) t = static_cast<int32_t>(r.below(V));
    for (auto& t : pb) t = static_cast<int32_t>(r.below(V));
    Run out;
    std::vector<infer::Chunk> chunks = {{sa, pa}, {sb, pb}};
    for (int step = 0; step <= 8; ++step) {
      std::vector<float> lg = dec.forward_host(chunks);
      std::vector<int32_t> next;
      for (int64_t s = 0; s < 2; ++s) {
        const float* row = lg.data() + s * V;
        int64_t best = 0;
        float mx = 0;
        for (int64_t i = 0; i < V; ++i) {
          if (row[i] > row[best]) best = i;
          mx = std::max(mx, std::fabs(row[i]));
        }
        float second = -INFINITY;
        for (int64_t i = 0; i < V; ++i)
          if (i != best) second = std::max(second, row[i]);
        out.min_gap = std::min(out.min_gap, static_cast<double>(row[best] - second) / mx);
        next.push_back(static_cast<int32_t>(best));
      }
      out.logits.push_back(std::move(lg));
      out.tokens.push_back(next);
      chunks = {{sa, std::span<const int32_t>(&out.tokens.back()[0], 1)},
                {sb, std::span<const int32_t>(&out.tokens.back()[1], 1)}};
    }
    EXPECT_EQ(cache.length(sa), 23 + 8);
    EXPECT_EQ(cache.length(sb), 6 + 8);
    return out;
  };
  const Run c = run(cpu()), g = run(*gpu_);
  ASSERT_GT(c.min_gap, 1e-3) << "test data: a near tie in the CPU's greedy choice";
  ASSERT_EQ(c.logits.size(), g.logits.size());
  double worst = 0;
  for (size_t i = 0; i < c.logits.size(); ++i) {
    const double e = max_rel(g.logits[i], c.logits[i]);
    EXPECT_LE(e, 1e-4) << "step " << i;
    worst = std::max(worst, e);
  }
  EXPECT_EQ(g.tokens, c.tokens) << "greedy tokens differ";
  std::printf("[ decoder ] 1 prefill + 8 decode steps: worst logits rel %.2e, min CPU top-2 gap %.2e\n", worst,
              c.min_gap);
}

// The NCCL communicator on one GPU (a world of one runs the same NCCL calls as a larger
// one): sums of f32/f64/i64 device buffers return them unchanged, bit for bit; broadcast
// and barrier complete; a host buffer is refused with an Error and the communicator still
// works afterwards. Skipped (saying why) only where libnccl.so.2 cannot be loaded.
TEST_F(Cuda, NcclWorldOfOne) {
  auto single = dist::make_single_communicator();
  std::unique_ptr<dist::Communicator> nc;
  try {
    nc = dist::make_nccl_communicator(*single);
  } catch (const Error& e) {
    if (std::string(e.what()).find("cannot load libnccl.so.2") != std::string::npos) GTEST_SKIP() << e.what();
    throw;
  }
  EXPECT_EQ(nc->name(), "nccl");
  EXPECT_EQ(nc->rank(), 0);
  EXPECT_EQ(nc->size(), 1);
  const int64_t n = 100'003;
  const auto f = randn(n, 50);
  std::vector<double> d(static_cast<size_t>(n));
  std::vector<int64_t> i(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) d[k] = f[k] * 1e10, i[k] = (k - 500) * 123'456'789'011;
  auto F = upload(*gpu_, f);
  auto D = upload(*gpu_, d);
  auto I = upload(*gpu_, i);
  nc->all_reduce_sum(F.data(), n);
  nc->all_reduce_sum(D.data(), n);
  nc->all_reduce_sum(I.data(), n);
  nc->broadcast(F.data(), static_cast<size_t>(n) * sizeof(float), 0);
  nc->barrier();
  EXPECT_TRUE(bit_identical(download(F), f));
  EXPECT_EQ(download(D), d);
  EXPECT_EQ(download(I), i);
  float host[4] = {1, 2, 3, 4};
  try {
    nc->all_reduce_sum(host, 4);
    ADD_FAILURE() << "a host buffer was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not GPU memory"), std::string::npos) << e.what();
  }
  nc->all_reduce_sum(F.data(), n);
  EXPECT_TRUE(bit_identical(download(F), f));
  // ZeRO-1's pair on a buffer of the padded length NCCL works on: with one rank the shard
  // is the whole buffer, so both return it unchanged.
  std::vector<float> padded = randn(dist::padded_length(n, 1), 51);
  auto P = upload(*gpu_, padded);
  nc->reduce_scatter_sum(P.data(), n);
  nc->all_gather(P.data(), n);
  EXPECT_TRUE(bit_identical(download(P), padded));
}

// [train] precision = "bf16" (model::Precision::kBf16: bf16 shadow weights and bf16 GEMM
// operands through Backend::to_bf16 / gemm_bf16) on the GPU against the CPU Runner in the
// same precision: both round the same fp32 values to bf16, so only fp32 accumulation order
// and the roundings it flips differ.
TEST_F(CudaModel, RunnerBf16Precision) { compare("runner bf16", 1e-3, 1e-2, 1e-2, model::Precision::kBf16); }

}  // namespace cuda_backend_test

#endif  // KORMO_HAVE_CUDA
