#include "kormo/dist/communicator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kormo/util/error.h"

using namespace kormo;

TEST(Dist, SingleProcessIsRankZeroOfOne) {
  auto c = dist::make_single_communicator();
  EXPECT_EQ(c->rank(), 0);
  EXPECT_EQ(c->size(), 1);
  EXPECT_EQ(c->name(), "single");
  EXPECT_EQ(c->timeout_s(), 0);
}

TEST(Dist, SingleProcessSumsLeaveDataBitForBit) {
  auto c = dist::make_single_communicator();
  std::vector<float> f = {1.5f, -0.0f, std::numeric_limits<float>::quiet_NaN(), 3e38f};
  std::vector<float> f0 = f;
  c->all_reduce_sum(f.data(), static_cast<int64_t>(f.size()));
  EXPECT_EQ(std::memcmp(f.data(), f0.data(), f.size() * sizeof(float)), 0);
  std::vector<double> d = {0.1, -2.5};
  c->all_reduce_sum(d.data(), 2);
  EXPECT_EQ(d, (std::vector<double>{0.1, -2.5}));
  std::vector<int64_t> i = {std::numeric_limits<int64_t>::max(), -7};
  c->all_reduce_sum(i.data(), 2);
  EXPECT_EQ(i, (std::vector<int64_t>{std::numeric_limits<int64_t>::max(), -7}));
  EXPECT_EQ(c->all_reduce_sum(0.25), 0.25);
  EXPECT_EQ(c->all_reduce_sum(int64_t{42}), 42);
  c->all_reduce_sum(static_cast<float*>(nullptr), 0);  // empty is fine
}

TEST(Dist, SingleProcessBroadcastAndBarrier) {
  auto c = dist::make_single_communicator();
  char buf[4] = {'a', 'b', 'c', 'd'};
  c->broadcast(buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, 4), "abcd");
  c->broadcast(nullptr, 0, 0);
  c->barrier();
}

TEST(Dist, BadArgumentsAreErrors) {
  auto c = dist::make_single_communicator();
  float x = 0;
  EXPECT_THROW(c->all_reduce_sum(&x, -1), Error);
  EXPECT_THROW(c->all_reduce_sum(static_cast<float*>(nullptr), 3), Error);
  char b = 0;
  EXPECT_THROW(c->broadcast(&b, 1, 1), Error);
  EXPECT_THROW(c->broadcast(&b, 1, -1), Error);
  EXPECT_THROW(c->broadcast(nullptr, 1, 0), Error);
}

TEST(Dist, PlainProcessGetsTheSingleCommunicator) {
  if (dist::launched_by_mpi()) GTEST_SKIP() << "running under an MPI launcher";
  auto c = dist::make_communicator();
  EXPECT_EQ(c->name(), "single");
  EXPECT_EQ(c->size(), 1);
}

TEST(Dist, TimeoutFromEnvironment) {
  const char* saved = std::getenv("KORMO_DIST_TIMEOUT_S");
  std::string old = saved ? saved : "";
  unsetenv("KORMO_DIST_TIMEOUT_S");
  EXPECT_EQ(dist::timeout_from_env(), 300);
  setenv("KORMO_DIST_TIMEOUT_S", "2.5", 1);
  EXPECT_EQ(dist::timeout_from_env(), 2.5);
  setenv("KORMO_DIST_TIMEOUT_S", "0", 1);
  EXPECT_EQ(dist::timeout_from_env(), 0);
  for (const char* bad : {"-1", "abc", "5s", "inf", "nan"}) {
    setenv("KORMO_DIST_TIMEOUT_S", bad, 1);
    EXPECT_THROW(dist::timeout_from_env(), Error) << bad;
  }
  if (saved)
    setenv("KORMO_DIST_TIMEOUT_S", old.c_str(), 1);
  else
    unsetenv("KORMO_DIST_TIMEOUT_S");
}

TEST(Dist, ShardsAreEqualWholeBlocksCoveringTheBuffer) {
  const int64_t B = dist::kShardBlock;
  for (int size : {1, 2, 3, 7}) {
    for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{size - 1}, int64_t{1000}, B - 1, B, B + 1, 3 * B + 17,
                      int64_t{1000003}}) {
      const int64_t stride = dist::shard_stride(n, size);
      EXPECT_EQ(stride % B, 0) << n << " over " << size;
      EXPECT_EQ(dist::padded_length(n, size), stride * size);
      EXPECT_GE(stride * size, n);
      EXPECT_LT(stride * size - n, (B + 1) * size) << "padding beyond a block per rank";
      int64_t next = 0;
      for (int r = 0; r < size; ++r) {
        const dist::Shard s = dist::shard_of(n, size, r);
        EXPECT_EQ(s.begin, next) << "shards tile [0, n) in rank order";
        EXPECT_LE(s.size(), stride);
        EXPECT_GE(s.size(), 0);
        if (s.end < n) {
          EXPECT_EQ(s.size(), stride);
        }
        next = s.end;
      }
      EXPECT_EQ(next, n);
    }
  }
  EXPECT_EQ(dist::shard_stride(0, 4), 0);
  const dist::Shard whole = dist::shard_of(12345, 1, 0);
  EXPECT_EQ(whole.begin, 0);
  EXPECT_EQ(whole.end, 12345);
  // Fewer elements than one block: rank 0 owns them all, the others nothing.
  EXPECT_EQ(dist::shard_of(5, 3, 0).size(), 5);
  EXPECT_EQ(dist::shard_of(5, 3, 2).size(), 0);
  EXPECT_THROW(dist::shard_of(10, 2, 2), Error);
  EXPECT_THROW(dist::shard_of(10, 2, -1), Error);
  EXPECT_THROW(dist::shard_of(-1, 2, 0), Error);
  EXPECT_THROW(dist::shard_stride(10, 0), Error);
}

TEST(Dist, SingleProcessShardCollectivesLeaveDataBitForBit) {
  auto c = dist::make_single_communicator();
  std::vector<float> f = {1.5f, -0.0f, std::numeric_limits<float>::quiet_NaN(), 3e38f};
  const std::vector<float> f0 = f;
  c->reduce_scatter_sum(f.data(), static_cast<int64_t>(f.size()));
  c->all_gather(f.data(), static_cast<int64_t>(f.size()));
  EXPECT_EQ(std::memcmp(f.data(), f0.data(), f.size() * sizeof(float)), 0);
  c->reduce_scatter_sum(nullptr, 0);
  c->all_gather(nullptr, 0);
  float x = 0;
  EXPECT_THROW(c->reduce_scatter_sum(&x, -1), Error);
  EXPECT_THROW(c->all_gather(nullptr, 2), Error);
}
