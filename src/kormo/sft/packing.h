// Packing tokenized conversations into training rows, and the sampled stream of them
// that SFT trains on.
//
// Promises:
//  - A row holds seq_len + 1 tokens: whole conversations one after another, each its
//    own segment (Batch::doc), the rest padding. A conversation is never split: one
//    that does not fit the row's remaining space starts the next row (items longer than
//    seq_len + 1 are refused at construction).
//  - Targets: token t+1 of a row is the target of position t when it belongs to the
//    same conversation and is trained (Item::trained); every other target is -100
//    with loss_weight 0 (padding, the next conversation, untrained tokens).
//  - The stream draws item k (k = 0, 1, …) with probability weight / Σ weights from a
//    hash of (seed, k), independent of every other draw; rows take draws in order, so
//    state() is the index of the next draw and restore(state()) continues exactly.
//  - Data parallelism: with world W and rank r, next() builds the global batch of W ×
//    batch_size rows and returns rows [r·B, (r+1)·B); state() is the same on every rank.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "kormo/shard/loader.h"
#include "kormo/train/loop.h"

namespace kormo::sft {

struct Item {
  std::vector<int32_t> ids;
  std::vector<uint8_t> trained;  // per token: 1 = a target the loss sees
  uint8_t lang = 0;              // shard::lang_id
  float bytes_per_target = 0;    // UTF-8 bytes attributed to each trained target (bits per byte)
};

struct PackOptions {
  int64_t batch_size = 1, seq_len = 128;
  int32_t pad_id = 0;
  uint64_t seed = 0;
  int rank = 0, world = 1;
};

// Packs items in the given order into batches of batch_size rows (validation: a fixed
// set, the last batch padded with empty rows). Ignores rank and world.
std::vector<shard::LoadedBatch> pack_in_order(const std::vector<Item>& items, const PackOptions& opts);

class SampledSource final : public train::BatchSource {
 public:
  // weights: one per item, ≥ 0 with a positive sum. Throws Error for an item longer
  // than seq_len + 1 or a bad weight.
  SampledSource(std::vector<Item> items, const std::vector<double>& weights, const PackOptions& opts);
  shard::LoadedBatch next() override;
  nlohmann::json state() const override;
  void restore(const nlohmann::json& state) override;

 private:
  size_t draw(uint64_t k) const;

  std::vector<Item> items_;
  std::vector<double> cumulative_;
  PackOptions opts_;
  uint64_t next_draw_ = 0;
};

}  // namespace kormo::sft
