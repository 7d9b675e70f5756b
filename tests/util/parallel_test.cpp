#include "kormo/util/parallel.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>

#include "kormo/util/error.h"

using namespace kormo;

// An exception thrown on a worker comes out of the region as itself (kind and
// message kept) on the calling thread, instead of std::terminate.
TEST(FirstError, CarriesAWorkerErrorOutOfTheRegion) {
  FirstError err;
  std::atomic<int> ran{0};
#pragma omp parallel for num_threads(4) schedule(dynamic, 1)
  for (int i = 0; i < 1000; ++i)
    err.run([&] {
      ++ran;
      if (i == 3) fail_io("shard-{}: cannot write: No space left on device", i);
    });
  EXPECT_TRUE(err.failed());
  try {
    err.rethrow();
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_STREQ(e.what(), "shard-3: cannot write: No space left on device");
  }
  // Once failed, later iterations skip their work (how many ran before the
  // failure was seen depends on scheduling, so this is checked after it).
  bool later = false;
  err.run([&] { later = true; });
  EXPECT_FALSE(later);
}

TEST(FirstError, NothingToRethrowWhenAllSucceed) {
  FirstError err;
  std::atomic<int> ran{0};
#pragma omp parallel for num_threads(4)
  for (int i = 0; i < 100; ++i) err.run([&] { ++ran; });
  EXPECT_FALSE(err.failed());
  EXPECT_NO_THROW(err.rethrow());
  EXPECT_EQ(ran.load(), 100);
}
