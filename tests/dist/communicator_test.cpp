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
