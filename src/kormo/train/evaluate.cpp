#include "kormo/train/evaluate.h"

#include <cmath>

namespace kormo::train {

EvalResult evaluate(model::Runner& runner, const std::vector<shard::LoadedBatch>& batches) {
  double loss[shard::kNumLangs] = {}, bytes[shard::kNumLangs] = {}, count[shard::kNumLangs] = {};
  for (const auto& b : batches) {
    runner.forward(b.batch);
    const std::vector<float> l = runner.losses_host();
    for (size_t n = 0; n < b.batch.targets.size(); ++n) {
      if (b.batch.targets[n] < 0) continue;
      const int g = b.lang[n] < shard::kNumLangs ? b.lang[n] : shard::kNumLangs - 1;
      loss[g] += l[n];
      bytes[g] += b.target_bytes[n];
      count[g] += 1;
    }
  }
  EvalResult r;
  double tl = 0, tc = 0;
  for (int g = 0; g < shard::kNumLangs; ++g) {
    if (count[g] == 0) continue;
    tl += loss[g], tc += count[g];
    r.fields[std::string("val_loss_") + shard::lang_name(g)] = loss[g] / count[g];
    if (bytes[g] > 0) r.fields[std::string("val_bpb_") + shard::lang_name(g)] = loss[g] / std::log(2.0) / bytes[g];
  }
  r.loss = tc > 0 ? tl / tc : NAN;
  if (tc > 0) r.fields["val_loss"] = r.loss;
  return r;
}

}  // namespace kormo::train
