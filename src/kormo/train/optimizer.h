// AdamW over the flat parameter buffer in backend memory, in the exact form of
// torch.optim.AdamW (decoupled decay p ← p·(1 − lr·wd), bias-corrected moments, eps
// added after the square root), with decay applied per tensor (TensorInfo::decay).
// The moments live in the same backend as the weights.
//
// ZeRO-1: an AdamW built for a shard of the buffer (dist::shard_of) updates only that
// range and holds moments for it alone, 8 bytes per parameter of the shard instead of
// the whole model. Every element's update is the one the unsharded AdamW computes, so
// ranks that each update their shard and then all-gather the weights get the same bits.
#pragma once

#include <cstdint>
#include <vector>

#include "kormo/backend/backend.h"
#include "kormo/dist/communicator.h"
#include "kormo/model/weights.h"

namespace kormo::train {

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.033;
};

class AdamW {
 public:
  // Updates the whole buffer.
  AdamW(const AdamWConfig& c, const model::Weights& w);
  // ZeRO-1: updates [shard.begin, shard.end) of it only; m() and v() hold that range.
  AdamW(const AdamWConfig& c, const model::Weights& w, dist::Shard shard);
  // One update at 1-based step t (t counts applied updates, not skipped ones), with the
  // gradients multiplied by grad_scale first (gradient clipping, fused to save a pass).
  // Reads grads and writes weights within the shard alone.
  void step(model::Weights& w, const float* grads, double lr, int64_t t, float grad_scale = 1.f);
  const dist::Shard& shard() const { return shard_; }
  // Built for a ZeRO-1 shard (true on every rank of such a run, even one whose shard
  // happens to be the whole buffer or empty).
  bool sharded() const { return sharded_; }
  backend::Array<float>& m() { return m_; }
  backend::Array<float>& v() { return v_; }

 private:
  AdamWConfig cfg_;
  dist::Shard shard_;
  bool sharded_ = false;
  std::vector<backend::ParamRange> ranges_;  // the tensors' ranges within the shard, from its start
  backend::Array<float> m_, v_;
};

// The gradient norm sqrt(Σ g²) of a single process: the backend's sum in double, whose
// order depends on n (kept so single-process runs stay bit-identical to earlier ones).
double grad_norm(backend::Backend& be, const float* grads, int64_t n);

// The gradient norm of data-parallel runs, the same bits whether each rank holds the
// whole summed gradient (all-reduce) or its shard of it (ZeRO-1): Σ g² of every
// dist::kShardBlock block, summed by the backend in double, then the blocks' sums added in
// block order. Shards are whole blocks, so under ZeRO-1 each rank sums the blocks of its
// shard `mine` and the vector of block sums is combined over `combine` with an all-reduce
// in which every entry is non-zero on one rank only (exact). combine = nullptr: this rank
// holds the whole gradient (mine is all of it) and nothing is communicated.
double block_grad_norm(backend::Backend& be, const float* grads, int64_t n, dist::Shard mine,
                       dist::Communicator* combine);

}  // namespace kormo::train
