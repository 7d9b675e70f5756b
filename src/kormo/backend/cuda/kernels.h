// Launchers of the CUDA backend's kernels (ops.cu, attention.cu, attention_tc.cu): one host function per
// op, taking the stream and device pointers, with the semantics documented on the
// Backend interface (kormo/backend/backend.h). They return the launch status
// (cudaGetLastError); the backend turns failures into kormo::Error with the op name.
//
// Scratch memory is the caller's (the backend keeps grow-only buffers): ops that need it
// say how much. Every reduction has a fixed shape that depends on the problem size only,
// never on the device, so results are bit-identical run to run.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "kormo/backend/backend.h"

namespace kormo::backend::cuda {

cudaError_t fill(cudaStream_t s, float* x, float value, int64_t n);
// dst = bf16(src), round to nearest even (bf16 stored as uint16_t, as on the Backend).
cudaError_t to_bf16(cudaStream_t s, uint16_t* dst, const float* src, int64_t n);

cudaError_t embedding_forward(cudaStream_t s, float* out, const int32_t* tokens, const float* wte, int64_t N,
                              int64_t C);
cudaError_t embedding_backward(cudaStream_t s, float* dwte, const float* dout, const int32_t* tokens, int64_t N,
                               int64_t C);

cudaError_t rmsnorm_forward(cudaStream_t s, float* out, float* rstd, const float* inp, const float* w, int64_t N,
                            int64_t C, float eps);
// scratch: rmsnorm_backward_scratch(N, C) floats.
int64_t rmsnorm_backward_scratch(int64_t N, int64_t C);
cudaError_t rmsnorm_backward(cudaStream_t s, float* dinp, float* dw, const float* dout, const float* inp,
                             const float* w, const float* rstd, int64_t N, int64_t C, float* scratch);

cudaError_t rope(cudaStream_t s, float* x, int64_t ld, const int32_t* pos, const float* cos, const float* sin,
                 int64_t N, int64_t heads, int64_t hd, float sign);

// Head dims up to this are supported (padded inside to 32, 64 or 128).
constexpr int64_t kMaxHeadDim = 128;
cudaError_t attention_forward(cudaStream_t s, float* out, float* lse, const float* q, const float* k,
                              const float* v, int64_t q_ld, int64_t kv_ld, const int32_t* seg_start, int64_t B,
                              int64_t T, int64_t nh, int64_t nkv, int64_t hd);
// scratch: B·nh·T floats.
cudaError_t attention_backward(cudaStream_t s, float* dq, float* dk, float* dv, const float* dout,
                               const float* out, const float* lse, const float* q, const float* k, const float* v,
                               int64_t q_ld, int64_t kv_ld, const int32_t* seg_start, int64_t B, int64_t T,
                               int64_t nh, int64_t nkv, int64_t hd, float* scratch);

// D[b, h, t] = dout · out over head h's values of row t (softmax backward's row term,
// B·nh·T floats); both backward implementations start with it.
cudaError_t attention_row_dot(cudaStream_t s, float* D, const float* dout, const float* out, int64_t B, int64_t T,
                              int64_t nh, int64_t hd);
// The same two ops on bf16 tensor cores (attention_tc.cu): products of operands rounded to
// bfloat16, accumulated in fp32; softmax statistics and lse in fp32. Same contract and
// scratch.
cudaError_t attention_forward_bf16(cudaStream_t s, float* out, float* lse, const float* q, const float* k,
                                   const float* v, int64_t q_ld, int64_t kv_ld, const int32_t* seg_start, int64_t B,
                                   int64_t T, int64_t nh, int64_t nkv, int64_t hd);
cudaError_t attention_backward_bf16(cudaStream_t s, float* dq, float* dk, float* dv, const float* dout,
                                    const float* out, const float* lse, const float* q, const float* k,
                                    const float* v, int64_t q_ld, int64_t kv_ld, const int32_t* seg_start, int64_t B,
                                    int64_t T, int64_t nh, int64_t nkv, int64_t hd, float* scratch);

// Backend::attention_cached with the per-sequence arrays packed on the device:
// kCachedSeqInts ints per sequence (first row, row count, past, slot); max_rows is the
// largest row count.
constexpr int kCachedSeqInts = 4;
cudaError_t attention_cached(cudaStream_t s, float* out, const float* q, int64_t q_ld, const float* k,
                             const float* v, int64_t kv_ld, int64_t slot_stride, const int32_t* seqs, int64_t S,
                             int64_t max_rows, int64_t nh, int64_t nkv, int64_t hd);

cudaError_t swiglu_forward(cudaStream_t s, float* h, const float* gu, int64_t N, int64_t F);
cudaError_t swiglu_backward(cudaStream_t s, float* dgu, const float* dh, const float* gu, int64_t N, int64_t F);

cudaError_t residual_forward(cudaStream_t s, float* out, const float* a, const float* b, int64_t n);
cudaError_t residual_backward(cudaStream_t s, float* da, float* db, const float* dout, int64_t n);

cudaError_t crossentropy_forward(cudaStream_t s, float* losses, float* lse, const float* logits,
                                 const int32_t* targets, int64_t N, int64_t V, float z_loss);
cudaError_t crossentropy_backward(cudaStream_t s, float* dlogits, const float* logits, const float* lse,
                                  const int32_t* targets, const float* weight, int64_t N, int64_t V, float z_loss);

// Σ x (square = false) or Σ x² in double: partials[i] for i < sum_blocks(n), to be added
// on the host in index order.
int64_t sum_blocks(int64_t n);
cudaError_t sum_partials(cudaStream_t s, double* partials, const float* x, int64_t n, bool square);
// sum_partials(…, square = true) of `segments` consecutive segments of `length` values
// each, in one launch: segment i's sum_blocks(length) partials at partials + i·sum_blocks(length).
cudaError_t sum_partials_segments(cudaStream_t s, double* partials, const float* x, int64_t segments,
                                  int64_t length);

// AdamW runs over a table of chunks (one thread block each) cut from the parameter ranges,
// so one launch covers every range; keep = 1 − lr·wd for decayed ranges, else 1.
struct AdamChunk {
  int64_t offset, size;
  float keep;
};
std::vector<AdamChunk> adamw_chunks(const ParamRange* ranges, int64_t num_ranges, const AdamWStep& s);
cudaError_t adamw(cudaStream_t s, float* params, const float* grads, float* m, float* v, const AdamChunk* chunks,
                  int64_t num_chunks, const AdamWStep& step);

}  // namespace kormo::backend::cuda
