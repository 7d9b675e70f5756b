// Runs the decoder over batches on the weights' backend: forward (with or without
// targets) and, in training mode, backward into its own gradient buffer.
//
// Promises:
//  - An inference Runner allocates no gradients and keeps one layer's activations,
//    reused by every layer; a training Runner keeps what backward needs per layer plus
//    the gradient buffer (same layout as the weights).
//  - forward() on a batch without targets computes logits only (all positions, or the
//    last position of each row); with targets it also computes per-position losses and
//    returns their sum over non-ignored targets. Logits are the same either way.
//  - backward() after forward() on the same batch computes exact gradients of
//    Σ_n weight[n] · loss[n] (weights chosen by the caller, e.g. 1/valid tokens; 0 =
//    position ignored), accumulated into grads() (zero_grads() between steps).
//  - Many Runners may share one const Weights (one per thread or request); a Runner
//    itself is not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "kormo/backend/backend.h"
#include "kormo/model/weights.h"
#include "kormo/util/batch.h"

namespace kormo::model {

struct ForwardOptions {
  float z_loss = 0.f;      // coefficient of logsumexp² added to each loss
  bool last_only = false;  // logits of each row's last position only (no losses)
};

// RoPE tables cos, sin [T, head_dim/2] for positions 0..T-1 (shared with the
// inference decoder so both rotate identically).
void rope_tables(const ModelConfig& c, int64_t T, std::vector<float>& cos, std::vector<float>& sin);

class Runner {
 public:
  enum class Mode { kInference, kTraining };
  Runner(const Weights& w, Mode mode);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  const Weights& weights() const { return w_; }
  Mode mode() const { return mode_; }

  // Returns the sum of losses over non-ignored targets (0 without targets).
  double forward(const Batch& batch, const ForwardOptions& opts = {});
  // Training mode only; `weight` holds B·T host floats.
  void backward(const Batch& batch, const std::vector<float>& weight);

  // Backend memory, valid until the next forward/backward: logits [B·T, V] ([B, V] with
  // last_only; overwritten by backward), losses [B·T] (only when the batch had targets).
  const float* logits() const { return logits_; }
  const float* losses() const { return losses_; }
  // Host copies of the above.
  std::vector<float> logits_host() const;
  std::vector<float> losses_host() const;

  float* grads() { return grads_.data(); }
  const float* grads() const { return grads_.data(); }
  void zero_grads();

 private:
  struct Acts;
  void prepare(const Batch& batch, bool with_targets);

  const Weights& w_;
  backend::Backend& be_;
  Mode mode_;
  backend::Array<float> grads_, acts_, rope_cos_, rope_sin_, weight_;
  backend::Array<int32_t> inputs_, targets_, pos_, seg_start_;
  std::vector<int32_t> pos_host_, seg_host_;
  int64_t B_ = 0, T_ = 0, rope_T_ = 0, logits_rows_ = 0;
  bool have_targets_ = false, last_only_ = false;
  float z_loss_ = 0.f;
  float* logits_ = nullptr;
  float* losses_ = nullptr;
};

}  // namespace kormo::model
