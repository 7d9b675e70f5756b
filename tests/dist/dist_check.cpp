// dist_check: drives the communicator under a real MPI launcher for
// tests/cli/dist_mpi_test.sh (which says what each mode proves).
//   dist_check check         sums, reduce-scatter, all-gather, broadcast and barrier
//                            against exact expectations
//   dist_check bench N ITERS all-reduce throughput of N floats
//   dist_check loop          all-reduces until a rank fails (for kill tests)
// Prints "dist_check: error: …" and exits 1 on any failure.
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "kormo/dist/communicator.h"
#include "kormo/util/error.h"
#include "kormo/util/rng.h"

using namespace kormo;
using Clock = std::chrono::steady_clock;

namespace {

// Rank r's contribution: magnitudes spread over 2^-20 … 2^20 so the order of
// the additions changes the float result (a sum that ignored rank order would
// be caught).
template <class T>
std::vector<T> contribution(int rank, int64_t n, uint64_t seed) {
  Rng rng(seed * 1000003 + static_cast<uint64_t>(rank));
  std::vector<T> v(static_cast<size_t>(n));
  for (auto& x : v) {
    if constexpr (std::is_integral_v<T>)
      x = static_cast<T>(rng.next_u64());  // sums overflow: checks wrap-around
    else
      x = static_cast<T>((rng.uniform() - 0.5) * std::ldexp(1.0, static_cast<int>(rng.below(41)) - 20));
  }
  return v;
}

// What one process gets adding the ranks' buffers in rank order.
template <class T>
std::vector<T> expected_sum(int size, int64_t n, uint64_t seed, bool reverse = false) {
  std::vector<T> sum = contribution<T>(reverse ? size - 1 : 0, n, seed);
  for (int i = 1; i < size; ++i) {
    auto c = contribution<T>(reverse ? size - 1 - i : i, n, seed);
    for (size_t j = 0; j < sum.size(); ++j) {
      if constexpr (std::is_integral_v<T>)
        sum[j] = static_cast<T>(static_cast<uint64_t>(sum[j]) + static_cast<uint64_t>(c[j]));
      else
        sum[j] += c[j];
    }
  }
  return sum;
}

uint64_t fnv1a(const void* p, size_t bytes, uint64_t h = 1469598103934665603ull) {
  for (size_t i = 0; i < bytes; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
  return h;
}

// All ranks hold the same 64-bit value?
bool same_on_all_ranks(dist::Communicator& c, uint64_t v) {
  uint64_t root = v;
  c.broadcast(&root, sizeof root, 0);
  return c.all_reduce_sum(int64_t{root != v}) == 0;
}

template <class T>
uint64_t check_sum(dist::Communicator& c, int64_t n, uint64_t seed) {
  const char* type = std::is_same_v<T, float> ? "float" : std::is_same_v<T, double> ? "double" : "int64";
  auto data = contribution<T>(c.rank(), n, seed);
  c.all_reduce_sum(data.data(), n);
  auto want = expected_sum<T>(c.size(), n, seed);
  if (std::memcmp(data.data(), want.data(), data.size() * sizeof(T)) != 0)
    fail("{} all-reduce of {} elements differs from the rank-order sum on rank {}", type, n, c.rank());
  uint64_t h = fnv1a(data.data(), data.size() * sizeof(T));
  if (!same_on_all_ranks(c, h)) fail("{} all-reduce of {} elements is not bit-identical across ranks", type, n);
  return h;
}

// Reduce-scatter: this rank's shard holds exactly the rank-order sums. All-gather of
// the result: every rank then holds the full rank-order sum. Elements past n are
// canaries the host communicators must not touch.
uint64_t check_shards(dist::Communicator& c, int64_t n, uint64_t seed) {
  const int64_t canaries = 5;
  auto data = contribution<float>(c.rank(), n, seed);
  data.resize(static_cast<size_t>(n + canaries), 7.f);
  c.reduce_scatter_sum(data.data(), n);
  const auto want = expected_sum<float>(c.size(), n, seed);
  const dist::Shard mine = dist::shard_of(n, c.size(), c.rank());
  // memcmp wants valid pointers even for 0 bytes, and an empty `want` has none.
  auto differ = [](const float* a, const float* b, int64_t count) {
    return count > 0 && std::memcmp(a, b, static_cast<size_t>(count) * sizeof(float)) != 0;
  };
  if (differ(data.data() + mine.begin, want.data() + mine.begin, mine.size()))
    fail("reduce_scatter_sum of {} elements: rank {}'s shard differs from the rank-order sum", n, c.rank());
  // The rest of the buffer is unspecified: scribble on it so the gather must fill it.
  for (int64_t i = 0; i < n; ++i)
    if (i < mine.begin || i >= mine.end) data[static_cast<size_t>(i)] = -1.f;
  c.all_gather(data.data(), n);
  if (differ(data.data(), want.data(), n))
    fail("all_gather of {} elements on rank {} differs from the rank-order sum", n, c.rank());
  for (int64_t i = n; i < n + canaries; ++i)
    if (data[static_cast<size_t>(i)] != 7.f) fail("reduce_scatter/all_gather of {} elements wrote past the end", n);
  return fnv1a(data.data(), static_cast<size_t>(n) * sizeof(float));
}

int run_check(dist::Communicator& c) {
  const int p = c.size();
  uint64_t h = 0;
  // Sizes: fewer elements than ranks, odd splits, several 1 MiB rounds plus a tail.
  for (int64_t n : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{7}, int64_t{1000}, int64_t{1000013}, int64_t{3 << 20}}) {
    h = fnv1a(&h, sizeof h, check_sum<float>(c, n, 1));
    h = fnv1a(&h, sizeof h, check_sum<double>(c, n, 2));
    h = fnv1a(&h, sizeof h, check_sum<int64_t>(c, n, 3));
  }
  // Shards: n = 0, n < size, inside one block, block edges, several blocks per rank
  // with a ragged end, and shards of several 4 MiB rounds.
  const int64_t B = dist::kShardBlock;
  for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{p - 1}, int64_t{1000}, B - 1, B, B + 1, 2 * B * p + 13,
                    int64_t{3 << 20} + 7})
    h = fnv1a(&h, sizeof h, check_shards(c, n, 5));
  // The data are order-sensitive, so matching the rank-order sum means something
  // (two addends commute, so this needs three ranks).
  if (p > 2) {
    auto fwd = expected_sum<float>(p, 1000013, 1), rev = expected_sum<float>(p, 1000013, 1, true);
    if (std::memcmp(fwd.data(), rev.data(), fwd.size() * sizeof(float)) == 0)
      fail("test data do not depend on the summation order");
  }
  // Repeating a sum gives the same bits.
  for (int i = 0; i < 3; ++i)
    if (check_sum<float>(c, 1000013, 1) != check_sum<float>(c, 1000013, 1)) fail("repeated all-reduce differs");
  if (c.all_reduce_sum(1.5) != 1.5 * p) fail("scalar double sum");
  if (c.all_reduce_sum(int64_t{c.rank()}) != int64_t{p} * (p - 1) / 2) fail("scalar int64 sum");

  // Broadcast from the last rank, over several 16 MiB messages plus a tail.
  const int root = p - 1;
  std::vector<unsigned char> buf((size_t{40} << 20) + 3);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = c.rank() == root ? static_cast<unsigned char>(i * 7 + 1) : 0;
  c.broadcast(buf.data(), buf.size(), root);
  for (size_t i = 0; i < buf.size(); ++i)
    if (buf[i] != static_cast<unsigned char>(i * 7 + 1)) fail("broadcast: byte {} wrong on rank {}", i, c.rank());
  c.broadcast(nullptr, 0, 0);

  // Barrier: nobody leaves before the late rank 0 arrives (the first barrier
  // lines the ranks up to within scheduling noise).
  c.barrier();
  auto start = Clock::now();
  if (c.rank() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  c.barrier();
  double waited = std::chrono::duration<double>(Clock::now() - start).count();
  if (waited < 0.4) fail("barrier: rank {} left after {:.3f} s, before rank 0 arrived", c.rank(), waited);

  if (c.rank() == 0) std::printf("dist_check: ok size=%d %s result=%016" PRIx64 "\n", p, c.name().c_str(), h);
  return 0;
}

