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
// max(x[0 .. n)) (−inf when n = 0). GCC leaves `omp simd reduction(max)` over std::max
// scalar (std::max is not commutative under NaN), a serial chain that took half of the
// softmax; independent lanes vectorise, and a maximum does not depend on its order.
inline float row_max(const float* x, int64_t n) {
  constexpr int64_t W = 16;
  float lane[W];
  std::fill(lane, lane + W, -INFINITY);
  int64_t i = 0;
  for (; i + W <= n; i += W)
#pragma omp simd
    for (int64_t l = 0; l < W; ++l) lane[l] = std::max(lane[l], x[i + l]);
  for (; i < n; ++i) lane[0] = std::max(lane[0], x[i]);
  return *std::max_element(lane, lane + W);
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

namespace {
// Query rows per task of attention_cached's multi-row path: a block computes scores only
// against the keys its last row sees, so the causal upper triangle costs at most half a
// block per block, and (sequence, head, block) tasks keep both threads busy on one long
// sequence. On one 960-row sequence (hd 64) blocks of 32 to 256 rows ran alike within a
// loaded machine's noise; 64 keeps the wasted half-block on the diagonal small.
constexpr int64_t kAttnBlockRows = 64;

// Rows i0 .. i0 + m − 1 of one (sequence, head): scores against the first n cached keys
// (n covers the block's last row) into P [m, n], the causal softmax (row r sees
// first_keys + r keys), then out = P·V. Each score takes one exp (kept, then scaled by the
// row's 1/sum: the same products as exp-then-scale in two passes). One row (a decode token)
// uses dot products and axpys, which beat a GEMM call at that size.
void attend_rows(float* ob, int64_t qs, const float* qb, int64_t q_ld, const float* kb, const float* vb,
                 int64_t kv_ld, int64_t m, int64_t n, int64_t first_keys, int64_t hd, float scale, float* P) {
  if (m == 1) {
    for (int64_t j = 0; j < n; ++j) P[j] = scale * dot(qb, kb + j * kv_ld, hd);
  } else {
    gemm(false, true, m, n, hd, scale, qb, q_ld, kb, kv_ld, 0.f, P, n);
  }
  for (int64_t r = 0; r < m; ++r) {
    float* row = P + r * n;
    const int64_t seen = first_keys + r;
    const float mx = row_max(row, seen);
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < seen; ++j) {
      const float e = fast_exp(row[j] - mx);
      row[j] = e;
      sum += e;
    }
    const float inv = 1.f / sum;
#pragma omp simd
    for (int64_t j = 0; j < seen; ++j) row[j] *= inv;
    std::fill(row + seen, row + n, 0.f);
  }
  if (m == 1) {
    std::fill(ob, ob + hd, 0.f);
    for (int64_t j = 0; j < n; ++j) axpy(ob, P[j], vb + j * kv_ld, hd);
  } else {
    gemm(false, false, m, hd, n, 1.f, P, n, vb, kv_ld, 0.f, ob, qs);
  }
}

struct AttnTask {
  int64_t s, h, i0, m;
  int64_t work;  // m × keys seen by the block's last row
};
}  // namespace

// Decoding (every sequence one new token) runs one task per (sequence, head) and keeps its
// score row per thread between calls (it only grows, so steady decoding allocates
// nothing). Otherwise each sequence's new rows are cut into blocks of kAttnBlockRows, and
// the (sequence, head, block) tasks run largest first under a dynamic schedule, so the
// long blocks at a sequence's end do not land last on one thread; the score block is
// scratch for the call, so a long prompt does not pin its floats. Every task computes
// its rows alone, so the result does not depend on which thread ran it or how many ran.
void attention_cached(float* out, const float* q, int64_t q_ld, const float* k, const float* v, int64_t kv_ld,
                      int64_t slot_stride, const int32_t* rows, const int32_t* past, const int32_t* slot, int64_t S,
                      int64_t nh, int64_t nkv, int64_t hd) {
  const float scale = 1.f / std::sqrt(static_cast<float>(hd));
  const int64_t group = nh / nkv, qs = nh * hd;
  auto run = [&](int64_t s, int64_t h, int64_t i0, int64_t m, std::vector<float>& P) {
    const int64_t r0 = rows[s] + i0, n = past[s] + i0 + m, kh = h / group;
    if (P.size() < static_cast<size_t>(m * n)) P.resize(static_cast<size_t>(m * n));
    attend_rows(out + r0 * qs + h * hd, qs, q + r0 * q_ld + h * hd, q_ld, k + slot[s] * slot_stride + kh * hd,
                v + slot[s] * slot_stride + kh * hd, kv_ld, m, n, past[s] + i0 + 1, hd, scale, P.data());
  };
  bool decode = true;
  for (int64_t s = 0; s < S; ++s) decode &= rows[s + 1] - rows[s] <= 1;
  if (decode) {
    static thread_local std::vector<float> decode_row;
#pragma omp parallel for collapse(2) schedule(dynamic)
    for (int64_t s = 0; s < S; ++s)
      for (int64_t h = 0; h < nh; ++h)
        if (rows[s + 1] > rows[s]) run(s, h, 0, 1, decode_row);
    return;
  }
  std::vector<AttnTask> tasks;
  for (int64_t s = 0; s < S; ++s)
    for (int64_t i0 = 0; i0 < rows[s + 1] - rows[s]; i0 += kAttnBlockRows) {
      const int64_t m = std::min<int64_t>(kAttnBlockRows, rows[s + 1] - rows[s] - i0);
      for (int64_t h = 0; h < nh; ++h) tasks.push_back({s, h, i0, m, m * (past[s] + i0 + m)});
    }
  std::stable_sort(tasks.begin(), tasks.end(), [](const AttnTask& a, const AttnTask& b) { return a.work > b.work; });
  const int64_t T = static_cast<int64_t>(tasks.size());
#pragma omp parallel
  {
    std::vector<float> block;
#pragma omp for schedule(dynamic)
    for (int64_t t = 0; t < T; ++t) run(tasks[t].s, tasks[t].h, tasks[t].i0, tasks[t].m, block);
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
