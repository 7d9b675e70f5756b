// The training loop, shared by every stage that trains (pretraining today, SFT next):
// batches from a BatchSource, per-token loss weights, AdamW with a schedule, gradient
// clipping, a spike/non-finite guard, periodic evaluation, metrics.jsonl and
// checkpoints with exact resume.
//
// Promises:
//  - Each step runs grad_accum micro-batches; the loss is Σ w·loss / Σ w over the whole
//    step with w the batches' loss_weight (so 1/0 weights give the mean over trained
//    tokens), then clipping and one AdamW update. A non-finite loss or gradient norm,
//    or a loss above spike_factor × its running mean (after warmup), skips the update
//    and is logged.
//  - out_dir/metrics.jsonl gets one JSON line per step (validation fields on eval
//    steps); checkpoints are written by train/checkpoint.h. A run directory holding a
//    run is only continued with resume = true, and then continues exactly: same config,
//    world size and thread count → bit-identical weights and identical deterministic
//    metric fields.
//  - Data parallelism: every rank of `comm` runs the loop on its own slice of each
//    global batch (the source's business); the loss-weight total, the loss and the
//    gradients are summed across ranks (in rank order, so every rank holds the same
//    bits and takes the same update). Rank 0 alone writes metrics and checkpoints and
//    evaluates. A rank that dies makes the others fail with an error, not hang.
//  - ZeRO-1 (zero = true, more than one rank): the gradients are reduce-scattered
//    instead, each rank runs AdamW on its shard of the parameters (dist::shard_of) with
//    moments for that shard alone, and the weights are all-gathered. The weights,
//    metrics and checkpoints are bit-identical to zero = false on the same ranks: both
//    take the gradient norm over fixed blocks (block_grad_norm). Checkpoints keep the
//    whole moments, so a run resumes on any world size, with or without ZeRO-1. Over NCCL
//    (GPUs) the weights are first padded to dist::padded_length (Weights::pad_to), and
//    NCCL's world of one (KORMO_DIST=nccl) takes this path too. (Bit-identity to
//    zero = false over NCCL holds for 1 or 2 ranks; beyond, NCCL does not promise that its
//    reduce-scatter adds in the order of its all-reduce.)
//  - SIGTERM or SIGINT during the loop (on any rank) stops every rank after the same
//    step: rank 0 checkpoints it (unless that step was just checkpointed) and logs how
//    to continue, then the process ends by that signal (exit status 128 + signal) instead
//    of returning. A second signal kills at once. The previous handlers are back when
//    the loop returns or throws; a signal ignored on entry stays ignored.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "kormo/dist/communicator.h"
#include "kormo/model/runner.h"
#include "kormo/model/weights.h"
#include "kormo/shard/loader.h"
#include "kormo/train/optimizer.h"
#include "kormo/train/schedule.h"

namespace kormo::train {

// Where training batches come from. state()/restore() make the position part of a
// checkpoint, so a resumed run sees the batches it would have seen.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual shard::LoadedBatch next() = 0;
  virtual nlohmann::json state() const = 0;
  virtual void restore(const nlohmann::json& state) = 0;
};

struct LoopConfig {
  std::string name = "train";  // progress label
  std::string out_dir;
  int64_t grad_accum = 1;
  ScheduleConfig schedule;
  AdamWConfig adamw;
  double grad_clip = 1.0, z_loss = 0.0, spike_factor = 0.0;
  int64_t eval_every = 0, checkpoint_every = 0;
  int64_t keep_last = 0;                  // checkpoints kept (newest first) after each save; 0 = all
  uint64_t seed = 1;                      // weight init of a fresh run
  bool init_weights = true;               // false: a fresh run trains the weights it is given (SFT)
  std::vector<std::string> extra_files;   // copied into every checkpoint (tokenizer files)
  double peak_flops = 350e9;              // for the MFU column
  double flops_per_token = 0;
  bool profile = false;                   // per-op timings at the end
  model::Precision precision = model::Precision::kFp32;  // of the matmuls (fp32 master weights either way)
  bool recompute = false;                 // activation recomputation (model::RunnerOptions)
  bool resume = false;
  int64_t max_steps = -1;                 // stop (with a checkpoint) after this many steps; -1 = all
  int64_t max_skipped = 20;               // fail after this many skipped updates in a row; 0 = never
  bool zero = false;                      // ZeRO-1: shard the AdamW moments over the ranks
};

// Trains `w` in place. Fresh run: weights initialised from cfg.seed (unless
// cfg.init_weights is false). Resume: weights,
// optimizer, source position and counters from the newest checkpoint in out_dir.
void run_training(const LoopConfig& cfg, model::Weights& w, BatchSource& source,
                  const std::vector<shard::LoadedBatch>& validation, dist::Communicator& comm);

}  // namespace kormo::train
