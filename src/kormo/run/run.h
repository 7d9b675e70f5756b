// `kormo run`: the whole pipeline from one TOML config, with a manifest.
//
// Stages, in table order (pipeline_stages()): data (curate raw text) → split
// (hold documents out for evaluation) → synth (teacher-free instruction data, and
// text from teacher LLMs when [synth] names one; with [synth]) → tokenizer (train BPE) → shard (tokenize the training and
// synthetic documents) → pretrain, or one stage per [[pretrain.phase]] → sft,
// eval, export (each with its table). docs/FORMATS.md has the run directory.
// The runner (stage.h) resolves each stage's config from the run config into
// RUN/config/<stage>.toml, records every input and output with content hashes
// in RUN/manifest.json, and reuses a stage whose config and inputs are
// unchanged, so a killed run continues where it stopped; a stage whose config
// or inputs changed reruns from scratch, and with it the stages downstream.
#pragma once

#include <string>
#include <vector>

#include "kormo/run/stage.h"

namespace kormo::run {

// The configuration used when `kormo run` gets no config file: real Korean and
// English text fetched from Debian packages, an 8K tokenizer, a tiny model.
const char* default_config();

// The teacher program (docs/synth.md § Teacher programs) the synth stage asks when the run
// config names a teacher endpoint and no program file.
const char* default_teacher_program();

// The stages a run config asks for, each calling its module's library entry point;
// `source` names the config in errors.
std::vector<Stage> pipeline_stages(const toml::table& config, const std::string& source);

// The stages of the run whose config a manifest recorded ("config": the run config as JSON).
std::vector<std::string> stage_names(const nlohmann::json& recorded_config);

struct RunOptions {
  std::string config_path;  // empty: default_config()
  std::string out_dir;
  std::string until;        // stop after this stage ("" = all)
};

void run_pipeline(const RunOptions& opts);

}  // namespace kormo::run
