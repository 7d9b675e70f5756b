// The CUDA backend (src/kormo/backend/cuda): the Backend of one GPU — fp32
// storage in device memory, the decoder's ops as hand-written kernels (ops.cu,
// attention.cu), GEMMs through cuBLAS, everything on one stream. backend::get("cuda")
// or get("auto") is the usual way in; this header adds what tests need beyond the
// Backend interface. Only built when CMake finds a CUDA compiler (KORMO_HAVE_CUDA).
// The GPU is the first visible one, or under a launcher (one process per GPU) the one
// of the node-local rank (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID or MPI_LOCAL_RANK)
// modulo the visible count. CUDA's current device is per thread and 0 by default: other
// threads (serve's scheduler) reach the backend's GPU outside a launcher, where it is 0;
// under a launcher the trainer issues every op from the thread that created it.
//
// Environment: KORMO_CUDA_GEMM = bf16 (default) | tf32 | fp32 picks the GEMM precision;
// KORMO_CUDA_ATTENTION = fp32 (default) | bf16 picks the training attention kernels;
// KORMO_CUDA_SYNC=1 synchronises after every op, so an asynchronous failure is reported
// under the op that caused it (and `profile = true` timings become per-op GPU time).
#pragma once

#include <string>

#include "kormo/backend/backend.h"

namespace kormo::backend {

// GEMM precision; inputs and outputs stay fp32 in memory either way.
//  kFp32: fp32 arithmetic (parity with the CPU backend to ~1e-5; the debug mode).
//  kTf32: tensor cores with inputs rounded to TF32 (10-bit mantissa), fp32 accumulation.
//  kBf16: tensor cores with inputs rounded to bfloat16, fp32 accumulation.
enum class CudaGemm { kFp32, kTf32, kBf16 };

// Training attention (attention_forward/attention_backward; attention_cached, for
// inference, is fp32 either way); inputs and outputs stay fp32 in memory either way.
//  kFp32: FlashAttention-2-style tiles on CUDA cores in fp32 (attention.cu).
//  kBf16: the same algorithm on tensor cores (attention_tc.cu): products of operands
//         rounded to bfloat16, fp32 accumulation and softmax statistics.
// The default stays kFp32 until a GPU run has passed the kBf16 parity tests
// (Cuda.AttentionTensorCores, CudaModel.Bf16Attention); that run flips it.
enum class CudaAttention { kFp32, kBf16 };

// The process-wide backend (the GPU chosen as above), or nullptr with `why` saying why
// there is none. Throws Error if a GPU is visible but cannot be set up.
Backend* cuda_backend(std::string& why);
// Changes the GEMM precision of `be`, which must be the CUDA backend (tests compare modes
// in one process).
void set_cuda_gemm(Backend& be, CudaGemm mode);
// Likewise the attention kernels.
void set_cuda_attention(Backend& be, CudaAttention mode);

}  // namespace kormo::backend
