#include "kormo/backend/cpu/ops.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <cmath>
#include <vector>

#include "kormo/backend/cpu/fast_exp.h"

namespace kormo::backend::cpu_ops {

namespace {
inline float dot(const float* a, const float* b, int64_t n) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}
// out[i] = mul · exp(in[i] - shift); out may equal in.
void scaled_exp(float* out, const float* in, int64_t n, float shift, float mul) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = mul * fast_exp(in[i] - shift);
}
// Elementwise ops over fewer elements than this run on the calling thread: waking the
// other threads costs more than the pass itself over a decode step's few rows.
constexpr int64_t kParallelMin = 1 << 15;
inline void axpy(float* y, float a, const float* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}
}  // namespace

void embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C) {
#pragma omp parallel for schedule(static) if (N * C >= kParallelMin)
  for (int64_t n = 0; n < N; ++n) std::copy_n(wte + static_cast<int64_t>(tokens[n]) * C, C, out + n * C);
}

void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t N, int64_t C) {
  // Split by columns, not tokens: a repeated token then sums in token order on one thread.
#pragma omp parallel
  {
    int nt = omp_get_num_threads(), t = omp_get_thread_num();
    int64_t c0 = C * t / nt, c1 = C * (t + 1) / nt;
    for (int64_t n = 0; n < N; ++n) {
      float* row = dwte + static_cast<int64_t>(tokens[n]) * C;
      const float* d = dout + n * C;
      for (int64_t c = c0; c < c1; ++c) row[c] += d[c];
    }
  }
}

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, int64_t N, int64_t C, float eps) {
#pragma omp parallel for schedule(static) if (N * C >= kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const float* x = inp + n * C;
    float r = 1.f / std::sqrt(dot(x, x, C) / static_cast<float>(C) + eps);
    rstd[n] = r;
    float* o = out + n * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) o[c] = w[c] * (x[c] * r);
  }
}

void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w, const float* rstd,
                      int64_t N, int64_t C) {
  int threads = omp_get_max_threads();
  std::vector<float> partial(static_cast<size_t>(threads) * C, 0.f);
#pragma omp parallel num_threads(threads)
  {
    int nt = omp_get_num_threads(), t = omp_get_thread_num();
    float* pdw = partial.data() + static_cast<int64_t>(t) * C;
    std::vector<float> g(C);
    for (int64_t n = N * t / nt; n < N * (t + 1) / nt; ++n) {
      const float* x = inp + n * C;
      const float* d = dout + n * C;
      float r = rstd[n];
      float s = 0.f;
#pragma omp simd reduction(+ : s)
      for (int64_t c = 0; c < C; ++c) {
        g[c] = d[c] * w[c];
        s += g[c] * x[c];
      }
      float m = s * r * r / static_cast<float>(C);  // mean(g · xhat) · rstd
      float* di = dinp + n * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) {
        di[c] += r * (g[c] - x[c] * m);
        pdw[c] += d[c] * x[c] * r;
      }
    }
  }
  for (int t = 0; t < threads; ++t) axpy(dw, 1.f, partial.data() + static_cast<int64_t>(t) * C, C);
}

namespace {
void rope_apply(float* x, int64_t ld, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                int64_t heads, int64_t hd, float sign) {
  int64_t half = hd / 2;
#pragma omp parallel for schedule(static) if (N * heads * hd >= kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const float* cs = cos + static_cast<int64_t>(pos[n]) * half;
    const float* sn = sin + static_cast<int64_t>(pos[n]) * half;
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + n * ld + h * hd;
#pragma omp simd
      for (int64_t i = 0; i < half; ++i) {
        float a = v[i], b = v[i + half], s = sign * sn[i];
        v[i] = a * cs[i] - b * s;
        v[i + half] = b * cs[i] + a * s;
      }
    }
  }
}
}  // namespace

void rope_forward(float* x, int64_t ld, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                  int64_t heads, int64_t hd) {
  rope_apply(x, ld, pos, cos, sin, N, heads, hd, 1.f);
}

void rope_backward(float* dx, int64_t ld, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                   int64_t heads, int64_t hd) {
  // The rotation is orthogonal, so its Jacobian transpose is the rotation by -angle.
  rope_apply(dx, ld, pos, cos, sin, N, heads, hd, -1.f);
}

namespace {
// Documents of one packed row as [begin, end) position ranges.
std::vector<std::pair<int64_t, int64_t>> row_segments(const int32_t* seg_start, int64_t T) {
  std::vector<std::pair<int64_t, int64_t>> segs;
  for (int64_t t = 0; t < T; ++t) {
    if (seg_start[t] == t) {
      if (!segs.empty()) segs.back().second = t;
      segs.emplace_back(t, T);
    }
  }
  return segs;
}

// P[i, j] = exp(S[i, j] - lse[i]) on the causal part (j ≤ i) of an L×L block, 0 above it.
void causal_probs(float* S, const float* lse, int64_t L) {
  for (int64_t i = 0; i < L; ++i) {
    float* row = S + i * L;
    const float l = lse[i];
    scaled_exp(row, row, i + 1, l, 1.f);
    std::fill(row + i + 1, row + L, 0.f);
  }
}
}  // namespace

