// What both attention implementations share (attention.cu in fp32 on CUDA cores,
// attention_tc.cu on bf16 tensor cores): the problem shape their kernels take, the
// query range that sees a key tile, and launch helpers. Included by .cu files only.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <type_traits>

namespace kormo::backend::cuda::attention_detail {

struct Shape {
  int64_t T, q_ld, kv_ld;
  int nh, group, hd;
  float scale;
};

inline Shape make_shape(int64_t T, int64_t q_ld, int64_t kv_ld, int64_t nh, int64_t nkv, int64_t hd) {
  return {T,
          q_ld,
          kv_ld,
          static_cast<int>(nh),
          static_cast<int>(nh / nkv),
          static_cast<int>(hd),
          1.f / std::sqrt(static_cast<float>(hd))};
}

// The end of the queries that see key klast or an earlier key of its tile: queries after
// klast see it while their document starts at or before it, and seg_start is
// non-decreasing within a row (documents are contiguous), so they end where it first
// exceeds klast.
__device__ __forceinline__ int64_t seeing_end(const int32_t* seg, int64_t klast, int64_t T) {
  int64_t lo = klast + 1, hi = T;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (seg[mid] > klast)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

// Kernels with more than 48 KiB of dynamic shared memory must ask for it.
template <class K>
cudaError_t allow_smem(K* kernel, size_t bytes) {
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
}

// f(std::integral_constant<int, HD>{}) for the padding HD ∈ {32, 64, 128} of head dim hd
// (≤ kMaxHeadDim): the kernels are instantiated for these three widths only.
template <class F>
cudaError_t with_padded_head_dim(int64_t hd, F&& f) {
  if (hd <= 32) return f(std::integral_constant<int, 32>{});
  if (hd <= 64) return f(std::integral_constant<int, 64>{});
  return f(std::integral_constant<int, 128>{});
}

inline unsigned tiles(int64_t T, int tile) { return static_cast<unsigned>((T + tile - 1) / tile); }

}  // namespace kormo::backend::cuda::attention_detail
