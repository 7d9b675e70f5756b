// The NCCL communicator where it cannot run (CI: no GPU, and often no NCCL in the build):
// creating one is an Error that says why, and KORMO_DIST is parsed strictly. Its work on
// a GPU is tested in tests/cuda/cuda_backend_test.cpp (Cuda.NcclWorldOfOne).
#include "kormo/dist/nccl_communicator.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "kormo/backend/backend.h"
#include "kormo/util/error.h"

using namespace kormo;

namespace nccl_communicator_test {

// Sets KORMO_DIST for one scope.
class DistEnv {
 public:
  explicit DistEnv(const char* v) {
    if (const char* old = std::getenv("KORMO_DIST")) old_ = old, had_ = true;
    if (v)
      setenv("KORMO_DIST", v, 1);
    else
      unsetenv("KORMO_DIST");
  }
  ~DistEnv() {
    if (had_)
      setenv("KORMO_DIST", old_.c_str(), 1);
    else
      unsetenv("KORMO_DIST");
  }

 private:
  std::string old_;
  bool had_ = false;
};

TEST(Nccl, KormoDistSelectsNcclOnlyWhenAsked) {
  {
    DistEnv e(nullptr);
    EXPECT_FALSE(dist::nccl_forced());
  }
  {
    DistEnv e("auto");
    EXPECT_FALSE(dist::nccl_forced());
  }
  {
    DistEnv e("nccl");
    EXPECT_TRUE(dist::nccl_forced());
  }
  {
    DistEnv e("mpi");
    try {
      dist::nccl_forced();
      ADD_FAILURE() << "KORMO_DIST=mpi was accepted";
    } catch (const Error& err) {
      EXPECT_NE(std::string(err.what()).find("KORMO_DIST='mpi': expected auto or nccl"), std::string::npos)
          << err.what();
    }
  }
}

TEST(Nccl, WithoutGpuOrNcclCreatingOneSaysWhy) {
  if (backend::get("auto").name().rfind("cuda", 0) == 0) GTEST_SKIP() << "a GPU is visible: Cuda.NcclWorldOfOne runs";
  auto single = dist::make_single_communicator();
  try {
    dist::make_nccl_communicator(*single);
    ADD_FAILURE() << "an NCCL communicator was created without a GPU";
  } catch (const Error& e) {
    const std::string what = e.what();
    // Which reason depends on the build (NCCL compiled in or not) and on whether
    // libnccl.so.2 is installed; each must be one of these.
    const bool known = what.find("the NCCL communicator is not in this build") != std::string::npos ||
                       what.find("cannot load libnccl.so.2") != std::string::npos ||
                       what.find("no CUDA GPU visible") != std::string::npos;
    EXPECT_TRUE(known) << what;
    std::printf("[ nccl ] %s\n", what.c_str());
  }
}

}  // namespace nccl_communicator_test
