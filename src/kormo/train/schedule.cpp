#include "kormo/train/schedule.h"

#include <algorithm>
#include <cmath>

#include "kormo/util/error.h"

namespace kormo::train {

void validate(const ScheduleConfig& s, const std::string& where) {
  if (s.kind != "wsd" && s.kind != "cosine") fail("{}: schedule must be \"wsd\" or \"cosine\" (got \"{}\")", where, s.kind);
  if (!(s.peak > 0)) fail("{}: lr must be positive", where);
  if (s.warmup_frac < 0 || s.warmup_frac >= 1 || s.decay_frac < 0 || s.decay_frac > 1 ||
      s.warmup_frac + (s.kind == "wsd" ? s.decay_frac : 0) > 1)
    fail("{}: warmup_frac and decay_frac must lie in [0, 1) and sum to at most 1", where);
  if (s.min_ratio < 0 || s.min_ratio > 1) fail("{}: min_lr_ratio must lie in [0, 1]", where);
}

double lr_at(const ScheduleConfig& s, int64_t step) {
  const double total = static_cast<double>(std::max<int64_t>(1, s.total_steps));
  const double warm = std::floor(s.warmup_frac * total);
  const double x = static_cast<double>(step);
  if (x < warm) return s.peak * (x + 1) / warm;
  const double floor_lr = s.min_ratio * s.peak;
  if (s.kind == "cosine") {
    double span = std::max(1.0, total - 1 - warm);
    double p = std::min(1.0, (x - warm) / span);
    return floor_lr + (s.peak - floor_lr) * 0.5 * (1 + std::cos(M_PI * p));
  }
  const double decay_start = total - std::floor(s.decay_frac * total);
  if (x < decay_start) return s.peak;
  double span = std::max(1.0, total - 1 - decay_start);
  double p = std::min(1.0, (x - decay_start) / span);
  return s.peak + (floor_lr - s.peak) * p;
}

}  // namespace kormo::train
