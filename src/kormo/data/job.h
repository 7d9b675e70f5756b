// Sharded, resumable, multi-process document jobs.
//
// The input lines (all files, in order) are cut into shards of `shard_docs`
// lines. Shard i belongs to process i mod world_size (rank and size come from
// the launcher's environment: OMPI_COMM_WORLD_RANK/SIZE, PMI_RANK/SIZE or
// KORMO_RANK/KORMO_WORLD_SIZE; no MPI library is linked) and within a process
// shards run on OpenMP threads. Each finished shard leaves three files in the
// work directory: shard-NNNNNN.kept.jsonl, .rejects.jsonl and, last, the
// completion marker .done (its counts as JSON). Shard files are written under
// temporary names and renamed, so a killed job leaves only whole shards, and a
// restart skips every shard with a marker. Rank 0 then waits for all markers
// (the "barrier" is the marker files, which needs only a shared file system)
// and concatenates the shards in shard order: the output is the same for any
// number of processes or threads and for any interruption.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "kormo/data/stages.h"

namespace kormo::data {

struct JobOptions {
  std::vector<std::string> inputs;
  std::string output;     // final documents (.jsonl or .jsonl.zst)
  std::string rejects;    // final rejects ("" = output with .rejects.jsonl[.zst])
  std::string work_dir;   // "" = output + ".work"
  size_t shard_docs = 5000;
  nlohmann::json fingerprint;  // what the stages do; a changed job refuses the old work dir
  double wait_timeout_s = 0;   // rank 0's wait for other ranks' markers; 0 = no limit
};

struct Launch {
  int rank = 0, world = 1;
};
// Rank and world size from the launcher's environment variables.
Launch launch_from_env();

struct JobReport {
  Counts counts;
  size_t shards = 0, shards_done_before = 0;
  bool merged = false;  // only rank 0 merges
  std::string output, rejects;
};

// Called for each input line; `where` is "path:line".
using LineFn = std::function<void(std::string_view line, const std::string& where, StageOutput& out)>;

JobReport run_sharded_job(const JobOptions& opt, const LineFn& fn, Launch launch = launch_from_env());

// The LineFn for document stages: parses the line (bad input goes to rejects
// with its rule) and runs process_document().
LineFn document_line_fn(const StageConfig& cfg, const std::string& text_field = "text");

std::string default_rejects_path(const std::string& output);

// Outputs are written to a temporary name and renamed, which would replace a
// device such as /dev/null or one of the inputs; refuse any existing path that
// is not a regular file, and (usage error) an output that is one of `inputs`.
void check_output_path(const std::string& path, const std::vector<std::string>& inputs);

// Fingerprint of input files (paths, sizes, modification times).
nlohmann::json inputs_fingerprint(const std::vector<std::string>& files);

}  // namespace kormo::data
