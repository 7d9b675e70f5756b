// The CUDA backend: device memory, copies, cuBLAS GEMMs and scratch buffers around the
// kernels of ops.cu, attention.cu and attention_tc.cu, all on one stream (so every op is
// ordered after the previous one without events). Host code only, compiled by the C++
// compiler (nvcc cannot compile fmt's headers).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "kormo/backend/cuda/cuda_backend.h"
#include "kormo/backend/cuda/kernels.h"
#include "kormo/util/error.h"

namespace kormo::backend {

namespace {

void check(cudaError_t e, const char* op) {
  if (e != cudaSuccess) fail("CUDA backend: {}: {} ({})", op, cudaGetErrorString(e), cudaGetErrorName(e));
}

void check(cublasStatus_t st, const char* op) {
  if (st != CUBLAS_STATUS_SUCCESS) fail("CUDA backend: {}: {}", op, cublasGetStatusString(st));
}

const char* gemm_name(CudaGemm g) {
  switch (g) {
    case CudaGemm::kFp32: return "fp32";
    case CudaGemm::kTf32: return "tf32";
    case CudaGemm::kBf16: return "bf16";
  }
  return "?";
}

const char* attention_name(CudaAttention a) { return a == CudaAttention::kBf16 ? "bf16" : "fp32"; }

// One process per GPU under a launcher (mpirun, srun): the node-local rank picks the GPU;
// 0 when not launched.
int launcher_local_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCAL_RANK"}) {
    const char* v = std::getenv(name);
    if (!v || !*v) continue;
    char* end = nullptr;
    const long r = std::strtol(v, &end, 10);
    if (*end != '\0' || r < 0) fail("{}='{}': expected a node-local rank (an integer ≥ 0)", name, v);
    return static_cast<int>(r);
  }
  return 0;
}

CudaGemm gemm_from_env() {
  const char* e = std::getenv("KORMO_CUDA_GEMM");
  const std::string v = e ? e : "bf16";
  for (CudaGemm g : {CudaGemm::kFp32, CudaGemm::kTf32, CudaGemm::kBf16})
    if (v == gemm_name(g)) return g;
  fail("KORMO_CUDA_GEMM must be fp32, tf32 or bf16 (got '{}')", v);
}

