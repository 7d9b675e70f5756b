// NCCL communicator (nccl_communicator.h). Compiled against nccl.h where the build has
// CUDA and NCCL headers (KORMO_HAVE_NCCL); libnccl.so.2 itself is opened at run time,
// since the library is large and a GPU machine may hold it only inside a Python wheel.
//
// Every collective follows one pattern (run()): refuse after a failure, wait for the
// device (the CUDA backend queues its kernels on a stream of its own), enqueue the NCCL
// call on this communicator's stream, then poll the stream and NCCL's asynchronous
// error until done or timed out. A new collective (reduce-scatter, all-gather) is one
// run() around its ncclXxx call.
#include "kormo/dist/nccl_communicator.h"

#include <cstdlib>
#include <string>

#include "kormo/util/error.h"

#if KORMO_HAVE_NCCL

#include <cuda_runtime.h>
#include <dlfcn.h>
#include <nccl.h>

#include <chrono>
#include <exception>
#include <thread>

#include <fmt/format.h>

#endif

namespace kormo::dist {

bool nccl_forced() {
  const char* v = std::getenv("KORMO_DIST");
  const std::string s = v ? v : "";
  if (s.empty() || s == "auto") return false;
  if (s == "nccl") return true;
  fail("KORMO_DIST='{}': expected auto or nccl", s);
}

#if !KORMO_HAVE_NCCL

std::unique_ptr<Communicator> make_nccl_communicator(Communicator&) {
  fail("the NCCL communicator is not in this build (it needs the CUDA backend and nccl.h when kormo is built)");
}

#else

namespace {

using Clock = std::chrono::steady_clock;

// The entry points used, resolved from libnccl.so.2 (types from nccl.h).
struct NcclApi {
  decltype(&ncclGetVersion) GetVersion;
  decltype(&ncclGetUniqueId) GetUniqueId;
  decltype(&ncclCommInitRankConfig) CommInitRankConfig;
  decltype(&ncclCommGetAsyncError) CommGetAsyncError;
  decltype(&ncclCommFinalize) CommFinalize;
  decltype(&ncclCommDestroy) CommDestroy;
  decltype(&ncclCommAbort) CommAbort;
  decltype(&ncclAllReduce) AllReduce;
  decltype(&ncclBroadcast) Broadcast;
  decltype(&ncclReduceScatter) ReduceScatter;
  decltype(&ncclAllGather) AllGather;
  decltype(&ncclGetErrorString) GetErrorString;
};

// The oldest NCCL with non-blocking communicators and ncclCommFinalize.
constexpr int kMinVersion = NCCL_VERSION(2, 14, 0);

template <class F>
void resolve(void* lib, F& fn, const char* name) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) fail("NCCL communicator: libnccl.so.2 has no {} (NCCL {}.{} or newer is needed)", name, 2, 14);
}

NcclApi load_api() {
  // Never closed: NCCL's own threads may outlive any communicator.
  void* lib = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    fail("NCCL communicator: cannot load libnccl.so.2 ({}); install NCCL (e.g. the nvidia-nccl-cu13 Python wheel) "
         "and put the directory holding libnccl.so.2 on LD_LIBRARY_PATH",
         dlerror());
  NcclApi a{};
  resolve(lib, a.GetVersion, "ncclGetVersion");
  resolve(lib, a.GetUniqueId, "ncclGetUniqueId");
  resolve(lib, a.CommInitRankConfig, "ncclCommInitRankConfig");
  resolve(lib, a.CommGetAsyncError, "ncclCommGetAsyncError");
  resolve(lib, a.CommFinalize, "ncclCommFinalize");
  resolve(lib, a.CommDestroy, "ncclCommDestroy");
  resolve(lib, a.CommAbort, "ncclCommAbort");
  resolve(lib, a.AllReduce, "ncclAllReduce");
  resolve(lib, a.Broadcast, "ncclBroadcast");
  resolve(lib, a.ReduceScatter, "ncclReduceScatter");
  resolve(lib, a.AllGather, "ncclAllGather");
  resolve(lib, a.GetErrorString, "ncclGetErrorString");
  int version = 0;
  if (a.GetVersion(&version) != ncclSuccess || version < kMinVersion)
    fail("NCCL communicator: libnccl.so.2 is version {}, {} or newer is needed", version, kMinVersion);
  return a;
}

