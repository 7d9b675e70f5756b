#include "kormo/train/optimizer.h"

#include <algorithm>
#include <cmath>

#include "kormo/util/error.h"

namespace kormo::train {

AdamW::AdamW(const AdamWConfig& c, const model::Weights& w) : AdamW(c, w, dist::Shard{0, w.size()}) {
  sharded_ = false;
}

AdamW::AdamW(const AdamWConfig& c, const model::Weights& w, dist::Shard shard)
    : cfg_(c), shard_(shard), sharded_(true), m_(w.backend(), shard.size()), v_(w.backend(), shard.size()) {
  if (shard.begin < 0 || shard.end < shard.begin || shard.end > w.size())
    fail_internal("AdamW: shard [{}, {}) outside the {} parameters", shard.begin, shard.end, w.size());
  for (const auto& t : w.layout().tensors) {
    const int64_t lo = std::max(t.offset, shard.begin), hi = std::min(t.offset + t.size, shard.end);
    if (lo < hi) ranges_.push_back({lo - shard.begin, hi - lo, t.decay});
  }
}

void AdamW::step(model::Weights& w, const float* grads, double lr, int64_t t, float grad_scale) {
  if (ranges_.empty()) return;  // a rank whose shard is empty (tiny model, many ranks)
  backend::AdamWStep s;
  s.beta1 = static_cast<float>(cfg_.beta1);
  s.beta2 = static_cast<float>(cfg_.beta2);
  s.eps = static_cast<float>(cfg_.eps);
  s.lr = lr;
  s.weight_decay = cfg_.weight_decay;
  s.bias_correction1 = 1.0 - std::pow(cfg_.beta1, static_cast<double>(t));
  s.bias_correction2 = 1.0 - std::pow(cfg_.beta2, static_cast<double>(t));
  s.grad_scale = grad_scale;
  w.backend().adamw(w.data() + shard_.begin, grads + shard_.begin, m_.data(), v_.data(), ranges_.data(),
                    static_cast<int64_t>(ranges_.size()), s);
}

double grad_norm(backend::Backend& be, const float* grads, int64_t n) { return std::sqrt(be.sum_squares(grads, n)); }

double block_grad_norm(backend::Backend& be, const float* grads, int64_t n, dist::Shard mine,
                       dist::Communicator* combine) {
  constexpr int64_t B = dist::kShardBlock;
  if (mine.begin % B != 0 || (mine.end % B != 0 && mine.end != n))
    fail_internal("block_grad_norm: shard [{}, {}) is not made of whole blocks", mine.begin, mine.end);
  std::vector<double> block((n + B - 1) / B, 0.0);
  if (mine.end > mine.begin)
    be.sum_squares_blocks(grads + mine.begin, mine.end - mine.begin, B, block.data() + mine.begin / B);
  if (combine) combine->all_reduce_sum(block.data(), static_cast<int64_t>(block.size()));
  double s = 0;
  for (double x : block) s += x;
  return std::sqrt(s);
}

}  // namespace kormo::train
