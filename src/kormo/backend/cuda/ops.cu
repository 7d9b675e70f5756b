// CUDA kernels of the decoder's pointwise, normalisation, loss, reduction and optimizer
// ops, one kernel per op with its backward beside it (llm.c style), and their launchers.
// The arithmetic follows the CPU kernels (backend/cpu/ops.cpp, optimizer.cpp) term for
// term, so the two backends agree to rounding.
//
// Determinism: no atomics. Reductions run in a fixed order — a butterfly inside each
// warp, warps in index order, blocks in index order — and their grids depend only on
// the problem size.
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>

#include "kormo/backend/cuda/kernels.h"

namespace kormo::backend::cuda {

namespace {

constexpr int kThreads = 256;
constexpr unsigned kFullMask = 0xffffffffu;

// Blocks for a grid-stride loop over n elements (capped: each thread then loops).
unsigned blocks_for(int64_t n) {
  return static_cast<unsigned>(std::clamp<int64_t>((n + kThreads - 1) / kThreads, 1, 1 << 16));
}

__device__ __forceinline__ int64_t global_index() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t global_stride() { return int64_t(gridDim.x) * blockDim.x; }

// Sum over a block (blockDim.x a multiple of 32) with the same bits in every thread: in
// the butterfly each pair of lanes adds the same two values, then every thread adds the
// warps' sums in warp order. `red` is 32 elements of shared memory.
template <class T>
__device__ T block_sum(T v, T* red) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = v;
  __syncthreads();
  T s = red[0];
  for (int w = 1; w < int(blockDim.x / 32); ++w) s += red[w];
  __syncthreads();  // red is free again when this returns
  return s;
}

__global__ void fill_kernel(float* x, float value, int64_t n) {
  for (int64_t i = global_index(); i < n; i += global_stride()) x[i] = value;
}

__global__ void to_bf16_kernel(uint16_t* dst, const float* src, int64_t n) {
  for (int64_t i = global_index(); i < n; i += global_stride())
    dst[i] = __bfloat16_as_ushort(__float2bfloat16_rn(src[i]));
}

// ---- embedding

__global__ void embedding_forward_kernel(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C) {
  for (int64_t i = global_index(); i < N * C; i += global_stride())
    out[i] = wte[int64_t(tokens[i / C]) * C + i % C];
}

// dwte[tokens[n], c] += dout[n, c] without atomics: block (x, y) owns columns
// 256x .. 256x+255 of the vocabulary rows whose id ≡ y (mod kEmbedBuckets), and walks
// every token in order, so a repeated token sums in token order — the CPU's order, bit
// for bit. Tokens are staged through shared memory a tile at a time; the lanes of a
// warp always agree on the branch.
constexpr int kEmbedBuckets = 32;

__global__ void embedding_backward_kernel(float* dwte, const float* dout, const int32_t* tokens, int64_t N,
                                          int64_t C) {
  __shared__ int32_t tile[kThreads];
  const int64_t c = int64_t(blockIdx.x) * kThreads + threadIdx.x;
  const int bucket = blockIdx.y;
  for (int64_t n0 = 0; n0 < N; n0 += kThreads) {
    const int cnt = N - n0 < kThreads ? int(N - n0) : kThreads;
    if (int(threadIdx.x) < cnt) tile[threadIdx.x] = tokens[n0 + threadIdx.x];
    __syncthreads();
    if (c < C)
      for (int j = 0; j < cnt; ++j) {
        const int32_t t = tile[j];
        if (t % kEmbedBuckets == bucket) dwte[int64_t(t) * C + c] += dout[(n0 + j) * C + c];
      }
    __syncthreads();
  }
}

// ---- rmsnorm: one block per row

__global__ void rmsnorm_forward_kernel(float* out, float* rstd, const float* inp, const float* w, int64_t C,
                                       float eps) {
  __shared__ float red[32];
  const int64_t n = blockIdx.x;
  const float* x = inp + n * C;
  float ss = 0.f;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) ss += x[c] * x[c];
  const float r = 1.f / sqrtf(block_sum(ss, red) / static_cast<float>(C) + eps);
  if (threadIdx.x == 0) rstd[n] = r;
  float* o = out + n * C;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) o[c] = w[c] * (x[c] * r);
}

