// Runs the decoder over batches on the weights' backend: forward (with or without
// targets) and, in training mode, backward into its own gradient buffer.
//
// Promises:
//  - An inference Runner allocates no gradients and keeps one layer's activations,
//    reused by every layer; a training Runner keeps what backward needs per layer plus
//    the gradient buffer (same layout as the weights, Weights::capacity() long). With
//    RunnerOptions::recompute it keeps only each layer's input and backward re-runs one
//    layer's forward at a time into a single shared layer area: same ops in the same
//    order, so the gradients are bit-identical to those without recomputation.
//  - forward() on a batch without targets computes logits only (all positions, or the
//    last position of each row); with targets it also computes per-position losses and
//    returns their sum over non-ignored targets. Logits are the same either way.
//  - A training forward with targets computes the LM head and cross-entropy in chunks of
//    rows and keeps no logits (unless ForwardOptions::keep_logits); backward recomputes
//    each chunk's logits. The LM head's gradient is then a sum over chunks: deterministic,
//    but not bit-identical to one product over all rows.
//  - backward() after forward() on the same batch computes exact gradients of
//    Σ_n weight[n] · loss[n] (weights chosen by the caller, e.g. 1/valid tokens; 0 =
//    position ignored), accumulated into grads() (zero_grads() between steps).
//  - Precision::kBf16 runs every matmul (forward and both backward products) in bf16 with
//    fp32 accumulation: a bf16 shadow of the weights (rebuilt at the first forward after
//    weights_changed()) and bf16 copies of each GEMM's activation input and output
//    gradient. Everything else — weights, gradients, norms, softmax, losses — stays fp32.
//  - Many Runners may share one const Weights (one per thread or request); a Runner
//    itself is not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kormo/backend/backend.h"
#include "kormo/model/weights.h"
#include "kormo/util/batch.h"

namespace kormo::model {

struct ForwardOptions {
  float z_loss = 0.f;      // coefficient of logsumexp² added to each loss
  bool last_only = false;  // logits of each row's last position only (no losses)
  // Training with targets: keep all B·T rows of logits for logits()/logits_host() (one
  // [B·T, V] fp32 array) instead of one chunk's at a time.
  bool keep_logits = false;
};

// How a training Runner trades memory for compute.
struct RunnerOptions {
  bool recompute = false;       // keep each layer's input only; backward recomputes the layer
  int64_t loss_chunk_rows = 0;  // rows per LM-head/cross-entropy chunk; 0 = loss_chunk_rows()
};

// RoPE tables cos, sin [T, head_dim/2] for positions 0..T-1 (shared with the
// inference decoder so both rotate identically).
void rope_tables(const ModelConfig& c, int64_t T, std::vector<float>& cos, std::vector<float>& sin);

// Arithmetic of the matmuls (see the promises above).
enum class Precision { kFp32, kBf16 };
// "fp32" / "bf16"; anything else is a usage error naming `what` (the option or key).
Precision parse_precision(const std::string& s, const std::string& what);

class Runner {
 public:
  enum class Mode { kInference, kTraining };
  Runner(const Weights& w, Mode mode, Precision precision = Precision::kFp32, const RunnerOptions& opts = {});
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  const Weights& weights() const { return w_; }
  Mode mode() const { return mode_; }
  Precision precision() const { return precision_; }
  // The weights were written (an optimizer step): bf16 runs refresh their shadow copy at
  // the next forward. Without it a bf16 Runner keeps computing with the old weights.
  void weights_changed() { shadow_stale_ = true; }

  // Returns the sum of losses over non-ignored targets (0 without targets).
  double forward(const Batch& batch, const ForwardOptions& opts = {});
  // Training mode only; `weight` holds B·T host floats.
  void backward(const Batch& batch, const std::vector<float>& weight);

  // Backend memory, valid until the next forward/backward: logits [B·T, V] ([B, V] with
  // last_only; overwritten by backward; null after a training forward with targets
  // without keep_logits), losses [B·T] (only when the batch had targets).
  const float* logits() const { return logits_; }
  const float* losses() const { return losses_; }
  // Host copies of the above.
  std::vector<float> logits_host() const;
  std::vector<float> losses_host() const;

  float* grads() { return grads_.data(); }
  const float* grads() const { return grads_.data(); }
  void zero_grads();

  // Bytes of the activation buffers the last forward used (fp32 area plus the bf16 one).
  int64_t activation_bytes() const;

 private:
  struct Acts;
  // What the activation buffers are carved for.
  struct Shape {
    bool training = false, recompute = false;
    int64_t B = 0, T = 0, logit_rows = 0;
    // Sets of per-layer tensors: one per layer when training keeps them all, else one
    // shared by every layer (inference, and training with recomputation).
    int64_t layer_sets(const ModelConfig& c) const { return training && !recompute ? c.num_layers : 1; }
  };
  void prepare(const Batch& batch, bool with_targets, bool keep_logits);
  // Layer l's forward from a.resid[l]. `recompute`: backward's second run, which stops
  // at what backward reads (SwiGLU's output) and leaves a.resid[l+1] alone.
  void layer_forward(const Acts& a, int64_t l, bool recompute);
  // Logits of rows [r0, r0 + rows) into `out` (the LM head GEMM).
  void head_forward(float* out, const Acts& a, int64_t r0, int64_t rows);
  void to_bf16(uint16_t* dst, const float* src, int64_t n);
  // Views of acts_ (and acts_bf_) for shape_.
  Acts carve();
  // out[N,OC] = inp · W[woff]ᵀ in the Runner's precision; inp_bf is where the bf16 copy of
  // inp goes (kept for the backward's weight gradient).
  void linear_forward(float* out, const float* inp, uint16_t* inp_bf, int64_t woff, int64_t N, int64_t C,
                      int64_t OC);
  // dinp = dout · W, dW += doutᵀ · inp, with inp (or, in bf16, its saved copy inp_bf).
  void linear_backward(float* dinp, const float* dout, const float* inp, const uint16_t* inp_bf, int64_t woff,
                       int64_t N, int64_t C, int64_t OC);

  const Weights& w_;
  backend::Backend& be_;
  Mode mode_;
  Precision precision_;
  RunnerOptions opts_;
  Shape shape_;
  bool shadow_stale_ = true;
  backend::Array<float> grads_, acts_, rope_cos_, rope_sin_, weight_;
  // bf16 runs: the weights' shadow (same offsets as the fp32 buffer) and the bf16
  // activation area (see Acts::carve_bf16).
  backend::Array<uint16_t> wbf_, acts_bf_;
  uint16_t* dout_bf_ = nullptr;  // backward's output-gradient scratch (bf16 runs)
  backend::Array<int32_t> inputs_, targets_, pos_, seg_start_;
  std::vector<int32_t> pos_host_, seg_host_;
  int64_t B_ = 0, T_ = 0, rope_T_ = 0, used_bytes_ = 0;
  // Rows the logits buffer holds and rows per LM-head chunk (= logits_rows_ unless the
  // buffer holds one chunk).
  int64_t logits_rows_ = 0, chunk_rows_ = 0;
  bool have_targets_ = false, last_only_ = false, kept_logits_ = false;
  float z_loss_ = 0.f;
  float* logits_ = nullptr;
  float* losses_ = nullptr;
};

}  // namespace kormo::model
