// The decoder with flat parameter, gradient and activation buffers.
//
// Promises:
//  - params() and grads() are single contiguous fp32 arrays laid out in tensors()
//    order; each tensor has its Hugging Face Llama name, so a checkpoint is a direct
//    dump and optimizers/all-reduce work on one array.
//  - forward() then backward() on the same Batch computes exact gradients of
//    sum_n weight[n] · loss[n] (weights chosen by the caller, e.g. 1/valid tokens),
//    accumulated into grads() (call zero_grads() between steps).
//  - Batch rows are packed documents: doc[n] is a per-row segment id (non-decreasing
//    along a row); attention never crosses segments and RoPE positions restart at 0
//    at each segment start. doc_ids_from_bos() gives the "running count of BOS" rule.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kormo/model/config.h"

namespace kormo::model {

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset = 0;  // in floats, into params()/grads()
  int64_t size = 0;
  bool decay = false;  // weight decay applies (linear weights yes; embeddings, norms no)
};

struct Batch {
  int64_t B = 0, T = 0;
  std::vector<int32_t> inputs;   // [B·T]
  std::vector<int32_t> targets;  // [B·T], < 0 = ignored
  std::vector<int32_t> doc;      // [B·T] segment id per position
};

// doc[t] = number of BOS tokens in row positions 0..t (a row not starting with BOS
// starts in segment 0).
std::vector<int32_t> doc_ids_from_bos(const std::vector<int32_t>& tokens, int64_t B, int64_t T, int32_t bos_id);

std::vector<TensorInfo> parameter_layout(const ModelConfig& c);

class Model {
 public:
  explicit Model(const ModelConfig& c);

  const ModelConfig& config() const { return cfg_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo& tensor(const std::string& name) const;
  std::vector<float>& params() { return params_; }
  const std::vector<float>& params() const { return params_; }
  std::vector<float>& grads() { return grads_; }

  // Normal(0, init_std) for embeddings and linear weights, 1 for norm weights.
  void init_weights(uint64_t seed);
  void zero_grads();

  // Computes logits and per-position losses (z_loss: coefficient of logsumexp²).
  // Returns the sum of losses over non-ignored targets.
  double forward(const Batch& batch, float z_loss = 0.f);
  // weight[n] scales position n's loss; requires the preceding forward on `batch`.
  void backward(const Batch& batch, const std::vector<float>& weight);

  // Valid after forward(): logits [B·T, V] (overwritten by backward), losses [B·T].
  const float* logits() const;
  const float* losses() const;

 private:
  struct Layer;
  struct Acts;
  void ensure_activations(int64_t B, int64_t T);
  void prepare_positions(const Batch& batch);

  ModelConfig cfg_;
  std::vector<TensorInfo> tensors_;
  std::vector<float> params_, grads_;
  std::vector<float> acts_;   // flat activation buffer, carved by Acts
  std::vector<float> rope_cos_, rope_sin_;
  std::vector<int32_t> pos_, seg_start_;
  int64_t B_ = 0, T_ = 0;
  float z_loss_ = 0.f;
};

}  // namespace kormo::model
