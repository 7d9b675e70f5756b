#include "kormo/eval/pyrandom.h"

#include <gtest/gtest.h>

#include <vector>

using kormo::eval::PyRandom;

// Every expected value below was printed by CPython 3.11:
//   r = random.Random(SEED); r.getrandbits(32) …; r.sample(range(N), K) …

TEST(PyRandom, FirstWordsOfSeed1234) {
  PyRandom r(1234);
  const std::vector<uint32_t> want = {4150886329u, 3342196574u, 1892932127u, 501869158u, 32175636u};
  for (uint32_t w : want) EXPECT_EQ(r.getrandbits(32), w);
}

TEST(PyRandom, SampleBothAlgorithmsAndTheStateCarriesOver) {
  PyRandom r(1234);
  // n ≤ setsize: the shrinking pool; n large: the set of taken indices (k > 5 grows setsize).
  EXPECT_EQ(r.sample(10, 3), (std::vector<size_t>{7, 1, 0}));
  EXPECT_EQ(r.sample(10, 6), (std::vector<size_t>{1, 0, 9, 8, 2, 7}));
  EXPECT_EQ(r.sample(100, 4), (std::vector<size_t>{2, 3, 44, 82}));
  EXPECT_EQ(r.sample(7473, 6), (std::vector<size_t>{5105, 3966, 5044, 3797, 1216, 747}));
  EXPECT_EQ(r.sample(50, 9), (std::vector<size_t>{11, 45, 7, 0, 32, 31, 15, 4, 34}));
}

TEST(PyRandom, OtherSeeds) {
  EXPECT_EQ(PyRandom(0).sample(30, 5), (std::vector<size_t>{27, 12, 24, 28, 13}));
  // A seed wider than 32 bits is two key words.
  EXPECT_EQ(PyRandom((uint64_t{1} << 40) + 5).sample(1000, 3), (std::vector<size_t>{516, 529, 275}));
}

TEST(PyRandom, RepeatedSamplesAsLmEvalDrawsThemPerDocument) {
  PyRandom r(1234);
  EXPECT_EQ(r.sample(24, 4), (std::vector<size_t>{14, 3, 0, 2}));
  EXPECT_EQ(r.sample(24, 4), (std::vector<size_t>{18, 1, 21, 22}));
  EXPECT_EQ(r.sample(24, 4), (std::vector<size_t>{2, 3, 11, 7}));
}
