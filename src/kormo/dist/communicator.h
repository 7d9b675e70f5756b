// Communicator: the collectives data-parallel training needs (sum all-reduce,
// reduce-scatter and all-gather over equal shards, broadcast, barrier) behind one
// interface, so the trainer does not know whether it runs alone, under MPI, or on NCCL.
//
// Promises of the host implementations ("single", "mpi"; nccl_communicator.h says
// what holds for "nccl" instead):
// - Sums are exact and reproducible: element i of a float or double
//   all-reduce is ((x_0[i] + x_1[i]) + x_2[i]) + … + x_{size-1}[i], added
//   left to right in rank order in the element type, with no reassociation.
//   The result is therefore bit-identical on every rank, the same on every
//   run with the same inputs, independent of message timing, of how the
//   buffer is chunked and of the MPI library's algorithm choices, and equal
//   to what one process summing the ranks' buffers in rank order gets.
//   reduce_scatter_sum gives each element of a rank's own shard the same bits
//   the all-reduce would.
//   Integer sums are exact (overflow wraps, as in two's complement).
// - Buffers are host memory. The NCCL implementation takes device pointers
//   through the same calls; code that wants to stay portable passes buffers
//   that live where the communicator's name() says (host for "single" and
//   "mpi", GPU memory for "nccl").
// - A dead or stuck rank never hangs the others: a collective that makes no
//   progress for timeout_s() seconds throws kormo::Error naming the rank it
//   waited for ("rank 1 of 2 died or stopped responding …"). A peer on the
//   same host that exits or is killed is noticed within about a second,
//   without waiting for the timeout. After such an error the communicator is
//   broken: every later call throws, and the process should exit non-zero.
// - Every rank must make the same sequence of calls with the same n / bytes /
//   root (the usual collective rule); mismatches are the caller's bug.
// - One thread calls a communicator (the trainer's main thread); OpenMP
//   threads may run around it but not inside it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace kormo::dist {

// Shards for ZeRO-1 (reduce-scatter, all-gather). An n-element buffer over
// `size` ranks is cut into `size` shards of one equal stride, a whole number
// of kShardBlock elements: rank r owns [r·stride, (r+1)·stride) of the buffer
// padded to size · stride elements. Equal strides are what device collectives
// (ncclReduceScatter, ncclAllGather) need; the whole blocks let a reduction
// over fixed blocks (the trainer's gradient norm) be split between the ranks
// without changing its order. With one rank the shard is the whole buffer.
constexpr int64_t kShardBlock = 16384;  // elements (64 KiB of floats)

struct Shard {
  int64_t begin = 0, end = 0;  // [begin, end) of the unpadded buffer, clipped to n
  int64_t size() const { return end - begin; }
};
// Elements per shard: ceil(n / size) rounded up to whole kShardBlock (0 for n = 0).
int64_t shard_stride(int64_t n, int size);
// size · shard_stride(n, size): the buffer length device communicators work on.
int64_t padded_length(int64_t n, int size);
// Rank `rank`'s shard [rank·stride, (rank+1)·stride) clipped to [0, n): empty
// for ranks past the end when n is small. Throws on n < 0 or rank ∉ [0, size).
Shard shard_of(int64_t n, int size, int rank);

class Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // "single", "mpi" or "nccl": for logs and manifests.
  virtual std::string name() const = 0;
  // Seconds a collective may make no progress before it fails; 0 = no limit.
  virtual double timeout_s() const = 0;

  // In-place sums over all ranks (n elements each, n >= 0).
  void all_reduce_sum(float* data, int64_t n);
  void all_reduce_sum(double* data, int64_t n);
  void all_reduce_sum(int64_t* data, int64_t n);
  // Scalar sums, e.g. a loss or a token count.
  double all_reduce_sum(double x);
  int64_t all_reduce_sum(int64_t x);

  // ZeRO-1's pair over the shards of shard_of(n, size(), ·); n is the logical
  // length. A device communicator (NCCL) works on padded_length(n, size())
  // elements, so portable callers allocate buffers that long (the padding's
  // contents are don't-care); "single" and "mpi" touch only [0, n). (The
  // trainer pads model::Weights, and so model::Runner's gradients, to
  // padded_length only for a device communicator: Weights::pad_to.)
  // reduce_scatter_sum: afterwards this rank's own shard holds the rank-order
  // sums (the same bits all_reduce_sum gives there); the rest of the buffer is
  // unspecified. all_gather: every rank's own shard is copied to every rank.
  void reduce_scatter_sum(float* data, int64_t n);
  void all_gather(float* data, int64_t n);

  // Copies `bytes` bytes from rank `root`'s buffer into every other rank's.
  void broadcast(void* data, size_t bytes, int root);
  // Returns once every rank has entered it.
  void barrier();

 protected:
  Communicator() = default;
  // Whether the public calls reach the implementation; by default only with peers
  // (NCCL's world of one runs its calls too, so one GPU exercises that path).
  virtual bool active() const { return size() > 1; }
  // Arguments are validated by the public calls; n > 0, bytes > 0, active().
  virtual void sum_f32(float* data, int64_t n) = 0;
  virtual void sum_f64(double* data, int64_t n) = 0;
  virtual void sum_i64(int64_t* data, int64_t n) = 0;
  virtual void do_reduce_scatter_f32(float* data, int64_t n) = 0;
  virtual void do_all_gather_f32(float* data, int64_t n) = 0;
  virtual void do_broadcast(void* data, size_t bytes, int root) = 0;
  virtual void do_barrier() = 0;
};

// The communicator of a process that runs alone: rank 0 of 1, every call a
// no-op. Always available, never touches MPI.
std::unique_ptr<Communicator> make_single_communicator();

// The communicator this process was launched for: MPI when an MPI launcher
// started it (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK is set), otherwise
// the single-process one, so a plain `kormo pretrain` never initialises MPI.
// The MPI communicator initialises MPI (MPI_THREAD_FUNNELED) when created and
// finalizes it when destroyed normally; MPI cannot be initialised twice in a
// process, so at most one MPI communicator is ever created per process (a
// second call throws). If it is destroyed while an exception is in flight or
// after a failed collective, MPI is not finalized (that would wait for the
// dead rank); the process is expected to exit non-zero, which makes the
// launcher end the job.
// The collective timeout comes from KORMO_DIST_TIMEOUT_S (seconds, default
// 300, 0 = no limit). It must exceed the longest time one rank works alone
// while others wait in a collective (e.g. rank 0 writing a checkpoint).
std::unique_ptr<Communicator> make_communicator();

// True when the environment says an MPI launcher started this process.
bool launched_by_mpi();

// KORMO_DIST_TIMEOUT_S parsed (throws kormo::Error on a bad value).
double timeout_from_env();

}  // namespace kormo::dist
