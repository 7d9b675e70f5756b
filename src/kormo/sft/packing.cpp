#include "kormo/sft/packing.h"

#include <algorithm>
#include <cmath>

#include "kormo/util/error.h"
#include "kormo/util/rng.h"

namespace kormo::sft {

namespace {

// Row packer: items appended whole; finish() pads the rest.
class RowWriter {
 public:
  RowWriter(shard::LoadedBatch& out, int64_t row, int64_t T, int32_t pad)
      : out_(out), base_(row * T), T_(T), pad_(pad) {}
  int64_t room() const { return T_ + 1 - used_; }
  void add(const Item& it) {
    const int64_t n = static_cast<int64_t>(it.ids.size());
    for (int64_t j = 0; j < n; ++j) {
      const int64_t t = used_ + j;  // row position of token j
      if (t < T_) {
        out_.batch.inputs[base_ + t] = it.ids[j];
        out_.batch.doc[base_ + t] = segment_;
        out_.lang[base_ + t] = it.lang;
      }
      // Token j is the target of position t - 1 (the first token predicts nothing).
      if (j > 0 && it.trained[j]) {
        out_.batch.targets[base_ + t - 1] = it.ids[j];
        out_.loss_weight[base_ + t - 1] = 1;
        out_.target_bytes[base_ + t - 1] = it.bytes_per_target;
      }
    }
    used_ += n;
    ++segment_;
  }
  void finish() {
    for (int64_t t = used_; t < T_; ++t) {
      out_.batch.inputs[base_ + t] = pad_;
      out_.batch.doc[base_ + t] = segment_;
    }
  }

 private:
  shard::LoadedBatch& out_;
  int64_t base_, T_;
  int32_t pad_;
  int64_t used_ = 0;
  int32_t segment_ = 0;
};

void check_fits(const std::vector<Item>& items, int64_t T) {
  for (size_t i = 0; i < items.size(); ++i)
    if (static_cast<int64_t>(items[i].ids.size()) > T + 1 || items[i].ids.empty())
      fail("sft: item {} has {} tokens; a row holds 1 to {}", i, items[i].ids.size(), T + 1);
}

}  // namespace

std::vector<shard::LoadedBatch> pack_in_order(const std::vector<Item>& items, const PackOptions& opts) {
  const int64_t B = opts.batch_size, T = opts.seq_len;
  check_fits(items, T);
  std::vector<shard::LoadedBatch> out;
  size_t i = 0;
  while (i < items.size()) {
    shard::LoadedBatch b = shard::empty_batch(B, T);
    for (int64_t row = 0; row < B; ++row) {
      RowWriter w(b, row, T, opts.pad_id);
      while (i < items.size() && static_cast<int64_t>(items[i].ids.size()) <= w.room()) w.add(items[i++]);
      w.finish();
    }
    out.push_back(std::move(b));
  }
  return out;
}

SampledSource::SampledSource(std::vector<Item> items, const std::vector<double>& weights, const PackOptions& opts)
    : items_(std::move(items)), opts_(opts) {
  if (weights.size() != items_.size() || items_.empty())
    fail("sft: {} sampling weights for {} items", weights.size(), items_.size());
  check_fits(items_, opts_.seq_len);
  double sum = 0;
  for (double w : weights) {
    if (!(w >= 0) || !std::isfinite(w)) fail("sft: sampling weight {} is not a finite number ≥ 0", w);
    cumulative_.push_back(sum += w);
  }
  if (!(sum > 0)) fail("sft: the sampling weights sum to {}", sum);
}

size_t SampledSource::draw(uint64_t k) const {
  uint64_t x = opts_.seed ^ (k * 0xd1b54a32d192ed03ull);
  splitmix64(x);
  const double u = static_cast<double>(splitmix64(x) >> 11) * 0x1.0p-53 * cumulative_.back();
  const size_t i = static_cast<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin());
  return std::min(i, items_.size() - 1);
}

shard::LoadedBatch SampledSource::next() {
  const int64_t B = opts_.batch_size, T = opts_.seq_len;
  shard::LoadedBatch b = shard::empty_batch(B, T);
  // Every rank walks the whole global batch so the stream position stays in step;
  // only its own rows are written.
  shard::LoadedBatch discard = shard::empty_batch(1, T);
  for (int64_t g = 0; g < B * opts_.world; ++g) {
    const bool mine = g / B == opts_.rank;
    RowWriter w(mine ? b : discard, mine ? g % B : 0, T, opts_.pad_id);
    for (size_t i = draw(next_draw_); static_cast<int64_t>(items_[i].ids.size()) <= w.room(); i = draw(next_draw_)) {
      w.add(items_[i]);
      ++next_draw_;
    }
    w.finish();
  }
  return b;
}

nlohmann::json SampledSource::state() const {
  return {{"next_draw", next_draw_}, {"items", items_.size()}, {"seed", opts_.seed}};
}

void SampledSource::restore(const nlohmann::json& s) {
  try {
    if (s.at("items").get<uint64_t>() != items_.size() || s.at("seed").get<uint64_t>() != opts_.seed)
      fail("saved with {} conversations and seed {}, now {} and seed {} (the data or seed changed)",
           s.at("items").dump(), s.at("seed").dump(), items_.size(), opts_.seed);
    next_draw_ = s.at("next_draw").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail("not an SFT source state: {}", e.what());
  }
}

}  // namespace kormo::sft