int run_bench(dist::Communicator& c, int64_t n, int iters) {
  std::vector<float> data = contribution<float>(c.rank(), n, 4);
  c.all_reduce_sum(data.data(), n);  // warm up: page faults, connections
  c.barrier();
  auto start = Clock::now();
  for (int i = 0; i < iters; ++i) c.all_reduce_sum(data.data(), n);
  double s = std::chrono::duration<double>(Clock::now() - start).count() / iters;
  double gb = static_cast<double>(n) * sizeof(float) / 1e9;
  if (c.rank() == 0)
    std::printf("dist_check: all_reduce_sum %" PRId64 " floats on %d ranks: %.1f ms, %.2f GB/s of buffer "
                "(bus %.2f GB/s)\n",
                n, c.size(), s * 1e3, gb / s, gb / s * 2 * (c.size() - 1) / c.size());
  return 0;
}

int run_loop(dist::Communicator& c) {
  std::vector<float> data(1 << 18, 1.0f);
  std::printf("dist_check: rank %d pid %d looping\n", c.rank(), static_cast<int>(getpid()));
  std::fflush(stdout);
  for (;;) {
    c.all_reduce_sum(data.data(), static_cast<int64_t>(data.size()));
    std::fill(data.begin(), data.end(), 1.0f);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string mode = argc > 1 ? argv[1] : "";
    auto comm = dist::make_communicator();
    if (mode == "check") return run_check(*comm);
    if (mode == "bench" && argc == 4) return run_bench(*comm, std::atoll(argv[2]), std::atoi(argv[3]));
    if (mode == "loop") return run_loop(*comm);
    std::fprintf(stderr, "usage: dist_check check | bench N ITERS | loop\n");
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "dist_check: error: %s\n", e.what());
    return 1;
  }
}