// fp32 by default until a GPU run has passed the bf16 kernels' parity tests (cuda_backend.h).
CudaAttention attention_from_env() {
  const char* e = std::getenv("KORMO_CUDA_ATTENTION");
  const std::string v = e ? e : "fp32";
  for (CudaAttention a : {CudaAttention::kFp32, CudaAttention::kBf16})
    if (v == attention_name(a)) return a;
  fail("KORMO_CUDA_ATTENTION must be fp32 or bf16 (got '{}')", v);
}

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device) : device_(device), gemm_(gemm_from_env()), attention_(attention_from_env()) {
    const char* sync = std::getenv("KORMO_CUDA_SYNC");
    sync_each_op_ = sync && std::string(sync) == "1";
    check(cudaSetDevice(device), "cudaSetDevice");
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    device_name_ = prop.name;
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cublasCreate(&blas_), "cublasCreate");
    check(cublasSetStream(blas_, stream_), "cublasSetStream");
    // cuBLAS is bit-reproducible run to run on one GPU model given the same stream and
    // workspace: give it a fixed workspace of its own (set after the stream, which
    // resets it) and forbid the atomics some routines could use.
    check(cudaMalloc(&blas_workspace_, kBlasWorkspace), "cudaMalloc (cuBLAS workspace)");
    check(cublasSetWorkspace(blas_, blas_workspace_, kBlasWorkspace), "cublasSetWorkspace");
    check(cublasSetAtomicsMode(blas_, CUBLAS_ATOMICS_NOT_ALLOWED), "cublasSetAtomicsMode");
  }

  std::string name() const override {
    return fmt::format("cuda:{} ({}, GEMM {}, attention {})", device_, device_name_, gemm_name(gemm_),
                       attention_name(attention_));
  }
  bool host_accessible() const override { return false; }
  void set_gemm(CudaGemm g) { gemm_ = g; }
  void set_attention(CudaAttention a) { attention_ = a; }

  // ---- memory
  void* allocate(size_t bytes) override {
    void* p = nullptr;
    if (cudaError_t e = cudaMalloc(&p, bytes == 0 ? 64 : bytes); e != cudaSuccess) {
      cudaGetLastError();  // an allocation failure is not sticky: clear it for the next op's check
      fail("CUDA backend: out of device memory allocating {:.1f} MiB on {} ({})",
           static_cast<double>(bytes) / (1 << 20), device_name_, cudaGetErrorString(e));
    }
    check(cudaMemsetAsync(p, 0, bytes, stream_), "allocate (cudaMemsetAsync)");
    return p;
  }
  void deallocate(void* p) noexcept override {
    // Ops queued on the stream may still read p. Errors are ignored (this runs in
    // destructors, possibly after the CUDA runtime has shut down at exit).
    cudaStreamSynchronize(stream_);
    cudaFree(p);
    cudaGetLastError();
  }
  // Host copies synchronise, so the host buffer may be reused (or read) at once.
  void copy_to_device(void* dst, const void* host_src, size_t bytes) override {
    check(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_), "copy_to_device");
    check(cudaStreamSynchronize(stream_), "copy_to_device");
  }
  void copy_to_host(void* host_dst, const void* src, size_t bytes) override {
    check(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "copy_to_host");
    check(cudaStreamSynchronize(stream_), "copy_to_host");
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    done(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "copy");
  }
  void fill(float* x, float value, int64_t n) override { done(cuda::fill(stream_, x, value, n), "fill"); }
  void synchronize() override { check(cudaStreamSynchronize(stream_), "synchronize"); }

  // ---- ops
  void embedding_forward(float* out, const int32_t* tokens, const float* wte, int64_t N, int64_t C) override {
    done(cuda::embedding_forward(stream_, out, tokens, wte, N, C), "embedding_forward");
  }
  void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int64_t N, int64_t C) override {
    done(cuda::embedding_backward(stream_, dwte, dout, tokens, N, C), "embedding_backward");
  }
  void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, int64_t N, int64_t C,
                       float eps) override {
    done(cuda::rmsnorm_forward(stream_, out, rstd, inp, w, N, C, eps), "rmsnorm_forward");
  }
  void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w,
                        const float* rstd, int64_t N, int64_t C) override {
    float* part = scratch<float>(kRmsnormScratch, cuda::rmsnorm_backward_scratch(N, C));
    done(cuda::rmsnorm_backward(stream_, dinp, dw, dout, inp, w, rstd, N, C, part), "rmsnorm_backward");
  }

  void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
            const float* b, int64_t ldb, float beta, float* c, int64_t ldc) override {
    if (m == 0 || n == 0) return;
    // cuBLAS is column-major, and a row-major matrix is its transpose in column-major:
    // row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, i.e. the same call
    // with the operands swapped and each op kept.
    static constexpr cublasComputeType_t kCompute[] = {CUBLAS_COMPUTE_32F, CUBLAS_COMPUTE_32F_FAST_TF32,
                                                       CUBLAS_COMPUTE_32F_FAST_16BF};
    check(cublasGemmEx_64(blas_, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k,
                          &alpha, b, CUDA_R_32F, ldb, a, CUDA_R_32F, lda, &beta, c, CUDA_R_32F, ldc,
                          kCompute[static_cast<int>(gemm_)], CUBLAS_GEMM_DEFAULT),
          "gemm (cublasGemmEx)");
    done(cudaGetLastError(), "gemm");
  }

  void to_bf16(uint16_t* dst, const float* src, int64_t n) override {
    done(cuda::to_bf16(stream_, dst, src, n), "to_bf16");
  }
  void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
                 const uint16_t* b, int64_t ldb, bool accumulate, float* c, int64_t ldc) override {
    if (m == 0 || n == 0) return;
    // Operands swapped as in gemm(); bf16 inputs, fp32 output and accumulation.
    const float alpha = 1.f, beta = accumulate ? 1.f : 0.f;
    check(cublasGemmEx_64(blas_, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k,
                          &alpha, b, CUDA_R_16BF, ldb, a, CUDA_R_16BF, lda, &beta, c, CUDA_R_32F, ldc,
                          CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
          "gemm_bf16 (cublasGemmEx)");
    done(cudaGetLastError(), "gemm_bf16");
  }

  void rope_forward(float* x, int64_t ld, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                    int64_t heads, int64_t hd) override {
    done(cuda::rope(stream_, x, ld, pos, cos, sin, N, heads, hd, 1.f), "rope_forward");
  }
  void rope_backward(float* dx, int64_t ld, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                     int64_t heads, int64_t hd) override {
    // The rotation is orthogonal: its transpose is the rotation by −angle.
    done(cuda::rope(stream_, dx, ld, pos, cos, sin, N, heads, hd, -1.f), "rope_backward");
  }

  void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int64_t q_ld,
                         int64_t kv_ld, const int32_t* seg_start, int64_t B, int64_t T, int64_t nh, int64_t nkv,
                         int64_t hd) override {
    check_heads(nh, nkv, hd);
    const auto launch = attention_ == CudaAttention::kBf16 ? cuda::attention_forward_bf16 : cuda::attention_forward;
    done(launch(stream_, out, lse, q, k, v, q_ld, kv_ld, seg_start, B, T, nh, nkv, hd), "attention_forward");
  }
  void attention_cached(float* out, const float* q, int64_t q_ld, const float* k, const float* v, int64_t kv_ld,
                        int64_t slot_stride, const int32_t* rows, const int32_t* past, const int32_t* slot, int64_t S,
                        int64_t nh, int64_t nkv, int64_t hd) override {
    check_heads(nh, nkv, hd);
    if (S > 65535) fail("CUDA backend: attention_cached takes at most 65535 sequences per call (got {})", S);
    std::vector<int32_t> table;
    table.reserve(static_cast<size_t>(S * cuda::kCachedSeqInts));
    int64_t max_rows = 0;
    for (int64_t s = 0; s < S; ++s) {
      const int32_t n = rows[s + 1] - rows[s];
      table.insert(table.end(), {rows[s], n, past[s], slot[s]});
      max_rows = std::max<int64_t>(max_rows, n);
    }
    // The decoder passes the same arrays for every layer of a step: upload them once (an
    // upload synchronises the stream). The slot is this op's alone, so an equal table is
    // still on the device.
    int32_t* seqs = scratch<int32_t>(kCachedScratch, S * cuda::kCachedSeqInts);
    if (table != cached_table_) {
      cached_table_.clear();  // until the upload has succeeded
      copy_to_device(seqs, table.data(), table.size() * sizeof(int32_t));
      cached_table_ = std::move(table);
    }
    done(cuda::attention_cached(stream_, out, q, q_ld, k, v, kv_ld, slot_stride, seqs, S, max_rows, nh, nkv, hd),
         "attention_cached");
  }
  void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* out, const float* lse,
                          const float* q, const float* k, const float* v, int64_t q_ld, int64_t kv_ld,
                          const int32_t* seg_start, int64_t B, int64_t T, int64_t nh, int64_t nkv,
                          int64_t hd) override {
    check_heads(nh, nkv, hd);
    float* D = scratch<float>(kAttentionScratch, B * nh * T);
    const auto launch = attention_ == CudaAttention::kBf16 ? cuda::attention_backward_bf16 : cuda::attention_backward;
    done(launch(stream_, dq, dk, dv, dout, out, lse, q, k, v, q_ld, kv_ld, seg_start, B, T, nh, nkv, hd, D),
         "attention_backward");
  }

  void swiglu_forward(float* h, const float* gu, int64_t N, int64_t F) override {
    done(cuda::swiglu_forward(stream_, h, gu, N, F), "swiglu_forward");
  }
  void swiglu_backward(float* dgu, const float* dh, const float* gu, int64_t N, int64_t F) override {
    done(cuda::swiglu_backward(stream_, dgu, dh, gu, N, F), "swiglu_backward");
  }
  void residual_forward(float* out, const float* a, const float* b, int64_t n) override {
    done(cuda::residual_forward(stream_, out, a, b, n), "residual_forward");
  }
  void residual_backward(float* da, float* db, const float* dout, int64_t n) override {
    done(cuda::residual_backward(stream_, da, db, dout, n), "residual_backward");
  }
  void crossentropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets, int64_t N,
                            int64_t V, float z_loss) override {
    done(cuda::crossentropy_forward(stream_, losses, lse, logits, targets, N, V, z_loss), "crossentropy_forward");
  }
  void crossentropy_backward(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                             const float* weight, int64_t N, int64_t V, float z_loss) override {
    done(cuda::crossentropy_backward(stream_, dlogits, logits, lse, targets, weight, N, V, z_loss),
         "crossentropy_backward");
  }

  // ---- reductions and the optimizer
  double sum(const float* x, int64_t n) override { return reduce(x, n, false, "sum"); }
  double sum_squares(const float* x, int64_t n) override { return reduce(x, n, true, "sum_squares"); }
  // The partials of every whole block in one launch and the tail's in another, read back in
  // one copy and added per block as reduce() adds them, so each sum has sum_squares' bits.
  void sum_squares_blocks(const float* x, int64_t n, int64_t block, double* out) override {
    if (n <= 0) return;
    const int64_t whole = n / block, tail = n - whole * block, per = cuda::sum_blocks(block);
    const int64_t count = whole * per + (tail > 0 ? cuda::sum_blocks(tail) : 0);
    double* part = scratch<double>(kSumScratch, count);
    if (whole > 0) done(cuda::sum_partials_segments(stream_, part, x, whole, block), "sum_squares_blocks");
    if (tail > 0)
      done(cuda::sum_partials(stream_, part + whole * per, x + whole * block, tail, true), "sum_squares_blocks");
    std::vector<double> host(static_cast<size_t>(count));
    copy_to_host(host.data(), part, host.size() * sizeof(double));
    for (int64_t b = 0; b * block < n; ++b) {
      const int64_t first = b * per, parts = b < whole ? per : count - first;
      double s = 0;
      for (int64_t i = 0; i < parts; ++i) s += host[static_cast<size_t>(first + i)];
      out[b] = s;
    }
  }

  void adamw(float* params, const float* grads, float* m, float* v, const ParamRange* ranges, int64_t num_ranges,
             const AdamWStep& s) override {
    const std::vector<cuda::AdamChunk> chunks = cuda::adamw_chunks(ranges, num_ranges, s);
    if (chunks.empty()) return;
    const int64_t n = static_cast<int64_t>(chunks.size());
    cuda::AdamChunk* table = scratch<cuda::AdamChunk>(kAdamScratch, n);
    copy_to_device(table, chunks.data(), chunks.size() * sizeof(cuda::AdamChunk));
    done(cuda::adamw(stream_, params, grads, m, v, table, n, s), "adamw");
  }

 private:
  enum ScratchSlot { kRmsnormScratch, kAttentionScratch, kCachedScratch, kSumScratch, kAdamScratch, kScratchSlots };
  static constexpr size_t kBlasWorkspace = size_t{32} << 20;

  // Checks a launch; with KORMO_CUDA_SYNC=1 also waits for the op, so that an error in
  // its kernels is reported under its name.
  void done(cudaError_t e, const char* op) {
    check(e, op);
    if (sync_each_op_) check(cudaStreamSynchronize(stream_), op);
  }

  void check_heads(int64_t nh, int64_t nkv, int64_t hd) const {
    if (hd < 1 || hd > cuda::kMaxHeadDim)
      fail("CUDA backend: attention supports head_dim 1..{} (got {})", cuda::kMaxHeadDim, hd);
    if (nkv < 1 || nh % nkv != 0)
      fail("CUDA backend: attention needs num_heads ({}) divisible by num_kv_heads ({})", nh, nkv);
  }

  // A grow-only device buffer per slot; ops on the one stream never overlap, so each op
  // may reuse its slot freely.
  template <class T>
  T* scratch(ScratchSlot slot, int64_t count) {
    const size_t bytes = static_cast<size_t>(count) * sizeof(T);
    if (scratch_bytes_[slot] < bytes) {
      deallocate(scratch_[slot]);
      scratch_[slot] = nullptr;
      scratch_bytes_[slot] = 0;
      scratch_[slot] = allocate(bytes);
      scratch_bytes_[slot] = bytes;
    }
    return static_cast<T*>(scratch_[slot]);
  }

  // Σ in double: per-block partials on the device (fixed split of [0, n)), added here in
  // block order.
  double reduce(const float* x, int64_t n, bool square, const char* op) {
    const int64_t blocks = cuda::sum_blocks(n);
    double* part = scratch<double>(kSumScratch, blocks);
    done(cuda::sum_partials(stream_, part, x, n, square), op);
    std::vector<double> host(static_cast<size_t>(blocks));
    copy_to_host(host.data(), part, host.size() * sizeof(double));
    double s = 0;
    for (double p : host) s += p;
    return s;
  }

  int device_;
  std::string device_name_;
  CudaGemm gemm_;
  CudaAttention attention_;
  bool sync_each_op_ = false;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  void* blas_workspace_ = nullptr;
  void* scratch_[kScratchSlots] = {};
  size_t scratch_bytes_[kScratchSlots] = {};
  std::vector<int32_t> cached_table_;  // what kCachedScratch holds
};

}  // namespace

Backend* cuda_backend(std::string& why) {
  int count = 0;
  if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess || count == 0) {
    cudaGetLastError();
    why = fmt::format("no CUDA GPU visible (cudaGetDeviceCount: {})",
                      e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    return nullptr;
  }
  // Never destroyed: it must outlive every Array, whatever the order of static destruction.
  static CudaBackend* be = new CudaBackend(launcher_local_rank() % count);
  return be;
}

void set_cuda_gemm(Backend& be, CudaGemm mode) {
  auto* cuda = dynamic_cast<CudaBackend*>(&be);
  if (!cuda) fail("set_cuda_gemm: backend '{}' is not the CUDA backend", be.name());
  cuda->set_gemm(mode);
}

void set_cuda_attention(Backend& be, CudaAttention mode) {
  auto* cuda = dynamic_cast<CudaBackend*>(&be);
  if (!cuda) fail("set_cuda_attention: backend '{}' is not the CUDA backend", be.name());
  cuda->set_attention(mode);
}

}  // namespace kormo::backend
