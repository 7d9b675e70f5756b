#include "kormo/util/profile.h"

#include <unistd.h>

#include <fstream>

namespace kormo {

OpProfile& op_profile() {
  static OpProfile p;
  return p;
}

double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

}  // namespace kormo