// dinp += rstd · (g − x · mean(g · x) · rstd²) with g = dout · w.
__global__ void rmsnorm_backward_dinp_kernel(float* dinp, const float* dout, const float* inp, const float* w,
                                             const float* rstd, int64_t C) {
  __shared__ float red[32];
  const int64_t n = blockIdx.x;
  const float *x = inp + n * C, *d = dout + n * C;
  const float r = rstd[n];
  float s = 0.f;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += d[c] * w[c] * x[c];
  const float m = block_sum(s, red) * r * r / static_cast<float>(C);
  float* di = dinp + n * C;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) di[c] += r * (d[c] * w[c] - x[c] * m);
}

// dw is a sum over rows: block (x, y) sums rows y·kDwRows .. +kDwRows of columns
// 32x .. 32x+31 (8 row lanes per column, then the lanes in order) into
// partial[y, c]; a second kernel adds the partials in chunk order.
constexpr int kDwRows = 64;

__global__ void rmsnorm_backward_dw_partial_kernel(float* partial, const float* dout, const float* inp,
                                                   const float* rstd, int64_t N, int64_t C) {
  __shared__ float acc[8][33];
  const int64_t c = int64_t(blockIdx.x) * 32 + threadIdx.x;
  const int64_t n0 = int64_t(blockIdx.y) * kDwRows, n1 = n0 + kDwRows < N ? n0 + kDwRows : N;
  float s = 0.f;
  if (c < C)
    for (int64_t n = n0 + threadIdx.y; n < n1; n += 8) s += dout[n * C + c] * inp[n * C + c] * rstd[n];
  acc[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float t = acc[0][threadIdx.x];
    for (int y = 1; y < 8; ++y) t += acc[y][threadIdx.x];
    partial[int64_t(blockIdx.y) * C + c] = t;
  }
}

__global__ void rmsnorm_backward_dw_sum_kernel(float* dw, const float* partial, int64_t chunks, int64_t C) {
  for (int64_t c = global_index(); c < C; c += global_stride()) {
    float t = partial[c];
    for (int64_t k = 1; k < chunks; ++k) t += partial[k * C + c];
    dw[c] += t;
  }
}

// ---- rope: one thread per rotated pair; sign −1 is the backward (the inverse rotation)

__global__ void rope_kernel(float* x, int64_t ld, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                            int64_t heads, int64_t hd, float sign) {
  const int64_t half = hd / 2;
  for (int64_t i = global_index(); i < N * heads * half; i += global_stride()) {
    const int64_t n = i / (heads * half), h = i / half % heads, k = i % half;
    float* v = x + n * ld + h * hd;
    const int64_t p = int64_t(pos[n]) * half + k;
    const float a = v[k], b = v[k + half], cs = cos[p], sn = sign * sin[p];
    v[k] = a * cs - b * sn;
    v[k + half] = b * cs + a * sn;
  }
}

// ---- swiglu

__global__ void swiglu_forward_kernel(float* h, const float* gu, int64_t N, int64_t F) {
  for (int64_t i = global_index(); i < N * F; i += global_stride()) {
    const int64_t n = i / F, j = i % F;
    const float g = gu[n * 2 * F + j], up = gu[n * 2 * F + F + j];
    h[i] = g / (1.f + expf(-g)) * up;
  }
}

__global__ void swiglu_backward_kernel(float* dgu, const float* dh, const float* gu, int64_t N, int64_t F) {
  for (int64_t i = global_index(); i < N * F; i += global_stride()) {
    const int64_t n = i / F, j = i % F;
    const float g = gu[n * 2 * F + j], up = gu[n * 2 * F + F + j], d = dh[i];
    const float sig = 1.f / (1.f + expf(-g));
    dgu[n * 2 * F + j] = d * up * sig * (1.f + g * (1.f - sig));
    dgu[n * 2 * F + F + j] = d * g * sig;
  }
}

