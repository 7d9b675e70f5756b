// The NCCL communicator: dist::Communicator over GPU memory, one process per GPU.
//
// What differs from communicator.h's promises:
// - Buffers are device memory of the GPU this thread's CUDA calls go to (the CUDA
//   backend's, which picks it by node-local rank under a launcher); a host pointer is
//   refused with an error. Each call waits for the device to finish the work already
//   queued (so the backend's stream has written the buffer) and returns once the
//   collective has completed.
// - Sums are not in rank order: NCCL picks ring or tree algorithms and chunking by size
//   and topology. What holds: every rank gets bit-identical results; a run repeats bit
//   for bit with the same world size, GPUs and interconnect, NCCL version and inputs,
//   because the communicator pins NCCL_ALGO=Ring and NCCL_PROTO=Simple unless the
//   environment sets them (the other choices are tuned per message size and machine,
//   so a different choice — and summation order — could be made on another node type);
//   a world of one returns its input unchanged.
// - A world of one runs the same NCCL calls (KORMO_DIST=nccl forces this communicator
//   for one GPU, so the path is testable on a single GPU).
// - A dead or stuck rank: the communicator is non-blocking (ncclConfig_t.blocking = 0);
//   every wait polls ncclCommGetAsyncError and gives up after timeout_s() seconds
//   without completion (KORMO_DIST_TIMEOUT_S, as for MPI), aborting the communicator
//   (ncclCommAbort) and throwing kormo::Error that says what it waited for. NCCL does
//   not say which peer is missing. Later calls throw.
// - NCCL is loaded at run time (dlopen of libnccl.so.2) when the communicator is
//   created, so a CUDA build runs without it until data parallelism on GPUs is asked
//   for; an absent library is an Error naming LD_LIBRARY_PATH.
#pragma once

#include <memory>

#include "kormo/dist/communicator.h"

namespace kormo::dist {

// Bootstraps over `bootstrap` (rank 0 makes the NCCL id and broadcasts it; a world of
// one needs no peers): the NCCL communicator has its ranks and size. Throws Error when
// this build has no NCCL support (CUDA and nccl.h at build time), libnccl.so.2 cannot be
// loaded, no GPU is visible, or NCCL fails to set up.
std::unique_ptr<Communicator> make_nccl_communicator(Communicator& bootstrap);

// KORMO_DIST: "auto" or unset (NCCL only where a GPU backend runs with peers) or "nccl"
// (NCCL on a GPU backend even for a world of one). Throws Error for another value.
bool nccl_forced();

}  // namespace kormo::dist
