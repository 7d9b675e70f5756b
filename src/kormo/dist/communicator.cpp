#include "kormo/dist/communicator.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "kormo/dist/mpi_communicator.h"
#include "kormo/util/error.h"

namespace kormo::dist {

namespace {

void check_count(const void* data, int64_t n, const char* op = "all_reduce_sum") {
  if (n < 0) fail("{}: negative element count {}", op, n);
  if (n > 0 && data == nullptr) fail("{}: null buffer for {} elements", op, n);
}

class SingleCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string name() const override { return "single"; }
  double timeout_s() const override { return 0; }

 protected:
  // Never called: the public calls return early when the world is one process.
  void sum_f32(float*, int64_t) override {}
  void sum_f64(double*, int64_t) override {}
  void sum_i64(int64_t*, int64_t) override {}
  void do_reduce_scatter_f32(float*, int64_t) override {}
  void do_all_gather_f32(float*, int64_t) override {}
  void do_broadcast(void*, size_t, int) override {}
  void do_barrier() override {}
};

}  // namespace

int64_t shard_stride(int64_t n, int size) {
  if (n < 0) fail("shard_stride: negative element count {}", n);
  if (size < 1) fail("shard_stride: {} ranks", size);
  const int64_t per_rank = (n + size - 1) / size;
  return (per_rank + kShardBlock - 1) / kShardBlock * kShardBlock;
}

int64_t padded_length(int64_t n, int size) { return shard_stride(n, size) * size; }

Shard shard_of(int64_t n, int size, int rank) {
  const int64_t stride = shard_stride(n, size);
  if (rank < 0 || rank >= size) fail("shard_of: rank {} is not a rank of {}", rank, size);
  const int64_t begin = std::min(n, stride * rank);
  return {begin, std::min(n, begin + stride)};
}

void Communicator::all_reduce_sum(float* data, int64_t n) {
  check_count(data, n);
  if (n > 0 && active()) sum_f32(data, n);
}
void Communicator::all_reduce_sum(double* data, int64_t n) {
  check_count(data, n);
  if (n > 0 && active()) sum_f64(data, n);
}
void Communicator::all_reduce_sum(int64_t* data, int64_t n) {
  check_count(data, n);
  if (n > 0 && active()) sum_i64(data, n);
}
void Communicator::reduce_scatter_sum(float* data, int64_t n) {
  check_count(data, n, "reduce_scatter_sum");
  if (n > 0 && active()) do_reduce_scatter_f32(data, n);
}
void Communicator::all_gather(float* data, int64_t n) {
  check_count(data, n, "all_gather");
  if (n > 0 && active()) do_all_gather_f32(data, n);
}
double Communicator::all_reduce_sum(double x) {
  all_reduce_sum(&x, 1);
  return x;
}
int64_t Communicator::all_reduce_sum(int64_t x) {
  all_reduce_sum(&x, 1);
  return x;
}

void Communicator::broadcast(void* data, size_t bytes, int root) {
  if (root < 0 || root >= size()) fail("broadcast: root {} is not a rank of {}", root, size());
  if (bytes > 0 && data == nullptr) fail("broadcast: null buffer for {} bytes", bytes);
  if (bytes > 0 && active()) do_broadcast(data, bytes, root);
}

void Communicator::barrier() {
  if (active()) do_barrier();
}

std::unique_ptr<Communicator> make_single_communicator() { return std::make_unique<SingleCommunicator>(); }

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (const char* v = std::getenv(name); v && *v) return true;
  return false;
}

double timeout_from_env() {
  const char* v = std::getenv("KORMO_DIST_TIMEOUT_S");
  if (!v || !*v) return 300;
  char* end = nullptr;
  errno = 0;
  double s = std::strtod(v, &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(s) || s < 0)
    fail("KORMO_DIST_TIMEOUT_S='{}': expected a number of seconds >= 0 (0 = no limit)", v);
  return s;
}

std::unique_ptr<Communicator> make_communicator() {
  if (!launched_by_mpi()) return make_single_communicator();
  return make_mpi_communicator(timeout_from_env());
}

}  // namespace kormo::dist
