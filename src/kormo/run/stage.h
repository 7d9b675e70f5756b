// The stages of `kormo run` as a table, and the runner that treats them alike.
//
// A stage turns files into files through its library entry point. The runner
// gives every entry of the table the same treatment, so a new stage (sft,
// eval, export) is one entry plus its module:
//  - progress is "run: [i/n] name" in table order;
//  - its config, resolved from the run config, is written to
//    RUN/config/<name>.toml (the record of what it ran with, in the form its
//    own verb reads where that verb takes a config) and is its first input;
//  - its key hashes that config and the content of its inputs. A stage whose
//    RUN/.stages/<name>.done holds the same key is reused, not rerun (so a
//    killed run continues where it stopped); under a different key (its config
//    or an input changed) its previous outputs and working state are removed and
//    it reruns, so a changed setting reruns exactly that stage and the stages
//    whose inputs it changed;
//  - its inputs and outputs go into manifest.json with content hashes
//    (docs/FORMATS.md). manifest.partial.json after each stage shows how far a
//    stopped run got; manifest.json appears only once the run (or --until)
//    completes, so it always describes a consistent set of files.
#pragma once

#include <toml++/toml.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kormo/util/manifest.h"

namespace kormo::run {

struct RunContext {
  std::filesystem::path dir;  // the run directory, absolute
  toml::table config;         // the whole run config
  std::string source;         // the config's name in messages: its path or "<embedded default>"
  // dir/p for a path relative to the run directory; absolute paths unchanged.
  std::string path(const std::string& p) const;
};

// Paths relative to the run directory (or absolute).
using PathsFn = std::function<std::vector<std::string>(const RunContext&)>;

struct Stage {
  std::string name;
  std::string doing;                  // what the progress line says while it runs
  std::vector<std::string> sections{};  // top-level tables of the run config it reads
  // Its own config (TOML text) from the run config; errors name the run config
  // and key. Called when the earlier stages are done, so it may read their
  // outputs. Null for a stage without settings.
  std::function<std::string(const RunContext&)> resolve{};
  PathsFn inputs{};  // files it reads besides its config; null for none
  // Does the work given RUN/config/<name>.toml ("" when it has no settings);
  // returns the figures for the manifest's summary.
  std::function<nlohmann::json(const RunContext&, const std::string& config_path)> run;
  PathsFn outputs;  // what it wrote (files or directories); called after it ran or was reused
  // What a rerun under a new key removes first: its outputs and working state (a training
  // stage's directory, so it does not resume a checkpoint of another configuration). Null:
  // its outputs. Called before the new config is written, so it may read the old one.
  PathsFn state{};
  // Figures read back from the outputs, added whether it ran or was reused; may be null.
  std::function<void(const RunContext&, nlohmann::json& summary)> summarize{};
};

// xxh3-128 of a stage's resolved config followed by its inputs' content hashes.
std::string stage_key(const std::string& config, const std::vector<FileRecord>& inputs);

// Runs `stages` in order into ctx.dir and stops after the one named `until`
// ("" = all). Before anything is written it rejects an `until` that names no
// stage and top-level tables of the run config that no stage reads.
void run_stages(const std::vector<Stage>& stages, const RunContext& ctx, const std::string& until);

}  // namespace kormo::run
