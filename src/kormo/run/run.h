// `kormo run`: the whole pipeline from one TOML config, with a manifest.
//
// Stages: data (curate raw text) → tokenizer (train BPE) → shard (tokenize the
// curated documents) → pretrain. Each stage's config is resolved into
// RUN/config/<stage>.toml (so it can be rerun alone with its own verb), and
// RUN/manifest.json records every stage's inputs and outputs with content
// hashes. A stage whose outputs exist under the same resolved config is
// reused, so a killed run continues where it stopped; a changed config for an
// existing run directory is an error rather than a silent mix.
#pragma once

#include <string>

namespace kormo::run {

// The configuration used when `kormo run` gets no config file: real Korean and
// English text fetched from Debian packages, an 8K tokenizer, a tiny model.
const char* default_config();

struct RunOptions {
  std::string config_path;  // empty: default_config()
  std::string out_dir;
  std::string until;        // stop after this stage ("" = all)
};

void run_pipeline(const RunOptions& opts);

}  // namespace kormo::run
