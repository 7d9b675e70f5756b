#include <dnnl.h>

#include "kormo/backend/cpu/ops.h"
#include "kormo/util/error.h"

namespace kormo::backend::cpu_ops {

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success) fail("gemm: dnnl_sgemm failed (status {}) for m={} n={} k={}", static_cast<int>(st), m, n, k);
}

const char* gemm_library() { return "oneDNN sgemm"; }

}  // namespace kormo::backend::cpu_ops
