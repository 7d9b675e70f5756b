// Supervised fine-tuning: `kormo sft CONFIG.toml` — conversations (conversation.h)
// rendered and masked (render.h), packed and sampled (packing.h), trained by the
// shared loop (train/loop.h) from a pretrained checkpoint.
//
// Promises:
//  - Everything is checked before training starts: config keys, the init checkpoint,
//    the tokenizer and its chat template, every data file. Bad conversations are
//    counted per reason and listed with file:line (out_dir/sft_rejects.jsonl, the log);
//    the run fails only when no conversation is left to train on.
//  - A conversation is held back for validation when the hash of (file name, line)
//    falls under val_fraction; validation loss is over assistant tokens only.
//  - Checkpoints, resume and data parallelism are the loop's: same format as
//    pretraining, bit-identical resume, under mpirun each rank one slice of the batch.
#pragma once

#include <cstdint>
#include <string>

namespace kormo::sft {

struct SftOptions {
  std::string config_path;
  bool resume = false;
  int64_t max_steps = -1;   // stop (with a checkpoint) after this many steps; -1 = all
  std::string dump_batch;   // write the first training batch as JSON (kormo model check's format) and stop
};

void sft(const SftOptions& opts);

}  // namespace kormo::sft
