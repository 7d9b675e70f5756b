// `kormo run`: the whole pipeline from one TOML config, with a manifest.
//
// Stages, in table order (pipeline_stages()): data (curate raw text) →
// tokenizer (train BPE) → shard (tokenize the curated documents) → pretrain.
// The runner (stage.h) resolves each stage's config from the run config into
// RUN/config/<stage>.toml, records every input and output with content hashes
// in RUN/manifest.json, and reuses a stage whose config and inputs are
// unchanged, so a killed run continues where it stopped; a changed config for
// an existing run directory is an error rather than a silent mix.
#pragma once

#include <string>
#include <vector>

#include "kormo/run/stage.h"

namespace kormo::run {

// The configuration used when `kormo run` gets no config file: real Korean and
// English text fetched from Debian packages, an 8K tokenizer, a tiny model.
const char* default_config();

// data, tokenizer, shard, pretrain: each calls its module's library entry point.
std::vector<Stage> pipeline_stages();

struct RunOptions {
  std::string config_path;  // empty: default_config()
  std::string out_dir;
  std::string until;        // stop after this stage ("" = all)
};

void run_pipeline(const RunOptions& opts);

}  // namespace kormo::run
