// Model shape: a Llama-style decoder (KORMo family), with its size arithmetic.
// Reading and writing configs (TOML, HF config.json) is in config_io.h, so this
// header stays free of toml++/nlohmann for CUDA translation units.
#pragma once

#include <cstdint>
#include <string>

namespace kormo::model {

struct ModelConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t max_seq_len = 4096;
  double rope_theta = 500000.0;
  double rms_eps = 1e-5;
  double init_std = 0.02;
  int64_t bos_token_id = 0;
  int64_t eos_token_id = 1;
  int64_t pad_token_id = 2;
};

// Throws Error naming `where` if the shape is inconsistent (heads not divisible, zero sizes).
void validate(const ModelConfig& c, const std::string& where);

// Exact parameter count (embeddings, layers, final norm, untied head).
int64_t num_parameters(const ModelConfig& c);
// Training FLOPs per token at sequence length `seq` (forward + backward = 3× forward):
// 6 × (matmul parameters incl. LM head) + 12 × layers × heads × head_dim × seq / 2 for
// causal attention scores and values.
double train_flops_per_token(const ModelConfig& c, int64_t seq);

// A training step computes the LM head and its cross-entropy over chunks of rows whose
// fp32 logits take at most this many bytes, never all B·T rows at once.
inline constexpr int64_t kLossChunkBytes = int64_t{64} << 20;
// Rows per chunk for `rows` rows in all: as many as fit kLossChunkBytes, at least 1.
int64_t loss_chunk_rows(const ModelConfig& c, int64_t rows);

// Peak memory of training (bytes): the fp32 arrays of the model and the training Runner,
// plus what a CPU training process holds beside them. Checked against the measured peak
// RSS of `kormo pretrain` (tests/cli/pretrain_memory_test.sh; docs/engine.md § Model).
struct MemoryEstimate {
  double weights, grads, optimizer, activations;
  // Activations when each layer keeps only its input and backward recomputes the rest
  // one layer at a time (RunnerOptions::recompute).
  double activations_recompute;
  // The CPU process beside those arrays: the program itself (code and libraries as
  // loaded: `program_bytes`), thread stacks, allocator and GEMM scratch (a measured
  // constant), and each thread's attention scratch (scores and their gradient for one
  // sequence, 2·seq² floats). Not part of a GPU's memory.
  double runtime;
};
// The resident size of a CPU-only kormo binary at start, measured; a binary linked with
// the CUDA libraries loads ~200 MiB more, so callers pass their own (resident_bytes()).
inline constexpr double kProgramBytes = 10.0 * 1024 * 1024;
// Throws Error naming the keys when a count does not fit in 64 bits.
MemoryEstimate estimate_memory(const ModelConfig& c, int64_t batch, int64_t seq, int threads = 1,
                               double program_bytes = kProgramBytes);

// What a data-parallel GPU run needs per GPU and how long a step takes at a given MFU,
// for the storage the CUDA backend uses (fp32 weights, gradients, moments, activations).
struct GpuPlanOptions {
  int64_t gpus = 1;
  int64_t batch = 1, seq = 4096;  // micro-batch per GPU
  int zero_stage = 0;             // 1: AdamW moments sharded across the GPUs
  bool recompute = false;
  double mfu = 0.45;
  double peak_flops = 989e12;     // per GPU (H100/H200 dense bf16)
};
struct GpuPlan {
  MemoryEstimate per_gpu;  // optimizer already divided for ZeRO-1
  double activations;      // the activations figure that applies (recomputed or not)
  double total_bytes;
  double step_s, tokens_per_s;
};
GpuPlan plan_gpu(const ModelConfig& c, const GpuPlanOptions& o);

}  // namespace kormo::model
