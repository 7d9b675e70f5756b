// What a run directory says about the run, gathered once into one struct that the
// report, the model card and the dataset card are all rendered from.
//
// Every section reads documented files (docs/report.md § Inputs) and is marked absent
// when its files are missing, so a run that stopped early (or was made before a stage
// existed) still gets a report with those sections saying "not run".
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kormo::report {

struct Point {
  double step = 0;
  double value = std::numeric_limits<double>::quiet_NaN();  // NaN: the step logged no finite value
};

// A metrics.jsonl (pretrain or sft): each numeric field as a series over steps. A line
// that is not a JSON object with a numeric "step" is skipped and counted, not fatal: the
// report of a run killed mid-write still renders, and says which line it skipped.
struct TrainingLog {
  bool present = false;
  std::string path;                              // relative to the run directory
  std::map<std::string, std::vector<Point>> series;  // field → points in file order
  uint64_t lines = 0, bad_lines = 0, skipped_steps = 0;
  std::string first_bad;                         // "file:line" of the first skipped line
  nlohmann::json last = nlohmann::json::object();  // the last step line (not an eval-only line)
};

struct RejectExample {
  std::string rule;   // action.rule, as counted
  std::string where;  // file:line of the input
  std::string text;   // the start of the removed document's text (raw, escape when rendering)
};

struct DataFacts {
  bool present = false;
  std::string curated, rejects;  // paths relative to the run directory ("" when absent)
  nlohmann::json stats;          // data::corpus_stats of the curated documents and the rejects
  std::vector<RejectExample> examples;  // a few per rule, in rejects-file order
  uint64_t dedup_exact = 0, dedup_near = 0, decontam = 0;
};

struct LanguageTokens {
  std::string lang;
  uint64_t documents = 0, bytes = 0, tokens = 0;
  double bytes_per_token = 0;
};

struct TokenizerFacts {
  bool present = false;
  uint64_t vocab_size = 0;
  uint64_t sample_bytes = 0;  // how much curated text the figures were measured on
  std::vector<LanguageTokens> languages;  // sorted by name, "all" last
};

struct EvalTask {
  std::string name, metric;  // a row each for acc and acc_norm; f1 or mcc only for a task without them
  double value = 0;
  double stderr_of_mean = std::numeric_limits<double>::quiet_NaN();
  double chance = std::numeric_limits<double>::quiet_NaN();  // NaN: not derivable from the file
  uint64_t samples = 0;
};

struct EvalFacts {
  bool present = false;
  std::vector<std::string> files;  // relative paths of the results files read
  std::vector<EvalTask> tasks;     // sorted by name
};

struct Sample {
  std::string lang, prompt, text;
};

struct StageFacts {
  std::string name;
  double seconds = 0;
  double peak_rss_bytes = std::numeric_limits<double>::quiet_NaN();  // NaN: not recorded
  nlohmann::json summary;
  nlohmann::json inputs, outputs;  // the manifest's file records
};

struct RunFacts {
  std::string dir;       // the run directory as given
  std::string manifest;  // "manifest.json", "manifest.partial.json" or "" (none)
  nlohmann::json program, config;
  std::string config_source, written_at;
  std::vector<StageFacts> stages;
  DataFacts data;
  TokenizerFacts tokenizer;
  TrainingLog pretrain, sft;
  // Phased pretraining (`kormo run`'s [[pretrain.phase]]): each phase's log in run order,
  // named by phase; `pretrain` then holds them end to end (steps continued across phases).
  std::vector<std::pair<std::string, TrainingLog>> pretrain_phases;
  nlohmann::json model_config;  // the final checkpoint's config.json (empty when none)
  std::string final_checkpoint;  // relative to the run directory ("" when none)
  EvalFacts eval;
  bool samples_skipped = true;
  std::vector<Sample> samples;
};

struct GatherOptions {
  bool samples = true;          // generate sample answers with the final checkpoint
  int64_t sample_tokens = 32;
  uint64_t tokenizer_sample_bytes = 4 << 20;  // curated text measured for bytes per token
  size_t examples_per_rule = 3;
};

// Throws kormo::Error for a run directory that does not exist or a manifest that is
// not JSON; every other missing file only leaves its section absent.
RunFacts gather_run(const std::string& dir, const GatherOptions& opt = {});

// Reads one metrics.jsonl (`shown` is the name used in messages and the report).
TrainingLog read_training_log(const std::string& path, const std::string& shown);

}  // namespace kormo::report
