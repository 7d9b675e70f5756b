// Carrying errors out of OpenMP parallel regions.
//
// An exception that leaves an OpenMP structured block calls std::terminate
// ("terminate called after throwing", exit 134), so an I/O failure on a worker
// thread (a full disk while writing a shard) would abort instead of reporting.
// Each iteration runs through FirstError::run(): the first exception is kept,
// later iterations skip their work, and the thread that opened the region
// rethrows it after the region with rethrow().
//
//   FirstError err;
//   #pragma omp parallel for
//   for (size_t i = 0; i < n; ++i) err.run([&] { work(i); });
//   err.rethrow();
#pragma once

#include <atomic>
#include <exception>
#include <mutex>

namespace kormo {

class FirstError {
 public:
  // Runs f unless an earlier iteration failed; never throws.
  template <class F>
  void run(F&& f) noexcept {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      f();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!first_) first_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }

  bool failed() const { return failed_.load(std::memory_order_relaxed); }

  // Call after the region, on the thread that opened it.
  void rethrow() {
    if (first_) std::rethrow_exception(first_);
  }

 private:
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  std::exception_ptr first_;
};

}  // namespace kormo
