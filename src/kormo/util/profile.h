// Per-op wall-clock timers for profiling the engine (off unless enabled; the check
// is one branch per op call).
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace kormo {

struct OpProfile {
  bool enabled = false;
  std::map<std::string, double> seconds;
  std::map<std::string, long> calls;
};
OpProfile& op_profile();
// Logs each op's total time and share, largest first.
void log_op_profile();

// This process's resident memory now (bytes; 0 where /proc is not available).
double resident_bytes();
// This process's peak resident memory (VmHWM) since it started or since the last
// reset_peak_resident_bytes() (bytes; 0 where /proc is not available).
double peak_resident_bytes();
// Starts a new peak at the current resident size (Linux: "5" into /proc/self/clear_refs).
// Returns false where that is not allowed; the peak then stays the process's.
bool reset_peak_resident_bytes();

class OpTimer {
 public:
  explicit OpTimer(const char* name) : name_(name), on_(op_profile().enabled) {
    if (on_) t0_ = std::chrono::steady_clock::now();
  }
  ~OpTimer() {
    if (!on_) return;
    auto& p = op_profile();
    p.seconds[name_] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    p.calls[name_] += 1;
  }
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  const char* name_;
  bool on_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace kormo
