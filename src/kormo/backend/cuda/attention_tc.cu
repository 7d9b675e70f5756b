// Grouped-query attention with the per-document causal mask on bf16 tensor cores
// (KORMO_CUDA_ATTENTION=bf16): the FlashAttention-2 algorithm of attention.cu — online
// softmax in the forward, backward recomputing P = exp(S·scale − lse), one kernel per key
// tile for dK/dV and one per query tile for dQ, no atomics — with every matrix product
// (Q·Kᵀ, P·V, dO·Vᵀ, K·Qᵀ, Pᵀ·dO, dSᵀ·Q, dS·K) on tensor cores. Inputs and outputs stay
// fp32 in global memory; tiles are rounded to bfloat16 (nearest even) as they are loaded
// into shared memory. Products accumulate in fp32; the softmax's running max and sum, lse,
// D and dS before rounding are fp32. P and dS are rounded to bf16 as operands of the next
// product, as FlashAttention does.
//
// nvcuda::wmma rather than mma.sync PTX: its 16×16×16 fragments hide which lane holds
// which matrix element, so there is no hand-written register layout to get wrong in code
// that was written without a GPU to run it on. The price: accumulator elements cannot be
// addressed in registers, so each elementwise step (mask, softmax, dS) reads the scores
// from a small per-warp fp32 tile in shared memory.
//
// Layout: 128 threads = 4 warps. The forward and dQ kernels take 64 queries per block
// (16 per warp, a fragment's height) against key tiles of 64; the dK/dV kernel 64 keys per
// block (16 per warp) against query tiles of 64. Where a warp works on elements one by
// one, lanes 2r and 2r + 1 own row r of its 16 rows, lane % 2 the half of the columns.
// Head dims are padded with zeros to HD ∈ {32, 64, 128}: padded columns add nothing to
// products and are never written. bf16 tile rows hold HD + 8 values, so consecutive rows
// start 16 bytes apart in the banks.
//
// Masking as in attention.cu: key j is visible to query t iff seg_start[t] <= j <= t, per
// element; padded rows (t ≥ T) see nothing and are never written. Whole key tiles outside
// [seg_start of a query tile's first query, its last query] are skipped, which relies on
// seg_start being non-decreasing within a row, as attention.cu does.
#include <cuda_bf16.h>
#include <mma.h>

#include <cmath>
#include <cstdint>

#include "kormo/backend/cuda/attention_common.cuh"
#include "kormo/backend/cuda/kernels.h"

