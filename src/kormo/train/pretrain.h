// Pretraining: `kormo pretrain CONFIG.toml` — the TOML config resolved into the
// packing loader over .ktok shards and the shared training loop (loop.h).
//
// Promises: everything is checked before anything is written: config keys, model
// shape, shards (header, token ids, vocab ≤ model vocab), tokenizer path, backend.
#pragma once

#include <cstdint>
#include <string>

namespace kormo::train {

struct PretrainOptions {
  std::string config_path;
  bool resume = false;
  int64_t max_steps = -1;  // stop (with a checkpoint) after this many steps of the run; -1 = all
};

void pretrain(const PretrainOptions& opts);

}  // namespace kormo::train
