// CPU kernels of the decoder, one function per op with its backward beside it
// (llm.c style): the implementation behind the CPU backend. Semantics of each op are
// documented once, on the Backend interface (kormo/backend/backend.h); these take the
// same arguments.
//
// Promises beyond the interface's: every reduction has a fixed order for a fixed
// OpenMP thread count (work is split statically by index, never by scheduling), so
// results are bit-identical run to run.
#pragma once

#include <cstdint>
#include <string>

#include "kormo/backend/backend.h"

namespace kormo::backend::cpu_ops {

// oneDNN sgemm (chosen by measurement, see bench/gemm/RESULTS.md); its work split
// depends only on the OpenMP thread count.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
const char* gemm_library();
// Row-major bf16 × bf16 → fp32 (Backend::gemm_bf16) through a cached oneDNN matmul primitive.
void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
               const uint16_t* b, int64_t ldb, bool accumulate, float* c, int64_t ldc);
// The oneDNN implementation gemm_bf16 picks for a shape (e.g. "brg:avx512_core_amx"), for
// benchmarks and tests that check no slow reference kernel was chosen.
std::string gemm_bf16_impl(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb,
                           int64_t ldc, bool accumulate);
// C (+)= A · Bᵀ for few rows of A (row-major A [m, k], B [n, k], C [m, n]): decode-sized
// products, reading each row of B once (gemv.cpp says why). gemm and gemm_bf16 route
// products of that shape with m ≤ kGemvMaxRows here.
inline constexpr int64_t kGemvMaxRows = 4;
void gemv_bt(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
             bool accumulate, float* c, int64_t ldc);
void gemv_bt_bf16(int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda, const uint16_t* b, int64_t ldb,
                  bool accumulate, float* c, int64_t ldc);
// fp32 → bf16, round to nearest even (NaN stays NaN); the array form uses AVX512_BF16 when built for it.
uint16_t to_bf16(float x);
void to_bf16(uint16_t* dst, const float* src, int64_t n);

void embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C);
void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t N, int64_t C);

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, int64_t N, int64_t C, float eps);
void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w, const float* rstd,
                      int64_t N, int64_t C);

void rope_forward(float* x, int64_t ld, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                  int64_t heads, int64_t hd);
void rope_backward(float* dx, int64_t ld, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                   int64_t heads, int64_t hd);

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int64_t q_ld,
                       int64_t kv_ld, const int32_t* seg_start, int64_t B, int64_t T, int64_t nh, int64_t nkv,
                       int64_t hd);
void attention_cached(float* out, const float* q, int64_t q_ld, const float* k, const float* v, int64_t kv_ld,
                      int64_t slot_stride, const int32_t* rows, const int32_t* past, const int32_t* slot, int64_t S,
                      int64_t nh, int64_t nkv, int64_t hd);
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out, const float* lse,
                        const float* q, const float* k, const float* v, int64_t q_ld, int64_t kv_ld,
                        const int32_t* seg_start, int64_t B, int64_t T, int64_t nh, int64_t nkv, int64_t hd);

void swiglu_forward(float* h, const float* gu, int64_t N, int64_t F);
void swiglu_backward(float* dgu, const float* dh, const float* gu, int64_t N, int64_t F);

void residual_forward(float* out, const float* a, const float* b, int64_t n);
void residual_backward(float* da, float* db, const float* dout, int64_t n);

void crossentropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets, int64_t N,
                          int64_t V, float z_loss);
void crossentropy_backward(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                           const float* weight, int64_t N, int64_t V, float z_loss);

double sum(const float* x, int64_t n);
double sum_squares(const float* x, int64_t n);
void adamw(float* params, const float* grads, float* m, float* v, const ParamRange* ranges, int64_t num_ranges,
           const AdamWStep& s);

}  // namespace kormo::backend::cpu_ops