// ---- residual

__global__ void residual_forward_kernel(float* out, const float* a, const float* b, int64_t n) {
  for (int64_t i = global_index(); i < n; i += global_stride()) out[i] = a[i] + b[i];
}

__global__ void residual_backward_kernel(float* da, float* db, const float* dout, int64_t n) {
  for (int64_t i = global_index(); i < n; i += global_stride()) {
    da[i] += dout[i];
    db[i] += dout[i];
  }
}

// ---- cross-entropy: one block per row of V logits

// A running (max, Σ exp(x − max)) pair: one pass over the logits instead of two.
struct MaxSum {
  float m, s;
};

__device__ MaxSum combine(MaxSum a, MaxSum b) {
  if (a.m == -INFINITY) return b;
  if (b.m == -INFINITY) return a;
  const float m = fmaxf(a.m, b.m);
  return {m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}

__global__ void crossentropy_forward_kernel(float* losses, float* lse, const float* logits, const int32_t* targets,
                                            int64_t V, float z_loss) {
  __shared__ MaxSum red[32];
  const int64_t n = blockIdx.x;
  const float* l = logits + n * V;
  MaxSum a{-INFINITY, 0.f};
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) {
    const float x = l[j];
    if (x > a.m) {
      a.s = a.s * expf(a.m - x) + 1.f;
      a.m = x;
    } else {
      a.s += expf(x - a.m);
    }
  }
  for (int o = 16; o > 0; o >>= 1)
    a = combine(a, {__shfl_xor_sync(kFullMask, a.m, o), __shfl_xor_sync(kFullMask, a.s, o)});
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = a;  // lane 0's result stands for its warp
  __syncthreads();
  if (threadIdx.x == 0) {
    MaxSum t = red[0];
    for (int w = 1; w < int(blockDim.x / 32); ++w) t = combine(t, red[w]);
    const float z = t.m + logf(t.s);
    lse[n] = z;
    const int32_t tg = targets[n];
    losses[n] = tg < 0 ? 0.f : z - l[tg] + z_loss * z * z;
  }
}

// d/dlogit of (lse − l_target + z·lse²) = softmax · (1 + 2·z·lse) − onehot, times the
// row's weight. dlogits may alias logits: each element is read, then written, by one thread.
__global__ void crossentropy_backward_kernel(float* dlogits, const float* logits, const float* lse,
                                             const int32_t* targets, const float* weight, int64_t V, float z_loss) {
  const int64_t n = blockIdx.x;
  const float* l = logits + n * V;
  float* d = dlogits + n * V;
  const int32_t t = targets[n];
  const float w = weight[n];
  if (t < 0 || w == 0.f) {
    for (int64_t j = threadIdx.x; j < V; j += blockDim.x) d[j] = 0.f;
    return;
  }
  const float z = lse[n], f = w * (1.f + 2.f * z_loss * z);
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) {
    float g = f * expf(l[j] - z);
    if (j == t) g -= w;
    d[j] = g;
  }
}

// ---- sums in double: block b reduces the b-th of gridDim.x contiguous chunks of
// x + blockIdx.y·stride (one segment of n per y; partial has gridDim.x per segment)

__global__ void sum_kernel(double* partial, const float* x, int64_t n, int64_t stride, bool square) {
  __shared__ double red[32];
  x += blockIdx.y * stride;
  partial += blockIdx.y * gridDim.x;
  const int64_t b = blockIdx.x, nb = gridDim.x;
  double s = 0;
  for (int64_t i = n * b / nb + threadIdx.x; i < n * (b + 1) / nb; i += blockDim.x) {
    const double v = x[i];
    s += square ? v * v : v;
  }
  s = block_sum(s, red);
  if (threadIdx.x == 0) partial[b] = s;
}

