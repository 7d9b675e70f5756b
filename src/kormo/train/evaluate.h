// Validation loss and bits per byte, per language, over a fixed set of batches:
// the loop's evaluation hook, callable from outside it (any Runner, any weights).
#pragma once

#include <nlohmann/json.hpp>

#include <vector>

#include "kormo/model/runner.h"
#include "kormo/shard/loader.h"

namespace kormo::train {

struct EvalResult {
  double loss = 0;         // mean over all evaluated targets (NaN when there are none)
  nlohmann::json fields;   // val_loss, val_loss_<lang>, val_bpb_<lang> (bits per UTF-8 byte)
};

EvalResult evaluate(model::Runner& runner, const std::vector<shard::LoadedBatch>& batches);

}  // namespace kormo::train
