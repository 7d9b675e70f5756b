// What every training verb reads the same way: the [train] section of its TOML config
// (optimizer, schedule, checkpoints, threads, backend, precision) and the tokenizer
// files a checkpoint carries. Pretraining and SFT share it so their keys and checks
// cannot drift apart.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kormo/model/config.h"
#include "kormo/train/loop.h"
#include "kormo/util/config.h"

namespace kormo::train {

struct TrainSection {
  LoopConfig loop;
  int64_t threads = 0;  // 0 = all cores
  std::string tokenizer, backend;
};

// Reads and range-checks the [train] keys (out_dir required; steps defaults to
// `default_steps`); errors name `path`. Leaves the caller's own keys for it to read,
// so the caller runs check_unused().
TrainSection read_train_section(ConfigSection& tr, const std::string& path, int64_t default_steps = 100);

// tokenizer.json (+ tokenizer_config.json, special_tokens_map.json when present) of a
// tokenizer file or directory, to copy into each checkpoint; {} for "".
std::vector<std::string> tokenizer_files(const std::string& tok);

// The checkpoint's config.json/generation_config.json carry bos/eos/pad ids; with a
// tokenizer copied into the checkpoint they must be that tokenizer's, or generation
// stops on (and starts with) the wrong token.
void adopt_special_ids(model::ModelConfig& m, const std::string& tokenizer);

}  // namespace kormo::train