// Attention is block-diagonal over the documents of a row, so each document is one
// causal block computed with GEMMs (scores Q·Kᵀ, then P·V) on a per-thread scratch;
// the GEMMs run single-threaded inside the parallel loop over (row, head).
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int64_t q_ld,
                       int64_t kv_ld, const int32_t* seg_start, int64_t B, int64_t T, int64_t nh, int64_t nkv,
                       int64_t hd) {
  const float scale = 1.f / std::sqrt(static_cast<float>(hd));
  const int64_t group = nh / nkv, qs = nh * hd, ks = kv_ld;
#pragma omp parallel
  {
    std::vector<float> S;
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < nh; ++h) {
        const int64_t kh = h / group;
        for (auto [a, e] : row_segments(seg_start + b * T, T)) {
          const int64_t L = e - a, r0 = b * T + a;
          S.resize(static_cast<size_t>(L * L));
          gemm(false, true, L, L, hd, scale, q + r0 * q_ld + h * hd, q_ld, k + r0 * ks + kh * hd, ks, 0.f, S.data(),
               L);
          float* lrow = lse + (b * nh + h) * T + a;
          for (int64_t i = 0; i < L; ++i) {
            const float* row = S.data() + i * L;
            float mx = -INFINITY;
            for (int64_t j = 0; j <= i; ++j) mx = std::max(mx, row[j]);
            float sum = 0.f;
#pragma omp simd reduction(+ : sum)
            for (int64_t j = 0; j <= i; ++j) sum += fast_exp(row[j] - mx);
            lrow[i] = mx + std::log(sum);
          }
          causal_probs(S.data(), lrow, L);
          gemm(false, false, L, hd, L, 1.f, S.data(), L, v + r0 * ks + kh * hd, ks, 0.f, out + r0 * qs + h * hd, qs);
        }
      }
  }
}

// Each (sequence, head) is one block: scores of its new queries against every cached
// key (a GEMM, or dot products when decoding one token), a causal softmax offset by
// the cached length, then the weighted sum of values. A decode token's score row is
// kept per thread between calls (it only grows, so steady decoding allocates nothing);
// a prefill block is scratch for the call, so a long prompt does not pin its L² floats.
void attention_cached(float* out, const float* q, int64_t q_ld, const float* k, const float* v, int64_t kv_ld,
                      int64_t slot_stride, const int32_t* rows, const int32_t* past, const int32_t* slot, int64_t S,
                      int64_t nh, int64_t nkv, int64_t hd) {
  const float scale = 1.f / std::sqrt(static_cast<float>(hd));
  const int64_t group = nh / nkv, qs = nh * hd;
  static thread_local std::vector<float> decode_row;
#pragma omp parallel
  {
    std::vector<float> block;
#pragma omp for collapse(2) schedule(dynamic)
    for (int64_t s = 0; s < S; ++s)
      for (int64_t h = 0; h < nh; ++h) {
        const int64_t r0 = rows[s], L = rows[s + 1] - r0, Lk = past[s] + L, kh = h / group;
        if (L <= 0) continue;
        const float* kb = k + slot[s] * slot_stride + kh * hd;
        const float* vb = v + slot[s] * slot_stride + kh * hd;
        const float* qb = q + r0 * q_ld + h * hd;
        float* ob = out + r0 * qs + h * hd;
        std::vector<float>& P = L == 1 ? decode_row : block;
        if (P.size() < static_cast<size_t>(L * Lk)) P.resize(static_cast<size_t>(L * Lk));
        if (L == 1) {
          for (int64_t j = 0; j < Lk; ++j) P[j] = scale * dot(qb, kb + j * kv_ld, hd);
        } else {
          gemm(false, true, L, Lk, hd, scale, qb, q_ld, kb, kv_ld, 0.f, P.data(), Lk);
        }
        for (int64_t i = 0; i < L; ++i) {
          float* row = P.data() + i * Lk;
          const int64_t n = past[s] + i + 1;  // keys this query sees
          float mx = -INFINITY;
          for (int64_t j = 0; j < n; ++j) mx = std::max(mx, row[j]);
          float sum = 0.f;
#pragma omp simd reduction(+ : sum)
          for (int64_t j = 0; j < n; ++j) sum += fast_exp(row[j] - mx);
          scaled_exp(row, row, n, mx, 1.f / sum);
          std::fill(row + n, row + Lk, 0.f);
        }
        if (L == 1) {
          std::fill(ob, ob + hd, 0.f);
          for (int64_t j = 0; j < Lk; ++j) axpy(ob, P[j], vb + j * kv_ld, hd);
        } else {
          gemm(false, false, L, hd, Lk, 1.f, P.data(), Lk, vb, kv_ld, 0.f, ob, qs);
        }
      }
  }
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out, const float* lse,
                        const float* q, const float* k, const float* v, int64_t q_ld, int64_t kv_ld,
                        const int32_t* seg_start, int64_t B, int64_t T, int64_t nh, int64_t nkv, int64_t hd) {
  const float scale = 1.f / std::sqrt(static_cast<float>(hd));
  const int64_t group = nh / nkv, qs = nh * hd, ks = kv_ld;
  // One task per (batch row, KV head): it owns that head's dk/dv and its query heads' dq,
  // so nothing is shared between threads and every sum runs in a fixed order.
#pragma omp parallel
  {
    std::vector<float> P, dP, D;
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t kh = 0; kh < nkv; ++kh) {
        for (auto [a, e] : row_segments(seg_start + b * T, T)) {
          const int64_t L = e - a, r0 = b * T + a;
          const float* kb = k + r0 * ks + kh * hd;
          const float* vb = v + r0 * ks + kh * hd;
          float* dkb = dk + r0 * ks + kh * hd;
          float* dvb = dv + r0 * ks + kh * hd;
          P.resize(static_cast<size_t>(L * L));
          dP.resize(P.size());
          D.resize(static_cast<size_t>(L));
          for (int64_t h = kh * group; h < (kh + 1) * group; ++h) {
            const float* qb = q + r0 * q_ld + h * hd;
            const float* dob = dout + r0 * qs + h * hd;
            const float* lrow = lse + (b * nh + h) * T + a;
            const float beta = h == kh * group ? 0.f : 1.f;  // first query head overwrites dk/dv
            gemm(false, true, L, L, hd, scale, qb, q_ld, kb, ks, 0.f, P.data(), L);
            causal_probs(P.data(), lrow, L);
            gemm(true, false, L, hd, L, 1.f, P.data(), L, dob, qs, beta, dvb, ks);
            gemm(false, true, L, L, hd, 1.f, dob, qs, vb, ks, 0.f, dP.data(), L);
            for (int64_t i = 0; i < L; ++i) D[i] = dot(dob + i * qs, out + (r0 + i) * qs + h * hd, hd);
            // dS = P ∘ (dP − D) · scale, written over dP (zero above the diagonal since P is).
            for (int64_t i = 0; i < L; ++i) {
              float* dpr = dP.data() + i * L;
              const float* pr = P.data() + i * L;
#pragma omp simd
              for (int64_t j = 0; j < L; ++j) dpr[j] = pr[j] * (dpr[j] - D[i]) * scale;
            }
            gemm(false, false, L, hd, L, 1.f, dP.data(), L, kb, ks, 0.f, dq + r0 * q_ld + h * hd, q_ld);
            gemm(true, false, L, hd, L, 1.f, dP.data(), L, qb, q_ld, beta, dkb, ks);
          }
        }
      }
  }
}

