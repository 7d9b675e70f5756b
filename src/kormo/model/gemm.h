// The one matrix product the engine needs, behind a backend-neutral interface so a
// CUDA backend can supply its own. Row-major:
//   C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C
// op(X) = Xᵀ when the trans flag is set; lda/ldb/ldc are row strides of the stored
// matrices. The CPU backend is oneDNN's sgemm (chosen by measurement, see
// bench/gemm/RESULTS.md); its work split depends only on the OpenMP thread count,
// so results are bit-identical for a fixed thread count.
#pragma once

#include <cstdint>

namespace kormo::model {

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

const char* gemm_backend_name();

}  // namespace kormo::model