// ---- AdamW: one block per chunk (see adamw_chunks), the CPU's expression order

constexpr int64_t kAdamChunk = 1 << 16;

__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, const AdamChunk* chunks, float b1,
                             float b2, float eps, float scale, float step_size, float bc2_sqrt) {
  const AdamChunk ch = chunks[blockIdx.x];
  for (int64_t k = threadIdx.x; k < ch.size; k += blockDim.x) {
    const int64_t i = ch.offset + k;
    const float gi = g[i] * scale;
    const float pi = p[i] * ch.keep;
    const float mi = b1 * m[i] + (1.f - b1) * gi;
    const float vi = b2 * v[i] + (1.f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
  }
}

}  // namespace

cudaError_t fill(cudaStream_t s, float* x, float value, int64_t n) {
  fill_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, value, n);
  return cudaGetLastError();
}

cudaError_t to_bf16(cudaStream_t s, uint16_t* dst, const float* src, int64_t n) {
  if (n == 0) return cudaSuccess;
  to_bf16_kernel<<<blocks_for(n), kThreads, 0, s>>>(dst, src, n);
  return cudaGetLastError();
}

cudaError_t embedding_forward(cudaStream_t s, float* out, const int32_t* tokens, const float* wte, int64_t N,
                              int64_t C) {
  embedding_forward_kernel<<<blocks_for(N * C), kThreads, 0, s>>>(out, tokens, wte, N, C);
  return cudaGetLastError();
}

cudaError_t embedding_backward(cudaStream_t s, float* dwte, const float* dout, const int32_t* tokens, int64_t N,
                               int64_t C) {
  if (N == 0 || C == 0) return cudaSuccess;
  const dim3 grid(static_cast<unsigned>((C + kThreads - 1) / kThreads), kEmbedBuckets);
  embedding_backward_kernel<<<grid, kThreads, 0, s>>>(dwte, dout, tokens, N, C);
  return cudaGetLastError();
}

cudaError_t rmsnorm_forward(cudaStream_t s, float* out, float* rstd, const float* inp, const float* w, int64_t N,
                            int64_t C, float eps) {
  if (N == 0) return cudaSuccess;
  rmsnorm_forward_kernel<<<static_cast<unsigned>(N), kThreads, 0, s>>>(out, rstd, inp, w, C, eps);
  return cudaGetLastError();
}

int64_t rmsnorm_backward_scratch(int64_t N, int64_t C) { return (N + kDwRows - 1) / kDwRows * C; }

cudaError_t rmsnorm_backward(cudaStream_t s, float* dinp, float* dw, const float* dout, const float* inp,
                             const float* w, const float* rstd, int64_t N, int64_t C, float* scratch) {
  if (N == 0 || C == 0) return cudaSuccess;
  rmsnorm_backward_dinp_kernel<<<static_cast<unsigned>(N), kThreads, 0, s>>>(dinp, dout, inp, w, rstd, C);
  const int64_t chunks = (N + kDwRows - 1) / kDwRows;
  const dim3 grid(static_cast<unsigned>((C + 31) / 32), static_cast<unsigned>(chunks));
  rmsnorm_backward_dw_partial_kernel<<<grid, dim3(32, 8), 0, s>>>(scratch, dout, inp, rstd, N, C);
  rmsnorm_backward_dw_sum_kernel<<<blocks_for(C), kThreads, 0, s>>>(dw, scratch, chunks, C);
  return cudaGetLastError();
}

cudaError_t rope(cudaStream_t s, float* x, int64_t ld, const int32_t* pos, const float* cos, const float* sin,
                 int64_t N, int64_t heads, int64_t hd, float sign) {
  rope_kernel<<<blocks_for(N * heads * (hd / 2)), kThreads, 0, s>>>(x, ld, pos, cos, sin, N, heads, hd, sign);
  return cudaGetLastError();
}

cudaError_t swiglu_forward(cudaStream_t s, float* h, const float* gu, int64_t N, int64_t F) {
  swiglu_forward_kernel<<<blocks_for(N * F), kThreads, 0, s>>>(h, gu, N, F);
  return cudaGetLastError();
}

