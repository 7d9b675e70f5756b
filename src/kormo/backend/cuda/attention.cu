// Grouped-query attention with the per-document causal mask, FlashAttention-2 style in
// fp32: query and key tiles in shared memory, scores and the softmax's running max and
// sum in registers, nothing of size T×T in memory; backward recomputes the probabilities
// from the saved log-sum-exp. Query t sees keys seg_start[t] .. t (backend.h).
//
// Thread layout (256 threads): tx = tid % 16, ty = tid / 16. A block's row tile has
// 16·RPT rows, thread ty owning rows RPT·ty .. RPT·ty + RPT − 1; its column tile has
// 16·CPT columns, thread tx owning columns tx + 16c, and likewise head-dim columns
// tx + 16c of the outputs. The 16 owners of a row are 16 adjacent lanes of one warp, so
// row reductions are xor shuffles over offsets 1..8.
//
// Head dims are padded to HD ∈ {32, 64, 128} with zeros in shared memory: padded lanes
// add nothing to dot products and are never written out. Shared rows hold HD + 1 floats
// so that 16 threads reading 16 rows at one column hit 16 different banks.
//
// Backward without atomics, so deterministic: one kernel per key tile accumulates dK and
// dV over every query (and every query head of the KV group) that sees it; another per
// query tile accumulates dQ. Both recompute P = exp(S − lse); each sum has a fixed order.
//
// Attention against the KV cache (inference) uses the forward kernel's thread layout
// with one row per 16 lanes: a tile's rows are (new query row, query head of the KV
// group) pairs, so the heads sharing a KV head read its keys once and a decode step
// (one row per sequence) still fills group rows of the tile.
#include <cmath>
#include <cstdint>

#include "kormo/backend/cuda/attention_common.cuh"
#include "kormo/backend/cuda/kernels.h"

