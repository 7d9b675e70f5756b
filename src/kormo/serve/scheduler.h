// The one thread that owns the infer::Generator. HTTP handler threads submit
// generations and wait on their progress; each loop of the scheduler adds what was
// submitted, drops what was cancelled, runs one Generator::step() for every active
// sequence (continuous batching: a new request joins the next step, its prefill shares
// the forward with the others' decode tokens) and publishes the new tokens.
//
// Promises:
//  - A Job's fields below the lock comment change only under the scheduler's lock;
//    handlers read them inside wait() / with().
//  - A generation that fails (bad request caught by Generator::add, or an error in the
//    forward) ends with `error` set; the scheduler keeps serving the others.
//  - The destructor finishes every submitted generation, then stops the thread (drain).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kormo/infer/generator.h"
#include "kormo/serve/metrics.h"

namespace kormo::serve {

struct Job {
  infer::Request request;
  std::chrono::steady_clock::time_point submitted;
  // Under the scheduler's lock:
  infer::Completion out;  // the completion so far; final once done
  bool done = false;
  bool error_is_client = true;  // the kind of `error`: the request's fault or ours
  std::string error;            // set when the generation failed
  // Scheduler-private:
  int64_t id = -1;
  bool cancelled = false;
};

class Scheduler {
 public:
  Scheduler(const model::Weights& w, const tok::Tokenizer& tok, int64_t max_sequences, int64_t capacity,
            model::Precision precision,
            Metrics& metrics);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  std::shared_ptr<Job> submit(infer::Request r);
  // The client is gone: the sequence is dropped at the next step.
  void cancel(const std::shared_ptr<Job>& job);
  // Blocks until `ready()` (called under the lock) holds, re-checking after every step
  // and at least every `poll`; returns ready()'s last value.
  bool wait(const std::function<bool()>& ready, std::chrono::milliseconds poll);
  // Runs `f` under the lock (to read Job fields consistently).
  void with_lock(const std::function<void()>& f);
  // Generations waiting for a slot / being decoded.
  std::pair<int64_t, int64_t> load() const;
  int64_t capacity() const { return capacity_; }

 private:
  void loop();
  void publish();

  infer::Generator gen_;
  Metrics& metrics_;
  const int64_t max_sequences_, capacity_;
  mutable std::mutex mu_;
  std::condition_variable work_, progress_;
  std::deque<std::shared_ptr<Job>> submitted_;
  std::vector<std::shared_ptr<Job>> active_;  // added to the generator
  int64_t active_count_ = 0;                  // active_.size(), readable under mu_ by load()
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace kormo::serve