const NcclApi& api() {
  static const NcclApi a = load_api();  // a failed load throws and is retried by the next call
  return a;
}

void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail("NCCL communicator: {}: {} ({})", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(Communicator& bootstrap, double timeout_s)
      : rank_(bootstrap.rank()), size_(bootstrap.size()), timeout_(timeout_s) {
    const NcclApi& nc = api();
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
      cudaGetLastError();
      fail("NCCL communicator: no CUDA GPU visible");
    }
    check_cuda(cudaGetDevice(&device_), "cudaGetDevice");
    // Pinned so that the summation order does not follow NCCL's per-size, per-machine
    // tuning (nccl_communicator.h); a value set by the user wins.
    setenv("NCCL_ALGO", "Ring", 0);
    setenv("NCCL_PROTO", "Simple", 0);
    ncclUniqueId id{};
    if (rank_ == 0) check(nc.GetUniqueId(&id), "ncclGetUniqueId");
    bootstrap.broadcast(&id, sizeof id, 0);
    try {
      check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
      check_cuda(cudaMalloc(&scratch_, sizeof(int64_t)), "cudaMalloc");
      ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
      config.blocking = 0;
      settle("ncclCommInitRankConfig", nc.CommInitRankConfig(&comm_, size_, id, rank_, &config), Clock::now());
    } catch (...) {
      release(true);
      throw;
    }
  }

  ~NcclCommunicator() override { release(broken_ || std::uncaught_exceptions() > 0); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "nccl"; }
  double timeout_s() const override { return timeout_; }

 protected:
  bool active() const override { return true; }
  void sum_f32(float* data, int64_t n) override { all_reduce(data, n, ncclFloat32, "all-reduce (f32)"); }
  void sum_f64(double* data, int64_t n) override { all_reduce(data, n, ncclFloat64, "all-reduce (f64)"); }
  void sum_i64(int64_t* data, int64_t n) override { all_reduce(data, n, ncclInt64, "all-reduce (i64)"); }
  // In place over equal shards, as NCCL needs: data holds padded_length(n, size) floats
  // and rank r's shard starts at r · shard_stride (communicator.h).
  void do_reduce_scatter_f32(float* data, int64_t n) override {
    const int64_t stride = shard_stride(n, size_);
    run("reduce-scatter (f32)", data, [&] {
      return api().ReduceScatter(data, data + rank_ * stride, static_cast<size_t>(stride), ncclFloat32, ncclSum,
                                 comm_, stream_);
    });
  }
  void do_all_gather_f32(float* data, int64_t n) override {
    const int64_t stride = shard_stride(n, size_);
    run("all-gather (f32)", data, [&] {
      return api().AllGather(data + rank_ * stride, data, static_cast<size_t>(stride), ncclFloat32, comm_, stream_);
    });
  }
  void do_broadcast(void* data, size_t bytes, int root) override {
    run("broadcast", data, [&] { return api().Broadcast(data, data, bytes, ncclUint8, root, comm_, stream_); });
  }
  void do_barrier() override {
    run("barrier", scratch_,
        [&] { return api().AllReduce(scratch_, scratch_, 1, ncclInt64, ncclSum, comm_, stream_); });
  }

 private:
  void all_reduce(void* data, int64_t n, ncclDataType_t type, const char* what) {
    run(what, data, [&] {
      return api().AllReduce(data, data, static_cast<size_t>(n), type, ncclSum, comm_, stream_);
    });
  }

  template <class Launch>
  void run(const char* what, const void* buffer, Launch launch) {
    if (broken_) fail("NCCL communicator: {} after an earlier failure (the communicator is aborted)", what);
    cudaPointerAttributes attr{};
    if (cudaPointerGetAttributes(&attr, buffer) != cudaSuccess ||
        (attr.type != cudaMemoryTypeDevice && attr.type != cudaMemoryTypeManaged)) {
      cudaGetLastError();
      fail("NCCL communicator: {}: the buffer is not GPU memory (the nccl communicator takes device buffers)", what);
    }
    const auto t0 = Clock::now();
    // The caller's kernels run on other streams: the buffer is ready once the device is idle.
    guard(cudaDeviceSynchronize(), what);
    settle(what, launch(), t0);
    // Completion: the stream drains, unless NCCL reports an error or time runs out.
    for (int polls = 0;; ++polls) {
      const cudaError_t e = cudaStreamQuery(stream_);
      if (e == cudaSuccess) return;
      if (e != cudaErrorNotReady) guard(e, what);
      ncclResult_t async = ncclSuccess;
      nccl_guard(api().CommGetAsyncError(comm_, &async), what);
      nccl_guard(async, what);
      wait_a_little(polls, t0, what);
    }
  }

  // Non-blocking NCCL calls return ncclInProgress while they set up or enqueue; the
  // outcome then comes from ncclCommGetAsyncError.
  void settle(const char* what, ncclResult_t r, Clock::time_point t0) {
    for (int polls = 0; r == ncclInProgress; ++polls) {
      wait_a_little(polls, t0, what);
      nccl_guard(api().CommGetAsyncError(comm_, &r), what);
    }
    nccl_guard(r, what);
  }

  void wait_a_little(int polls, Clock::time_point t0, const char* what) {
    if (timeout_ > 0 && std::chrono::duration<double>(Clock::now() - t0).count() > timeout_) {
      broken_ = true;
      abort_comm();
      fail("NCCL communicator: {} made no progress for {:.0f} s on rank {} of {} (GPU {}): another rank died or "
           "stopped responding (KORMO_DIST_TIMEOUT_S); the communicator is aborted",
           what, timeout_, rank_, size_, device_);
    }
    if (polls < 1000)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  }

  void check(ncclResult_t r, const char* what) {
    if (r != ncclSuccess) fail("NCCL communicator: {}: {}", what, api().GetErrorString(r));
  }
  void nccl_guard(ncclResult_t r, const char* what) {
    if (r == ncclSuccess || r == ncclInProgress) return;
    broken_ = true;
    abort_comm();
    fail("NCCL communicator: {} failed on rank {} of {} (GPU {}): {}; the communicator is aborted", what, rank_,
         size_, device_, api().GetErrorString(r));
  }
  void guard(cudaError_t e, const char* what) {
    if (e == cudaSuccess) return;
    broken_ = true;
    abort_comm();
    fail("NCCL communicator: {} on rank {} of {} (GPU {}): CUDA error {} ({})", what, rank_, size_, device_,
         cudaGetErrorString(e), cudaGetErrorName(e));
  }

  void abort_comm() noexcept {
    if (comm_) api().CommAbort(comm_);
    comm_ = nullptr;
  }

  // Finalises (flushes) a healthy communicator within the timeout, else aborts it.
  void release(bool abort) noexcept {
    if (comm_ && !abort) {
      const auto t0 = Clock::now();
      ncclResult_t r = api().CommFinalize(comm_);
      while (r == ncclInProgress) {
        if (timeout_ > 0 && std::chrono::duration<double>(Clock::now() - t0).count() > timeout_) break;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        if (api().CommGetAsyncError(comm_, &r) != ncclSuccess) break;
      }
      if (r == ncclSuccess) {
        api().CommDestroy(comm_);
        comm_ = nullptr;
      }
    }
    abort_comm();
    if (stream_) cudaStreamDestroy(stream_);
    if (scratch_) cudaFree(scratch_);
    stream_ = nullptr;
    scratch_ = nullptr;
    cudaGetLastError();
  }

  int rank_, size_, device_ = 0;
  double timeout_;
  bool broken_ = false;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  void* scratch_ = nullptr;  // the barrier's one element
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(Communicator& bootstrap) {
  return std::make_unique<NcclCommunicator>(bootstrap, timeout_from_env());
}

#endif

}  // namespace kormo::dist