namespace kormo::backend::cuda {

namespace {

using namespace attention_detail;
using namespace nvcuda;
using bf16 = __nv_bfloat16;

constexpr int kWarps = 4, kThreads = 32 * kWarps;
constexpr int kRows = 16;              // rows per warp: the fragments' height
constexpr int kTile = kRows * kWarps;  // a block's rows, and the tile it runs them against
constexpr int kPLd = kTile + 8;        // row length of a warp's 16 × kTile bf16 tile (P, dS)
constexpr int kFLd = 16 + 4;           // row length of a warp's 16 × 16 fp32 staging tile
constexpr unsigned kFullMask = 0xffffffffu;

using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major>;
using FragB = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major>;
using FragBt = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major>;  // rows read as columns
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

// Rows r0 .. r0 + kTile − 1 of a [T, ld] fp32 matrix (hd values each) into a kTile × (HD + 8)
// bf16 tile, zero past T and past hd (so padded keys and values add exact zeros, never NaN).
template <int HD>
__device__ void load_tile(bf16* dst, const float* src, int64_t ld, int64_t r0, int64_t T, int hd) {
  for (int i = threadIdx.x; i < kTile * HD; i += kThreads) {
    const int r = i / HD, d = i % HD;
    const int64_t t = r0 + r;
    dst[r * (HD + 8) + d] = __float2bfloat16(t < T && d < hd ? src[t * ld + d] : 0.f);
  }
}

// acc = A·Bᵀ for 16 rows of A and 16 rows of B, both in bf16 tiles of HD + 8 per row.
template <int HD>
__device__ void rows_dot(FragC& acc, const bf16* a, const bf16* b) {
  wmma::fill_fragment(acc, 0.f);
#pragma unroll
  for (int kk = 0; kk < HD; kk += 16) {
    FragA fa;
    FragBt fb;
    wmma::load_matrix_sync(fa, a + kk, HD + 8);
    wmma::load_matrix_sync(fb, b + kk, HD + 8);
    wmma::mma_sync(acc, fa, fb, acc);
  }
}

// acc[n] += A·M[:, 16n .. 16n + 15] for A a warp's 16 × kTile bf16 tile (P or dS) and M a
// kTile × (HD + 8) bf16 tile (V, dO, Q or K).
template <int HD>
__device__ void tile_mul(FragC (&acc)[HD / 16], const bf16* a, const bf16* m) {
#pragma unroll
  for (int kk = 0; kk < kTile; kk += 16) {
    FragA fa;
    wmma::load_matrix_sync(fa, a + kk, kPLd);
#pragma unroll
    for (int n = 0; n < HD / 16; ++n) {
      FragB fb;
      wmma::load_matrix_sync(fb, m + kk * (HD + 8) + 16 * n, HD + 8);
      wmma::mma_sync(acc[n], fa, fb, acc[n]);
    }
  }
}

// Writes the warp's 16 × HD accumulators to rows row0 .. row0 + 15 of a [T, ld] fp32
// matrix (hd columns, rows before T) through the 16 × 16 staging tile.
template <int HD>
__device__ void store_rows(float* dst, int64_t ld, int64_t row0, int64_t T, int hd, FragC (&acc)[HD / 16],
                           float* stage) {
  const int lane = threadIdx.x % 32, r = lane / 2, c0 = 8 * (lane % 2);
#pragma unroll
  for (int n = 0; n < HD / 16; ++n) {
    wmma::store_matrix_sync(stage, acc[n], kFLd, wmma::mem_row_major);
    __syncwarp();
    if (row0 + r < T)
      for (int e = 0; e < 8; ++e)
        if (16 * n + c0 + e < hd) dst[(row0 + r) * ld + 16 * n + c0 + e] = stage[r * kFLd + c0 + e];
    __syncwarp();
  }
}

// ---- forward: one block per (tile of 64 queries, head, batch row); key tiles of 64

template <int HD>
struct Fwd {
  static constexpr int LD = HD + 8, SLD = kTile + 4;
  // Q, K, V tiles; per warp P (bf16), the scores (fp32) and a staging tile.
  static constexpr size_t smem =
      sizeof(bf16) * (3 * kTile * LD + kWarps * kRows * kPLd) + sizeof(float) * kWarps * kRows * (SLD + kFLd);
};

template <int HD>
__global__ void __launch_bounds__(kThreads)
    attention_forward_tc_kernel(float* out, float* lse, const float* q, const float* k, const float* v,
                                const int32_t* seg_start, Shape sh) {
  using G = Fwd<HD>;
  constexpr int LD = G::LD, SLD = G::SLD, NC = HD / 16, HALF = kTile / 2;
  extern __shared__ __align__(128) unsigned char smem[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r = lane / 2, half = lane % 2;
  bf16* Qs = reinterpret_cast<bf16*>(smem);
  bf16* Ks = Qs + kTile * LD;
  bf16* Vs = Ks + kTile * LD;
  bf16* Ps = Vs + kTile * LD + warp * kRows * kPLd;
  float* fbase = reinterpret_cast<float*>(Vs + kTile * LD + kWarps * kRows * kPLd);
  float* Ss = fbase + warp * kRows * SLD;
  float* stage = fbase + kWarps * kRows * SLD + warp * kRows * kFLd;
  const int64_t T = sh.T, b = blockIdx.z;
  const int h = blockIdx.y, kh = h / sh.group;
  const int64_t q0 = int64_t(gridDim.x - 1 - blockIdx.x) * kTile;  // the tiles with most keys start first
  const int32_t* seg = seg_start + b * T;
  const float* kb = k + b * T * sh.kv_ld + int64_t(kh) * sh.hd;
  const float* vb = v + b * T * sh.kv_ld + int64_t(kh) * sh.hd;
  load_tile<HD>(Qs, q + b * T * sh.q_ld + int64_t(h) * sh.hd, sh.q_ld, q0, T, sh.hd);

  const int64_t t = q0 + warp * kRows + r;        // this lane's query
  const int64_t first = t < T ? seg[t] : INT64_MAX;  // its first visible key; none past T
  float m = -INFINITY, l = 0.f, o[NC][8];
#pragma unroll
  for (int n = 0; n < NC; ++n)
#pragma unroll
    for (int e = 0; e < 8; ++e) o[n][e] = 0.f;
  const int64_t kend = q0 + kTile < T ? q0 + kTile : T;
  for (int64_t k0 = seg[q0]; k0 < kend; k0 += kTile) {
    __syncthreads();  // Qs is loaded; the previous key tile is consumed
    load_tile<HD>(Ks, kb, sh.kv_ld, k0, T, sh.hd);
    load_tile<HD>(Vs, vb, sh.kv_ld, k0, T, sh.hd);
    __syncthreads();
#pragma unroll
    for (int n = 0; n < kTile / 16; ++n) {
      FragC acc;
      rows_dot<HD>(acc, Qs + warp * kRows * LD, Ks + 16 * n * LD);
      wmma::store_matrix_sync(Ss + 16 * n, acc, SLD, wmma::mem_row_major);
    }
    __syncwarp();
    float s[HALF], mx = -INFINITY;
#pragma unroll
    for (int c = 0; c < HALF; ++c) {
      const int64_t j = k0 + half * HALF + c;
      s[c] = j >= first && j <= t ? Ss[r * SLD + half * HALF + c] * sh.scale : -INFINITY;
      mx = fmaxf(mx, s[c]);
    }
    const float mnew = fmaxf(m, fmaxf(mx, __shfl_xor_sync(kFullMask, mx, 1)));
    // A row that has seen no visible key yet has max −inf: subtract 0 instead, so
    // exp(−inf) gives 0 rather than exp(NaN).
    const float base = mnew == -INFINITY ? 0.f : mnew;
    const float alpha = expf(m - base);
    float rs = 0.f;
#pragma unroll
    for (int c = 0; c < HALF; ++c) {
      const float p = expf(s[c] - base);
      rs += p;
      Ps[r * kPLd + half * HALF + c] = __float2bfloat16(p);
    }
    l = l * alpha + (rs + __shfl_xor_sync(kFullMask, rs, 1));  // both lanes of the row get the same sum
    m = mnew;
#pragma unroll
    for (int n = 0; n < NC; ++n)
#pragma unroll
      for (int e = 0; e < 8; ++e) o[n][e] *= alpha;
    __syncwarp();
    // O += P·V, one 16-column block at a time through the staging tile.
    FragA pa[kTile / 16];
#pragma unroll
    for (int kk = 0; kk < kTile / 16; ++kk) wmma::load_matrix_sync(pa[kk], Ps + 16 * kk, kPLd);
#pragma unroll
    for (int n = 0; n < NC; ++n) {
      FragC acc;
      wmma::fill_fragment(acc, 0.f);
#pragma unroll
      for (int kk = 0; kk < kTile / 16; ++kk) {
        FragB fv;
        wmma::load_matrix_sync(fv, Vs + 16 * kk * LD + 16 * n, LD);
        wmma::mma_sync(acc, pa[kk], fv, acc);
      }
      wmma::store_matrix_sync(stage, acc, kFLd, wmma::mem_row_major);
      __syncwarp();
#pragma unroll
      for (int e = 0; e < 8; ++e) o[n][e] += stage[r * kFLd + 8 * half + e];
      __syncwarp();
    }
  }
  if (t >= T) return;
  float* orow = out + (b * T + t) * int64_t(sh.nh) * sh.hd + int64_t(h) * sh.hd;
#pragma unroll
  for (int n = 0; n < NC; ++n)
#pragma unroll
    for (int e = 0; e < 8; ++e)
      if (16 * n + 8 * half + e < sh.hd) orow[16 * n + 8 * half + e] = o[n][e] / l;
  if (half == 0) lse[(b * sh.nh + h) * T + t] = m + logf(l);
}

// ---- backward

// The warp's 16 × 16 staging tiles of scores S = a·bᵀ and dP = da·dbᵀ (both backward
// kernels: S = Q·Kᵀ, dP = dO·Vᵀ, or their transposes with the operands swapped), ready
// for elementwise reads by the warp's lanes.
template <int HD>
__device__ void scores_and_dp(float* Ss, float* dPs, const bf16* a, const bf16* b, const bf16* da, const bf16* db) {
  FragC s, dp;
  rows_dot<HD>(s, a, b);
  rows_dot<HD>(dp, da, db);
  wmma::store_matrix_sync(Ss, s, kFLd, wmma::mem_row_major);
  wmma::store_matrix_sync(dPs, dp, kFLd, wmma::mem_row_major);
  __syncwarp();
}

// P and dS of one (query, key) pair from its scores s = q·k and dp = dO·v: the probability
// recomputed from the saved lse, and dS = P ∘ (dP − D) · scale; both 0 where masked.
struct Grad {
  float p, ds;
};
__device__ __forceinline__ Grad pair_grad(bool visible, float s, float dp, float row_lse, float row_D, float scale) {
  const float p = visible ? expf(s * scale - row_lse) : 0.f;
  return {p, p * (dp - row_D) * scale};
}

// dK, dV of one tile of 64 keys of one KV head, summed over the group's query heads and
// the query tiles (64 queries) that see it: dV += Pᵀ·dO, dK += dSᵀ·Q. Each warp owns 16
// keys and computes its Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ 16 queries at a time.
template <int HD>
struct Dkdv {
  static constexpr int LD = HD + 8;
  // K, V, Q, dO tiles; per warp Pᵀ and dSᵀ (bf16) and two staging tiles; the query tile's
  // lse, D and first visible key.
  static constexpr size_t smem = sizeof(bf16) * (4 * kTile * LD + 2 * kWarps * kRows * kPLd) +
                                 sizeof(float) * (2 * kWarps * kRows * kFLd + 2 * kTile) + sizeof(int32_t) * kTile;
};

template <int HD>
__global__ void __launch_bounds__(kThreads)
    attention_backward_dkdv_tc_kernel(float* dk, float* dv, const float* dout, const float* lse, const float* D,
                                      const float* q, const float* k, const float* v, const int32_t* seg_start,
                                      Shape sh) {
  using G = Dkdv<HD>;
  constexpr int LD = G::LD, NC = HD / 16;
  extern __shared__ __align__(128) unsigned char smem[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r = lane / 2, c0 = 8 * (lane % 2);
  bf16* Ks = reinterpret_cast<bf16*>(smem);
  bf16* Vs = Ks + kTile * LD;
  bf16* Qs = Vs + kTile * LD;
  bf16* dOs = Qs + kTile * LD;
  bf16* Pt = dOs + kTile * LD + warp * kRows * kPLd;
  bf16* dSt = dOs + kTile * LD + kWarps * kRows * kPLd + warp * kRows * kPLd;
  float* fbase = reinterpret_cast<float*>(dOs + kTile * LD + 2 * kWarps * kRows * kPLd);
  float* Ss = fbase + warp * 2 * kRows * kFLd;
  float* dPs = Ss + kRows * kFLd;
  float* q_lse = fbase + 2 * kWarps * kRows * kFLd;
  float* q_D = q_lse + kTile;
  int32_t* q_first = reinterpret_cast<int32_t*>(q_D + kTile);
  const int64_t T = sh.T, b = blockIdx.z;
  const int kh = blockIdx.y;
  const int64_t k0 = int64_t(blockIdx.x) * kTile, qs = int64_t(sh.nh) * sh.hd;
  const int32_t* seg = seg_start + b * T;
  load_tile<HD>(Ks, k + b * T * sh.kv_ld + int64_t(kh) * sh.hd, sh.kv_ld, k0, T, sh.hd);
  load_tile<HD>(Vs, v + b * T * sh.kv_ld + int64_t(kh) * sh.hd, sh.kv_ld, k0, T, sh.hd);
  // Queries k0 .. qend − 1 see the tile.
  const int64_t qend = seeing_end(seg, (k0 + kTile < T ? k0 + kTile : T) - 1, T);

  const int64_t kj = k0 + warp * kRows + r;  // the key of this lane's row
  FragC dk_acc[NC], dv_acc[NC];
#pragma unroll
  for (int n = 0; n < NC; ++n) {
    wmma::fill_fragment(dk_acc[n], 0.f);
    wmma::fill_fragment(dv_acc[n], 0.f);
  }
  for (int h = kh * sh.group; h < (kh + 1) * sh.group; ++h) {
    const float* qb = q + b * T * sh.q_ld + int64_t(h) * sh.hd;
    const float* ob = dout + b * T * qs + int64_t(h) * sh.hd;
    const float* lb = lse + (b * sh.nh + h) * T;
    const float* Db = D + (b * sh.nh + h) * T;
    for (int64_t q0 = k0; q0 < qend; q0 += kTile) {
      __syncthreads();  // the previous query tile is consumed (and Ks/Vs are loaded)
      load_tile<HD>(Qs, qb, sh.q_ld, q0, T, sh.hd);
      load_tile<HD>(dOs, ob, qs, q0, T, sh.hd);
      if (threadIdx.x < kTile) {
        const int64_t t = q0 + threadIdx.x;
        q_lse[threadIdx.x] = t < T ? lb[t] : 0.f;
        q_D[threadIdx.x] = t < T ? Db[t] : 0.f;
        q_first[threadIdx.x] = t < T ? seg[t] : INT32_MAX;
      }
      __syncthreads();
#pragma unroll
      for (int n = 0; n < kTile / 16; ++n) {  // queries q0 + 16n .. q0 + 16n + 15
        scores_and_dp<HD>(Ss, dPs, Ks + warp * kRows * LD, Qs + 16 * n * LD, Vs + warp * kRows * LD,
                          dOs + 16 * n * LD);
        for (int e = 0; e < 8; ++e) {
          const int i = 16 * n + c0 + e;  // the query's index in the tile
          const Grad g = pair_grad(kj >= q_first[i] && kj <= q0 + i, Ss[r * kFLd + c0 + e], dPs[r * kFLd + c0 + e],
                                   q_lse[i], q_D[i], sh.scale);
          Pt[r * kPLd + i] = __float2bfloat16(g.p);
          dSt[r * kPLd + i] = __float2bfloat16(g.ds);
        }
        __syncwarp();
      }
      tile_mul<HD>(dv_acc, Pt, dOs);
      tile_mul<HD>(dk_acc, dSt, Qs);
    }
  }
  const int64_t krow0 = k0 + warp * kRows, off = b * T * sh.kv_ld + int64_t(kh) * sh.hd;
  store_rows<HD>(dk + off, sh.kv_ld, krow0, T, sh.hd, dk_acc, Ss);
  store_rows<HD>(dv + off, sh.kv_ld, krow0, T, sh.hd, dv_acc, Ss);
}

// dQ of one tile of 64 queries of one head over its visible key tiles (64 keys):
// dQ += dS·K, with dS recomputed as in the dK/dV kernel.
template <int HD>
struct Dq {
  static constexpr int LD = HD + 8;
  // Q, dO, K, V tiles; per warp dS (bf16) and two staging tiles.
  static constexpr size_t smem =
      sizeof(bf16) * (4 * kTile * LD + kWarps * kRows * kPLd) + sizeof(float) * 2 * kWarps * kRows * kFLd;
};

template <int HD>
__global__ void __launch_bounds__(kThreads)
    attention_backward_dq_tc_kernel(float* dq, const float* dout, const float* lse, const float* D, const float* q,
                                    const float* k, const float* v, const int32_t* seg_start, Shape sh) {
  using G = Dq<HD>;
  constexpr int LD = G::LD, NC = HD / 16;
  extern __shared__ __align__(128) unsigned char smem[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r = lane / 2, c0 = 8 * (lane % 2);
  bf16* Qs = reinterpret_cast<bf16*>(smem);
  bf16* dOs = Qs + kTile * LD;
  bf16* Ks = dOs + kTile * LD;
  bf16* Vs = Ks + kTile * LD;
  bf16* dSs = Vs + kTile * LD + warp * kRows * kPLd;
  float* Ss = reinterpret_cast<float*>(Vs + kTile * LD + kWarps * kRows * kPLd) + warp * 2 * kRows * kFLd;
  float* dPs = Ss + kRows * kFLd;
  const int64_t T = sh.T, b = blockIdx.z;
  const int h = blockIdx.y, kh = h / sh.group;
  const int64_t q0 = int64_t(gridDim.x - 1 - blockIdx.x) * kTile, qs = int64_t(sh.nh) * sh.hd;
  const int32_t* seg = seg_start + b * T;
  const float* kb = k + b * T * sh.kv_ld + int64_t(kh) * sh.hd;
  const float* vb = v + b * T * sh.kv_ld + int64_t(kh) * sh.hd;
  load_tile<HD>(Qs, q + b * T * sh.q_ld + int64_t(h) * sh.hd, sh.q_ld, q0, T, sh.hd);
  load_tile<HD>(dOs, dout + b * T * qs + int64_t(h) * sh.hd, qs, q0, T, sh.hd);

  const int64_t t = q0 + warp * kRows + r;  // the query of this lane's row
  const bool in = t < T;
  const int64_t first = in ? seg[t] : INT64_MAX;
  const float row_lse = in ? lse[(b * sh.nh + h) * T + t] : 0.f, row_D = in ? D[(b * sh.nh + h) * T + t] : 0.f;
  FragC dq_acc[NC];
#pragma unroll
  for (int n = 0; n < NC; ++n) wmma::fill_fragment(dq_acc[n], 0.f);
  const int64_t kend = q0 + kTile < T ? q0 + kTile : T;
  for (int64_t k0 = seg[q0]; k0 < kend; k0 += kTile) {
    __syncthreads();  // Qs/dOs are loaded; the previous key tile is consumed
    load_tile<HD>(Ks, kb, sh.kv_ld, k0, T, sh.hd);
    load_tile<HD>(Vs, vb, sh.kv_ld, k0, T, sh.hd);
    __syncthreads();
#pragma unroll
    for (int n = 0; n < kTile / 16; ++n) {  // keys k0 + 16n .. k0 + 16n + 15
      scores_and_dp<HD>(Ss, dPs, Qs + warp * kRows * LD, Ks + 16 * n * LD, dOs + warp * kRows * LD,
                        Vs + 16 * n * LD);
      for (int e = 0; e < 8; ++e) {
        const int64_t j = k0 + 16 * n + c0 + e;
        const Grad g =
            pair_grad(j >= first && j <= t, Ss[r * kFLd + c0 + e], dPs[r * kFLd + c0 + e], row_lse, row_D, sh.scale);
        dSs[r * kPLd + 16 * n + c0 + e] = __float2bfloat16(g.ds);
      }
      __syncwarp();
    }
    tile_mul<HD>(dq_acc, dSs, Ks);
  }
  store_rows<HD>(dq + b * T * sh.q_ld + int64_t(h) * sh.hd, sh.q_ld, q0 + warp * kRows, T, sh.hd, dq_acc, Ss);
}

template <int HD>
cudaError_t forward(cudaStream_t s, float* out, float* lse, const float* q, const float* k, const float* v,
                    const int32_t* seg, int64_t B, const Shape& sh) {
  auto kernel = attention_forward_tc_kernel<HD>;
  if (cudaError_t e = allow_smem(kernel, Fwd<HD>::smem); e != cudaSuccess) return e;
  const dim3 grid(tiles(sh.T, kTile), static_cast<unsigned>(sh.nh), static_cast<unsigned>(B));
  kernel<<<grid, kThreads, Fwd<HD>::smem, s>>>(out, lse, q, k, v, seg, sh);
  return cudaGetLastError();
}

template <int HD>
cudaError_t backward(cudaStream_t s, float* dq, float* dk, float* dv, const float* dout, const float* lse,
                     const float* D, const float* q, const float* k, const float* v, const int32_t* seg, int64_t B,
                     int64_t nkv, const Shape& sh) {
  auto dkdv = attention_backward_dkdv_tc_kernel<HD>;
  auto dqk = attention_backward_dq_tc_kernel<HD>;
  if (cudaError_t e = allow_smem(dkdv, Dkdv<HD>::smem); e != cudaSuccess) return e;
  if (cudaError_t e = allow_smem(dqk, Dq<HD>::smem); e != cudaSuccess) return e;
  const dim3 grid_kv(tiles(sh.T, kTile), static_cast<unsigned>(nkv), static_cast<unsigned>(B));
  dkdv<<<grid_kv, kThreads, Dkdv<HD>::smem, s>>>(dk, dv, dout, lse, D, q, k, v, seg, sh);
  const dim3 grid_q(tiles(sh.T, kTile), static_cast<unsigned>(sh.nh), static_cast<unsigned>(B));
  dqk<<<grid_q, kThreads, Dq<HD>::smem, s>>>(dq, dout, lse, D, q, k, v, seg, sh);
  return cudaGetLastError();
}

}  // namespace

cudaError_t attention_forward_bf16(cudaStream_t s, float* out, float* lse, const float* q, const float* k,
                                   const float* v, int64_t q_ld, int64_t kv_ld, const int32_t* seg_start, int64_t B,
                                   int64_t T, int64_t nh, int64_t nkv, int64_t hd) {
  if (B == 0 || T == 0) return cudaSuccess;
  const Shape sh = make_shape(T, q_ld, kv_ld, nh, nkv, hd);
  return with_padded_head_dim(hd, [&](auto HD) {
    return forward<decltype(HD)::value>(s, out, lse, q, k, v, seg_start, B, sh);
  });
}

cudaError_t attention_backward_bf16(cudaStream_t s, float* dq, float* dk, float* dv, const float* dout,
                                    const float* out, const float* lse, const float* q, const float* k,
                                    const float* v, int64_t q_ld, int64_t kv_ld, const int32_t* seg_start, int64_t B,
                                    int64_t T, int64_t nh, int64_t nkv, int64_t hd, float* scratch) {
  if (B == 0 || T == 0) return cudaSuccess;
  const Shape sh = make_shape(T, q_ld, kv_ld, nh, nkv, hd);
  if (cudaError_t e = attention_row_dot(s, scratch, dout, out, B, T, nh, hd); e != cudaSuccess) return e;
  return with_padded_head_dim(hd, [&](auto HD) {
    return backward<decltype(HD)::value>(s, dq, dk, dv, dout, lse, scratch, q, k, v, seg_start, B, nkv, sh);
  });
}

}  // namespace kormo::backend::cuda
