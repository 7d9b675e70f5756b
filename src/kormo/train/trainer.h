// Pretraining: the loop behind `kormo pretrain CONFIG.toml`.
//
// Promises:
//  - Everything is checked before anything is written: config keys, model shape,
//    shards (header, token ids, vocab ≤ model vocab), tokenizer path. An existing
//    run directory is only continued with resume = true, never overwritten.
//  - Each step: grad_accum micro-batches, loss = mean over non-ignored targets of the
//    whole step, gradient clipping, AdamW; a non-finite loss or gradient norm, or a loss
//    above spike_factor × its running mean (after warmup), skips the update and logs it.
//  - out_dir/metrics.jsonl gets one JSON line per step; checkpoints are Hugging Face
//    model directories out_dir/step-NNNNNNN (written under a temporary name, then
//    renamed) with trainer_state/ for exact resume: same config and thread count →
//    bit-identical weights and identical deterministic metric fields.
#pragma once

#include <string>

namespace kormo::train {

struct PretrainOptions {
  std::string config_path;
  bool resume = false;
  int64_t max_steps = -1;  // stop (with a checkpoint) after this many steps of the run; -1 = all
};

void pretrain(const PretrainOptions& opts);

// Finds the newest complete checkpoint directory under out_dir ("" if none).
std::string latest_checkpoint(const std::string& out_dir);

}  // namespace kormo::train
