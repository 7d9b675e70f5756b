#include "kormo/util/profile.h"

namespace kormo {

OpProfile& op_profile() {
  static OpProfile p;
  return p;
}

}  // namespace kormo