void swiglu_forward(float* h, const float* gu, int64_t N, int64_t F) {
#pragma omp parallel for schedule(static) if (N * F >= kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const float* gate = gu + n * 2 * F;
    const float* up = gate + F;
    float* hr = h + n * F;
#pragma omp simd
    for (int64_t i = 0; i < F; ++i) hr[i] = gate[i] / (1.f + fast_exp(-gate[i])) * up[i];
  }
}

void swiglu_backward(float* dgu, const float* dh, const float* gu, int64_t N, int64_t F) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* gate = gu + n * 2 * F;
    const float* up = gate + F;
    const float* d = dh + n * F;
    float* dgate = dgu + n * 2 * F;
    float* dup = dgate + F;
#pragma omp simd
    for (int64_t i = 0; i < F; ++i) {
      float g = gate[i], sig = 1.f / (1.f + fast_exp(-g));
      dgate[i] = d[i] * up[i] * sig * (1.f + g * (1.f - sig));
      dup[i] = d[i] * g * sig;
    }
  }
}

void residual_forward(float* out, const float* a, const float* b, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void residual_backward(float* da, float* db, const float* dout, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    da[i] += dout[i];
    db[i] += dout[i];
  }
}

void crossentropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets, int64_t N,
                          int64_t V, float z_loss) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* l = logits + n * V;
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < V; ++j) mx = std::max(mx, l[j]);
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < V; ++j) sum += fast_exp(l[j] - mx);
    float z = mx + std::log(sum);
    lse[n] = z;
    losses[n] = targets[n] < 0 ? 0.f : z - l[targets[n]] + z_loss * z * z;
  }
}

void crossentropy_backward(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                           const float* weight, int64_t N, int64_t V, float z_loss) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* l = logits + n * V;
    float* d = dlogits + n * V;
    if (targets[n] < 0 || weight[n] == 0.f) {
      std::fill_n(d, V, 0.f);
      continue;
    }
    // d/dlogit of (lse - l_target + z·lse²) = softmax · (1 + 2·z·lse) - onehot.
    float w = weight[n], z = lse[n], f = w * (1.f + 2.f * z_loss * z);
    scaled_exp(d, l, V, z, f);
    d[targets[n]] -= w;
  }
}

}  // namespace kormo::backend::cpu_ops