cudaError_t swiglu_backward(cudaStream_t s, float* dgu, const float* dh, const float* gu, int64_t N, int64_t F) {
  swiglu_backward_kernel<<<blocks_for(N * F), kThreads, 0, s>>>(dgu, dh, gu, N, F);
  return cudaGetLastError();
}

cudaError_t residual_forward(cudaStream_t s, float* out, const float* a, const float* b, int64_t n) {
  residual_forward_kernel<<<blocks_for(n), kThreads, 0, s>>>(out, a, b, n);
  return cudaGetLastError();
}

cudaError_t residual_backward(cudaStream_t s, float* da, float* db, const float* dout, int64_t n) {
  residual_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(da, db, dout, n);
  return cudaGetLastError();
}

cudaError_t crossentropy_forward(cudaStream_t s, float* losses, float* lse, const float* logits,
                                 const int32_t* targets, int64_t N, int64_t V, float z_loss) {
  if (N == 0) return cudaSuccess;
  crossentropy_forward_kernel<<<static_cast<unsigned>(N), kThreads, 0, s>>>(losses, lse, logits, targets, V, z_loss);
  return cudaGetLastError();
}

cudaError_t crossentropy_backward(cudaStream_t s, float* dlogits, const float* logits, const float* lse,
                                  const int32_t* targets, const float* weight, int64_t N, int64_t V, float z_loss) {
  if (N == 0) return cudaSuccess;
  crossentropy_backward_kernel<<<static_cast<unsigned>(N), kThreads, 0, s>>>(dlogits, logits, lse, targets, weight,
                                                                              V, z_loss);
  return cudaGetLastError();
}

int64_t sum_blocks(int64_t n) { return std::clamp<int64_t>(n / 8192, 1, 512); }

cudaError_t sum_partials(cudaStream_t s, double* partials, const float* x, int64_t n, bool square) {
  sum_kernel<<<static_cast<unsigned>(sum_blocks(n)), kThreads, 0, s>>>(partials, x, n, 0, square);
  return cudaGetLastError();
}

cudaError_t sum_partials_segments(cudaStream_t s, double* partials, const float* x, int64_t segments,
                                  int64_t length) {
  for (int64_t done = 0; done < segments; done += 65535) {  // gridDim.y's limit
    const int64_t now = std::min<int64_t>(segments - done, 65535);
    const dim3 grid(static_cast<unsigned>(sum_blocks(length)), static_cast<unsigned>(now));
    sum_kernel<<<grid, kThreads, 0, s>>>(partials + done * sum_blocks(length), x + done * length, length, length,
                                         true);
    if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

std::vector<AdamChunk> adamw_chunks(const ParamRange* ranges, int64_t num_ranges, const AdamWStep& s) {
  const float keep = static_cast<float>(1.0 - s.lr * s.weight_decay);
  std::vector<AdamChunk> chunks;
  for (int64_t r = 0; r < num_ranges; ++r)
    for (int64_t o = 0; o < ranges[r].size; o += kAdamChunk)
      chunks.push_back({ranges[r].offset + o, std::min(kAdamChunk, ranges[r].size - o), ranges[r].decay ? keep : 1.f});
  return chunks;
}

cudaError_t adamw(cudaStream_t s, float* params, const float* grads, float* m, float* v, const AdamChunk* chunks,
                  int64_t num_chunks, const AdamWStep& step) {
  if (num_chunks == 0) return cudaSuccess;
  const float step_size = static_cast<float>(step.lr / step.bias_correction1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(step.bias_correction2));
  adamw_kernel<<<static_cast<unsigned>(num_chunks), kThreads, 0, s>>>(params, grads, m, v, chunks, step.beta1,
                                                                      step.beta2, step.eps, step.grad_scale,
                                                                      step_size, bc2_sqrt);
  return cudaGetLastError();
}

}  // namespace kormo::backend::cuda
