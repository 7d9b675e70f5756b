// The MPI communicator (internal to dist; use make_communicator()).
// Kept behind a factory so no MPI header leaks into users of dist.
#pragma once

#include <memory>

#include "kormo/dist/communicator.h"

namespace kormo::dist {

// Initialises MPI; throws kormo::Error if MPI was already initialised in this
// process. timeout_s: see Communicator::timeout_s().
std::unique_ptr<Communicator> make_mpi_communicator(double timeout_s);

}  // namespace kormo::dist
