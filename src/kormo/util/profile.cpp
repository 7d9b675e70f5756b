#include "kormo/util/profile.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "kormo/util/log.h"

namespace kormo {

OpProfile& op_profile() {
  static OpProfile p;
  return p;
}

void log_op_profile() {
  std::vector<std::pair<double, std::string>> ops;
  double total = 0;
  for (const auto& [name, s] : op_profile().seconds) ops.emplace_back(s, name), total += s;
  std::sort(ops.rbegin(), ops.rend());
  for (const auto& [s, name] : ops)
    log_info("profile {:<13} {:8.3f} s {:5.1f}%  ({} calls)", name, s, 100 * s / total, op_profile().calls[name]);
}

double peak_resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmHWM:") {
      double kib = 0;
      status >> kib;
      return kib * 1024.0;
    }
    status.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

bool reset_peak_resident_bytes() {
  std::ofstream clear("/proc/self/clear_refs");
  return static_cast<bool>(clear << "5" << std::flush);
}

double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

}  // namespace kormo
