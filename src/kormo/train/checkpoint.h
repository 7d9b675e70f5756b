// Training checkpoints: a Hugging Face model directory plus trainer_state/ for exact
// resume.
//
//   out_dir/step-NNNNNNN/  config.json, generation_config.json, model.safetensors (F32),
//                          extra files (tokenizer), trainer_state/optimizer.safetensors
//                          (adamw.m, adamw.v), trainer_state/state.json
// Promises: a checkpoint directory appears only complete (written under a temporary
// name, then renamed); latest_checkpoint() ignores anything incomplete; state.json
// keeps format "kormo-trainer-state-1", so checkpoints of earlier versions load.
// ZeRO-1 changes nothing in the files: adamw.m and adamw.v are always the whole model's,
// so a checkpoint loads on any world size with or without ZeRO-1.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kormo/dist/communicator.h"
#include "kormo/model/weights.h"
#include "kormo/train/optimizer.h"

namespace kormo::train {

struct TrainerState {
  int64_t step = 0;      // completed steps
  int64_t updates = 0;   // applied (not skipped) updates, the AdamW time step
  double loss_ema = 0;   // running mean of accepted losses, for the spike guard
  int64_t tokens = 0;
  nlohmann::json source; // BatchSource::state()
  uint64_t seed = 0;
  int threads = 0;       // OpenMP threads: bit-identical resume needs the same count
};

// Rank 0 writes the checkpoint and returns its directory. With a sharded optimizer
// (ZeRO-1) every rank of `comm` must call it: the others stream their moment shards to
// rank 0 in pieces of a few MiB, so no rank ever holds the whole moments; they return "".
// Without one only rank 0 calls it (comm is then not used).
std::string save_checkpoint(const std::string& out_dir, const model::Weights& w, AdamW& opt, const TrainerState& st,
                            const std::vector<std::string>& extra_files, dist::Communicator& comm);
// Loads weights, optimizer moments (the elements of opt's shard) and state from a
// checkpoint directory.
void load_checkpoint(const std::string& dir, model::Weights& w, AdamW& opt, TrainerState& st);
// Parses and range-checks state.json text (as load_checkpoint does) into st; `origin`
// names it in errors. Fields the file lacks (an old checkpoint's seed) keep st's value.
// st.source is only checked to be present: BatchSource::restore validates it.
void parse_trainer_state(std::string_view text, const std::string& origin, TrainerState& st);
// The newest complete checkpoint directory under out_dir ("" if none).
std::string latest_checkpoint(const std::string& out_dir);
// Deletes the complete step-* checkpoints of out_dir beyond the newest keep_last (≥ 1),
// so the one a resume picks (latest_checkpoint) always survives. Incomplete and
// temporary directories are left alone.
void prune_checkpoints(const std::string& out_dir, int64_t keep_last);

}  // namespace kormo::train
