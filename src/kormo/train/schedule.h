// Learning-rate schedules. Both warm up linearly over warmup_frac × total steps.
//  - "wsd" (warmup-stable-decay, the KORMo recipe): peak until the last decay_frac of
//    the run, then linear decay to min_ratio × peak at the final step.
//  - "cosine": cosine from peak to min_ratio × peak after warmup.
#pragma once

#include <cstdint>
#include <string>

namespace kormo::train {

struct ScheduleConfig {
  std::string kind = "wsd";
  double peak = 1e-3, warmup_frac = 0.03, decay_frac = 0.2, min_ratio = 0.05;
  int64_t total_steps = 1;
};

void validate(const ScheduleConfig& s, const std::string& where);
// Learning rate for 0-based step.
double lr_at(const ScheduleConfig& s, int64_t step);

}  // namespace kormo::train