namespace kormo::backend::cuda {

namespace {

using namespace attention_detail;

constexpr int kThreads = 256;
constexpr unsigned kFullMask = 0xffffffffu;

// Rows r0 .. r0 + rows − 1 of a [T, ld] matrix (hd values each, from src) into a shared
// rows × (HD + 1) tile, zero past T and past hd.
template <int HD>
__device__ void load_rows(float* dst, const float* src, int64_t ld, int64_t r0, int rows, int64_t T, int hd) {
  for (int i = threadIdx.x; i < rows * HD; i += kThreads) {
    const int r = i / HD, d = i % HD;
    const int64_t t = r0 + r;
    dst[r * (HD + 1) + d] = t < T && d < hd ? src[t * ld + d] : 0.f;
  }
}

__device__ __forceinline__ float row_max(float v) {
  for (int o = 1; o < 16; o <<= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

__device__ __forceinline__ float row_sum(float v) {
  for (int o = 1; o < 16; o <<= 1) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}

// ---- forward: one block per (tile of 64 queries, head, batch row); key tiles of 32

template <int HD>
struct Fwd {
  static constexpr int RPT = 4, CPT = 2, BQ = 16 * RPT, BK = 16 * CPT, LD = HD + 1;
  static constexpr size_t smem = sizeof(float) * (BQ * LD + 2 * BK * LD + BQ * (BK + 1));
};

template <int HD>
__global__ void __launch_bounds__(kThreads)
    attention_forward_kernel(float* out, float* lse, const float* q, const float* k, const float* v,
                             const int32_t* seg_start, Shape sh) {
  using G = Fwd<HD>;
  constexpr int RPT = G::RPT, CPT = G::CPT, BQ = G::BQ, BK = G::BK, LD = G::LD, NC = HD / 16;
  extern __shared__ float smem[];
  float* Qs = smem;
  float* Ks = Qs + BQ * LD;
  float* Vs = Ks + BK * LD;
  float* Ps = Vs + BK * LD;  // BQ × (BK + 1) probabilities of the current key tile
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int64_t T = sh.T, b = blockIdx.z;
  const int h = blockIdx.y, kh = h / sh.group;
  const int64_t q0 = int64_t(gridDim.x - 1 - blockIdx.x) * BQ;  // the tiles with most keys start first
  const int32_t* seg = seg_start + b * T;
  const float* kb = k + b * T * sh.kv_ld + int64_t(kh) * sh.hd;
  const float* vb = v + b * T * sh.kv_ld + int64_t(kh) * sh.hd;
  load_rows<HD>(Qs, q + b * T * sh.q_ld + int64_t(h) * sh.hd, sh.q_ld, q0, BQ, T, sh.hd);

  int64_t qi[RPT];
  int32_t first[RPT];  // the first key a query sees (its document start); none past T
  float m[RPT], l[RPT], o[RPT][NC];
  for (int r = 0; r < RPT; ++r) {
    qi[r] = q0 + RPT * ty + r;
    first[r] = qi[r] < T ? seg[qi[r]] : INT32_MAX;
    m[r] = -INFINITY;
    l[r] = 0.f;
    for (int c = 0; c < NC; ++c) o[r][c] = 0.f;
  }
  // Keys from the document start of the tile's first query (documents are contiguous,
  // so no later query's starts earlier) up to its last query.
  const int64_t kend = q0 + BQ < T ? q0 + BQ : T;
  for (int64_t k0 = seg[q0]; k0 < kend; k0 += BK) {
    __syncthreads();  // Qs is loaded; the previous key tile is consumed
    load_rows<HD>(Ks, kb, sh.kv_ld, k0, BK, T, sh.hd);
    load_rows<HD>(Vs, vb, sh.kv_ld, k0, BK, T, sh.hd);
    __syncthreads();
    float s[RPT][CPT] = {};
    for (int d = 0; d < HD; ++d) {
      float qd[RPT], kd[CPT];
      for (int r = 0; r < RPT; ++r) qd[r] = Qs[(RPT * ty + r) * LD + d];
      for (int c = 0; c < CPT; ++c) kd[c] = Ks[(tx + 16 * c) * LD + d];
      for (int r = 0; r < RPT; ++r)
        for (int c = 0; c < CPT; ++c) s[r][c] += qd[r] * kd[c];
    }
    for (int r = 0; r < RPT; ++r) {
      float mx = -INFINITY;
      for (int c = 0; c < CPT; ++c) {
        const int64_t kj = k0 + tx + 16 * c;
        s[r][c] = kj >= first[r] && kj <= qi[r] ? s[r][c] * sh.scale : -INFINITY;
        mx = fmaxf(mx, s[r][c]);
      }
      const float mnew = fmaxf(m[r], row_max(mx));
      // A row that has seen no visible key yet has max −inf: subtract 0 instead, so
      // exp(−inf) gives 0 rather than exp(NaN).
      const float base = mnew == -INFINITY ? 0.f : mnew;
      const float alpha = expf(m[r] - base);
      float rs = 0.f;
      for (int c = 0; c < CPT; ++c) {
        const float p = expf(s[r][c] - base);
        rs += p;
        Ps[(RPT * ty + r) * (BK + 1) + tx + 16 * c] = p;
      }
      l[r] = l[r] * alpha + row_sum(rs);
      m[r] = mnew;
      for (int c = 0; c < NC; ++c) o[r][c] *= alpha;
    }
    __syncthreads();
    for (int j = 0; j < BK; ++j) {
      float vd[NC];
      for (int c = 0; c < NC; ++c) vd[c] = Vs[j * LD + tx + 16 * c];
      for (int r = 0; r < RPT; ++r) {
        const float p = Ps[(RPT * ty + r) * (BK + 1) + j];
        for (int c = 0; c < NC; ++c) o[r][c] += p * vd[c];
      }
    }
  }
  const int64_t qs = int64_t(sh.nh) * sh.hd;
  for (int r = 0; r < RPT; ++r) {
    if (qi[r] >= T) continue;
    float* orow = out + (b * T + qi[r]) * qs + int64_t(h) * sh.hd;
    for (int c = 0; c < NC; ++c)
      if (tx + 16 * c < sh.hd) orow[tx + 16 * c] = o[r][c] / l[r];
    if (tx == 0) lse[(b * sh.nh + h) * T + qi[r]] = m[r] + logf(l[r]);
  }
}

// ---- backward

// D[b, h, t] = dout · out over the head's values (softmax backward's row term); one warp
// per row of [B, nh, T].
__global__ void attention_backward_dot_kernel(float* D, const float* dout, const float* out, int64_t rows, Shape sh) {
  const int64_t r = (int64_t(blockIdx.x) * kThreads + threadIdx.x) / 32;
  if (r >= rows) return;  // whole warps leave together
  const int lane = threadIdx.x % 32;
  const int64_t t = r % sh.T, h = r / sh.T % sh.nh, b = r / (sh.T * sh.nh);
  const int64_t off = (b * sh.T + t) * sh.nh * sh.hd + h * sh.hd;
  float s = 0.f;
  for (int d = lane; d < sh.hd; d += 32) s += dout[off + d] * out[off + d];
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(kFullMask, s, o);
  if (lane == 0) D[r] = s;
}

// dK, dV of one tile of 64 keys of one KV head, summed over the group's query heads and
// the query tiles (32 queries) that see the tile: dV += Pᵀ·dO, dK += dSᵀ·Q with
// dS = P ∘ (dP − D) · scale and dP = dO·Vᵀ.
template <int HD>
struct Dkdv {
  static constexpr int RPT = 4, CPT = 2, BK = 16 * RPT, BQ = 16 * CPT, LD = HD + 1;
  static constexpr size_t smem =
      sizeof(float) * (2 * BK * LD + 2 * BQ * LD + 2 * BK * (BQ + 1) + 2 * BQ) + sizeof(int32_t) * BQ;
};

template <int HD>
__global__ void __launch_bounds__(kThreads)
    attention_backward_dkdv_kernel(float* dk, float* dv, const float* dout, const float* lse, const float* D,
                                   const float* q, const float* k, const float* v, const int32_t* seg_start,
                                   Shape sh) {
  using G = Dkdv<HD>;
  constexpr int RPT = G::RPT, CPT = G::CPT, BK = G::BK, BQ = G::BQ, LD = G::LD, NC = HD / 16;
  extern __shared__ float smem[];
  float* Ks = smem;
  float* Vs = Ks + BK * LD;
  float* Qs = Vs + BK * LD;
  float* dOs = Qs + BQ * LD;
  float* Pt = dOs + BQ * LD;        // BK × (BQ + 1): P transposed
  float* dSt = Pt + BK * (BQ + 1);  // BK × (BQ + 1): dS transposed
  float* q_lse = dSt + BK * (BQ + 1);
  float* q_D = q_lse + BQ;
  int32_t* q_first = reinterpret_cast<int32_t*>(q_D + BQ);
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int64_t T = sh.T, b = blockIdx.z;
  const int kh = blockIdx.y;
  const int64_t k0 = int64_t(blockIdx.x) * BK, qs = int64_t(sh.nh) * sh.hd;
  const int32_t* seg = seg_start + b * T;
  load_rows<HD>(Ks, k + b * T * sh.kv_ld + int64_t(kh) * sh.hd, sh.kv_ld, k0, BK, T, sh.hd);
  load_rows<HD>(Vs, v + b * T * sh.kv_ld + int64_t(kh) * sh.hd, sh.kv_ld, k0, BK, T, sh.hd);
  // Queries k0 .. qend − 1 see the tile.
  const int64_t qend = seeing_end(seg, (k0 + BK < T ? k0 + BK : T) - 1, T);

  int64_t kj[RPT];
  for (int r = 0; r < RPT; ++r) kj[r] = k0 + RPT * ty + r;
  float dk_acc[RPT][NC] = {}, dv_acc[RPT][NC] = {};
  for (int h = kh * sh.group; h < (kh + 1) * sh.group; ++h) {
    const float* qb = q + b * T * sh.q_ld + int64_t(h) * sh.hd;
    const float* ob = dout + b * T * qs + int64_t(h) * sh.hd;
    const float* lb = lse + (b * sh.nh + h) * T;
    const float* Db = D + (b * sh.nh + h) * T;
    for (int64_t q0 = k0; q0 < qend; q0 += BQ) {
      __syncthreads();  // the previous query tile is consumed (and Ks/Vs are loaded)
      load_rows<HD>(Qs, qb, sh.q_ld, q0, BQ, T, sh.hd);
      load_rows<HD>(dOs, ob, qs, q0, BQ, T, sh.hd);
      if (threadIdx.x < BQ) {
        const int64_t t = q0 + threadIdx.x;
        q_lse[threadIdx.x] = t < T ? lb[t] : 0.f;
        q_D[threadIdx.x] = t < T ? Db[t] : 0.f;
        q_first[threadIdx.x] = t < T ? seg[t] : INT32_MAX;
      }
      __syncthreads();
      float s[RPT][CPT] = {}, dp[RPT][CPT] = {};
      for (int d = 0; d < HD; ++d) {
        float kd[RPT], vd[RPT], qd[CPT], od[CPT];
        for (int r = 0; r < RPT; ++r) {
          kd[r] = Ks[(RPT * ty + r) * LD + d];
          vd[r] = Vs[(RPT * ty + r) * LD + d];
        }
        for (int c = 0; c < CPT; ++c) {
          qd[c] = Qs[(tx + 16 * c) * LD + d];
          od[c] = dOs[(tx + 16 * c) * LD + d];
        }
        for (int r = 0; r < RPT; ++r)
          for (int c = 0; c < CPT; ++c) {
            s[r][c] += kd[r] * qd[c];
            dp[r][c] += vd[r] * od[c];
          }
      }
      for (int r = 0; r < RPT; ++r)
        for (int c = 0; c < CPT; ++c) {
          const int i = tx + 16 * c;
          const float p = kj[r] >= q_first[i] && kj[r] <= q0 + i ? expf(s[r][c] * sh.scale - q_lse[i]) : 0.f;
          Pt[(RPT * ty + r) * (BQ + 1) + i] = p;
          dSt[(RPT * ty + r) * (BQ + 1) + i] = p * (dp[r][c] - q_D[i]) * sh.scale;
        }
      __syncthreads();
      for (int i = 0; i < BQ; ++i) {
        float od[NC], qd[NC];
        for (int c = 0; c < NC; ++c) {
          od[c] = dOs[i * LD + tx + 16 * c];
          qd[c] = Qs[i * LD + tx + 16 * c];
        }
        for (int r = 0; r < RPT; ++r) {
          const float p = Pt[(RPT * ty + r) * (BQ + 1) + i], ds = dSt[(RPT * ty + r) * (BQ + 1) + i];
          for (int c = 0; c < NC; ++c) {
            dv_acc[r][c] += p * od[c];
            dk_acc[r][c] += ds * qd[c];
          }
        }
      }
    }
  }
  for (int r = 0; r < RPT; ++r) {
    if (kj[r] >= T) continue;
    const int64_t off = (b * T + kj[r]) * sh.kv_ld + int64_t(kh) * sh.hd;
    for (int c = 0; c < NC; ++c)
      if (tx + 16 * c < sh.hd) {
        dk[off + tx + 16 * c] = dk_acc[r][c];
        dv[off + tx + 16 * c] = dv_acc[r][c];
      }
  }
}

// dQ of one tile of 64 queries of one head over its visible key tiles (32 keys):
// dQ += dS·K, with dS recomputed as in the dK/dV kernel.
template <int HD>
struct Dq {
  static constexpr int RPT = 4, CPT = 2, BQ = 16 * RPT, BK = 16 * CPT, LD = HD + 1;
  static constexpr size_t smem = sizeof(float) * (2 * BQ * LD + 2 * BK * LD + BQ * (BK + 1));
};

template <int HD>
__global__ void __launch_bounds__(kThreads)
    attention_backward_dq_kernel(float* dq, const float* dout, const float* lse, const float* D, const float* q,
                                 const float* k, const float* v, const int32_t* seg_start, Shape sh) {
  using G = Dq<HD>;
  constexpr int RPT = G::RPT, CPT = G::CPT, BQ = G::BQ, BK = G::BK, LD = G::LD, NC = HD / 16;
  extern __shared__ float smem[];
  float* Qs = smem;
  float* dOs = Qs + BQ * LD;
  float* Ks = dOs + BQ * LD;
  float* Vs = Ks + BK * LD;
  float* dSs = Vs + BK * LD;  // BQ × (BK + 1)
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int64_t T = sh.T, b = blockIdx.z;
  const int h = blockIdx.y, kh = h / sh.group;
  const int64_t q0 = int64_t(gridDim.x - 1 - blockIdx.x) * BQ, qs = int64_t(sh.nh) * sh.hd;
  const int32_t* seg = seg_start + b * T;
  const float* kb = k + b * T * sh.kv_ld + int64_t(kh) * sh.hd;
  const float* vb = v + b * T * sh.kv_ld + int64_t(kh) * sh.hd;
  load_rows<HD>(Qs, q + b * T * sh.q_ld + int64_t(h) * sh.hd, sh.q_ld, q0, BQ, T, sh.hd);
  load_rows<HD>(dOs, dout + b * T * qs + int64_t(h) * sh.hd, qs, q0, BQ, T, sh.hd);

  int64_t qi[RPT];
  int32_t first[RPT];
  float row_lse[RPT], row_D[RPT], dq_acc[RPT][NC] = {};
  for (int r = 0; r < RPT; ++r) {
    qi[r] = q0 + RPT * ty + r;
    const bool in = qi[r] < T;
    first[r] = in ? seg[qi[r]] : INT32_MAX;
    row_lse[r] = in ? lse[(b * sh.nh + h) * T + qi[r]] : 0.f;
    row_D[r] = in ? D[(b * sh.nh + h) * T + qi[r]] : 0.f;
  }
  const int64_t kend = q0 + BQ < T ? q0 + BQ : T;
  for (int64_t k0 = seg[q0]; k0 < kend; k0 += BK) {
    __syncthreads();  // Qs/dOs are loaded; the previous key tile is consumed
    load_rows<HD>(Ks, kb, sh.kv_ld, k0, BK, T, sh.hd);
    load_rows<HD>(Vs, vb, sh.kv_ld, k0, BK, T, sh.hd);
    __syncthreads();
    float s[RPT][CPT] = {}, dp[RPT][CPT] = {};
    for (int d = 0; d < HD; ++d) {
      float qd[RPT], od[RPT], kd[CPT], vd[CPT];
      for (int r = 0; r < RPT; ++r) {
        qd[r] = Qs[(RPT * ty + r) * LD + d];
        od[r] = dOs[(RPT * ty + r) * LD + d];
      }
      for (int c = 0; c < CPT; ++c) {
        kd[c] = Ks[(tx + 16 * c) * LD + d];
        vd[c] = Vs[(tx + 16 * c) * LD + d];
      }
      for (int r = 0; r < RPT; ++r)
        for (int c = 0; c < CPT; ++c) {
          s[r][c] += qd[r] * kd[c];
          dp[r][c] += od[r] * vd[c];
        }
    }
    for (int r = 0; r < RPT; ++r)
      for (int c = 0; c < CPT; ++c) {
        const int64_t kj = k0 + tx + 16 * c;
        const float p = kj >= first[r] && kj <= qi[r] ? expf(s[r][c] * sh.scale - row_lse[r]) : 0.f;
        dSs[(RPT * ty + r) * (BK + 1) + tx + 16 * c] = p * (dp[r][c] - row_D[r]) * sh.scale;
      }
    __syncthreads();
    for (int j = 0; j < BK; ++j) {
      float kd[NC];
      for (int c = 0; c < NC; ++c) kd[c] = Ks[j * LD + tx + 16 * c];
      for (int r = 0; r < RPT; ++r) {
        const float ds = dSs[(RPT * ty + r) * (BK + 1) + j];
        for (int c = 0; c < NC; ++c) dq_acc[r][c] += ds * kd[c];
      }
    }
  }
  for (int r = 0; r < RPT; ++r) {
    if (qi[r] >= T) continue;
    float* row = dq + (b * T + qi[r]) * sh.q_ld + int64_t(h) * sh.hd;
    for (int c = 0; c < NC; ++c)
      if (tx + 16 * c < sh.hd) row[tx + 16 * c] = dq_acc[r][c];
  }
}

// ---- attention against the KV cache: one block per (tile of 16 rows, KV head, sequence)

template <int HD>
struct Cached {
  static constexpr int BQ = 16, CPT = 2, BK = 16 * CPT, LD = HD + 1;
  static constexpr size_t smem = sizeof(float) * (BQ * LD + 2 * BK * LD + BQ * (BK + 1));
};

// seqs: kCachedSeqInts ints per sequence — first row in q/out, row count, cached
// length before the rows (past), cache slot.
template <int HD>
__global__ void __launch_bounds__(kThreads)
    attention_cached_kernel(float* out, const float* q, const float* k, const float* v, int64_t slot_stride,
                            const int32_t* seqs, Shape sh) {
  using G = Cached<HD>;
  constexpr int BQ = G::BQ, CPT = G::CPT, BK = G::BK, LD = G::LD, NC = HD / 16;
  const int32_t* sq = seqs + int64_t(blockIdx.z) * kCachedSeqInts;
  const int64_t row0 = sq[0], past = sq[2], slot = sq[3];
  const int64_t pairs = int64_t(sq[1]) * sh.group, t0 = int64_t(blockIdx.x) * BQ;
  if (t0 >= pairs) return;  // the grid covers the longest sequence; the whole block leaves
  extern __shared__ float smem[];
  float* Qs = smem;
  float* Ks = Qs + BQ * LD;
  float* Vs = Ks + BK * LD;
  float* Ps = Vs + BK * LD;  // BQ × (BK + 1) probabilities of the current key tile
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int kh = blockIdx.y;
  // Pair t is query row t / group of the sequence, head kh·group + t % group.
  for (int i = threadIdx.x; i < BQ * HD; i += kThreads) {
    const int r = i / HD, d = i % HD;
    const int64_t t = t0 + r;
    const int64_t h = int64_t(kh) * sh.group + t % sh.group;
    Qs[r * LD + d] = t < pairs && d < sh.hd ? q[(row0 + t / sh.group) * sh.q_ld + h * sh.hd + d] : 0.f;
  }
  const int64_t t = t0 + ty;
  const bool live = t < pairs;
  const int64_t last = live ? past + t / sh.group : -1;  // this row's query sees keys 0 .. last
  const int64_t tlast = (t0 + BQ < pairs ? t0 + BQ : pairs) - 1;
  const int64_t kend = past + tlast / sh.group + 1;  // keys the tile needs; none past them is read
  const float* kb = k + slot * slot_stride + int64_t(kh) * sh.hd;
  const float* vb = v + slot * slot_stride + int64_t(kh) * sh.hd;

  float m = -INFINITY, l = 0.f, o[NC];
  for (int c = 0; c < NC; ++c) o[c] = 0.f;
  for (int64_t k0 = 0; k0 < kend; k0 += BK) {
    __syncthreads();  // Qs is loaded; the previous key tile is consumed
    load_rows<HD>(Ks, kb, sh.kv_ld, k0, BK, kend, sh.hd);
    load_rows<HD>(Vs, vb, sh.kv_ld, k0, BK, kend, sh.hd);
    __syncthreads();
    float s[CPT] = {};
    for (int d = 0; d < HD; ++d) {
      const float qd = Qs[ty * LD + d];
      for (int c = 0; c < CPT; ++c) s[c] += qd * Ks[(tx + 16 * c) * LD + d];
    }
    float mx = -INFINITY;
    for (int c = 0; c < CPT; ++c) {
      s[c] = k0 + tx + 16 * c <= last ? s[c] * sh.scale : -INFINITY;
      mx = fmaxf(mx, s[c]);
    }
    const float mnew = fmaxf(m, row_max(mx));
    const float base = mnew == -INFINITY ? 0.f : mnew;  // as in the forward kernel
    const float alpha = expf(m - base);
    float rs = 0.f;
    for (int c = 0; c < CPT; ++c) {
      const float p = expf(s[c] - base);
      rs += p;
      Ps[ty * (BK + 1) + tx + 16 * c] = p;
    }
    l = l * alpha + row_sum(rs);
    m = mnew;
    for (int c = 0; c < NC; ++c) o[c] *= alpha;
    __syncthreads();
    for (int j = 0; j < BK; ++j) {
      const float p = Ps[ty * (BK + 1) + j];
      for (int c = 0; c < NC; ++c) o[c] += p * Vs[j * LD + tx + 16 * c];
    }
  }
  if (!live) return;
  const int64_t h = int64_t(kh) * sh.group + t % sh.group;
  float* orow = out + (row0 + t / sh.group) * int64_t(sh.nh) * sh.hd + h * sh.hd;
  for (int c = 0; c < NC; ++c)
    if (tx + 16 * c < sh.hd) orow[tx + 16 * c] = o[c] / l;
}

template <int HD>
cudaError_t forward(cudaStream_t s, float* out, float* lse, const float* q, const float* k, const float* v,
                    const int32_t* seg, int64_t B, const Shape& sh) {
  auto kernel = attention_forward_kernel<HD>;
  if (cudaError_t e = allow_smem(kernel, Fwd<HD>::smem); e != cudaSuccess) return e;
  const dim3 grid(tiles(sh.T, Fwd<HD>::BQ), static_cast<unsigned>(sh.nh), static_cast<unsigned>(B));
  kernel<<<grid, kThreads, Fwd<HD>::smem, s>>>(out, lse, q, k, v, seg, sh);
  return cudaGetLastError();
}

template <int HD>
cudaError_t backward(cudaStream_t s, float* dq, float* dk, float* dv, const float* dout, const float* lse,
                     const float* D, const float* q, const float* k, const float* v, const int32_t* seg, int64_t B,
                     int64_t nkv, const Shape& sh) {
  auto dkdv = attention_backward_dkdv_kernel<HD>;
  auto dqk = attention_backward_dq_kernel<HD>;
  if (cudaError_t e = allow_smem(dkdv, Dkdv<HD>::smem); e != cudaSuccess) return e;
  if (cudaError_t e = allow_smem(dqk, Dq<HD>::smem); e != cudaSuccess) return e;
  const dim3 grid_kv(tiles(sh.T, Dkdv<HD>::BK), static_cast<unsigned>(nkv), static_cast<unsigned>(B));
  dkdv<<<grid_kv, kThreads, Dkdv<HD>::smem, s>>>(dk, dv, dout, lse, D, q, k, v, seg, sh);
  const dim3 grid_q(tiles(sh.T, Dq<HD>::BQ), static_cast<unsigned>(sh.nh), static_cast<unsigned>(B));
  dqk<<<grid_q, kThreads, Dq<HD>::smem, s>>>(dq, dout, lse, D, q, k, v, seg, sh);
  return cudaGetLastError();
}

template <int HD>
cudaError_t cached(cudaStream_t s, float* out, const float* q, const float* k, const float* v, int64_t slot_stride,
                   const int32_t* seqs, int64_t S, int64_t max_rows, const Shape& sh) {
  auto kernel = attention_cached_kernel<HD>;
  if (cudaError_t e = allow_smem(kernel, Cached<HD>::smem); e != cudaSuccess) return e;
  const dim3 grid(tiles(max_rows * sh.group, Cached<HD>::BQ), static_cast<unsigned>(sh.nh / sh.group),
                  static_cast<unsigned>(S));
  kernel<<<grid, kThreads, Cached<HD>::smem, s>>>(out, q, k, v, slot_stride, seqs, sh);
  return cudaGetLastError();
}

}  // namespace

cudaError_t attention_forward(cudaStream_t s, float* out, float* lse, const float* q, const float* k,
                              const float* v, int64_t q_ld, int64_t kv_ld, const int32_t* seg_start, int64_t B,
                              int64_t T, int64_t nh, int64_t nkv, int64_t hd) {
  if (B == 0 || T == 0) return cudaSuccess;
  const Shape sh = make_shape(T, q_ld, kv_ld, nh, nkv, hd);
  return with_padded_head_dim(hd, [&](auto HD) {
    return forward<decltype(HD)::value>(s, out, lse, q, k, v, seg_start, B, sh);
  });
}

cudaError_t attention_row_dot(cudaStream_t s, float* D, const float* dout, const float* out, int64_t B, int64_t T,
                              int64_t nh, int64_t hd) {
  if (B == 0 || T == 0) return cudaSuccess;
  const Shape sh = make_shape(T, 0, 0, nh, nh, hd);  // the kernel reads T, nh and hd only
  const int64_t rows = B * nh * T;
  attention_backward_dot_kernel<<<static_cast<unsigned>((rows * 32 + kThreads - 1) / kThreads), kThreads, 0, s>>>(
      D, dout, out, rows, sh);
  return cudaGetLastError();
}

cudaError_t attention_backward(cudaStream_t s, float* dq, float* dk, float* dv, const float* dout,
                               const float* out, const float* lse, const float* q, const float* k, const float* v,
                               int64_t q_ld, int64_t kv_ld, const int32_t* seg_start, int64_t B, int64_t T,
                               int64_t nh, int64_t nkv, int64_t hd, float* scratch) {
  if (B == 0 || T == 0) return cudaSuccess;
  const Shape sh = make_shape(T, q_ld, kv_ld, nh, nkv, hd);
  if (cudaError_t e = attention_row_dot(s, scratch, dout, out, B, T, nh, hd); e != cudaSuccess) return e;
  return with_padded_head_dim(hd, [&](auto HD) {
    return backward<decltype(HD)::value>(s, dq, dk, dv, dout, lse, scratch, q, k, v, seg_start, B, nkv, sh);
  });
}

cudaError_t attention_cached(cudaStream_t s, float* out, const float* q, int64_t q_ld, const float* k,
                             const float* v, int64_t kv_ld, int64_t slot_stride, const int32_t* seqs, int64_t S,
                             int64_t max_rows, int64_t nh, int64_t nkv, int64_t hd) {
  if (S == 0 || max_rows == 0) return cudaSuccess;
  const Shape sh = make_shape(0, q_ld, kv_ld, nh, nkv, hd);
  return with_padded_head_dim(hd, [&](auto HD) {
    return cached<decltype(HD)::value>(s, out, q, k, v, slot_stride, seqs, S, max_rows, sh);
  });
}

}  // namespace kormo::backend::cuda
