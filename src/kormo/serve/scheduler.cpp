#include "kormo/serve/scheduler.h"

#include <algorithm>

#include "kormo/util/error.h"
#include "kormo/util/log.h"

namespace kormo::serve {

Scheduler::Scheduler(const model::Weights& w, const tok::Tokenizer& tok, int64_t max_sequences, int64_t capacity,
                     model::Precision precision, Metrics& metrics)
    : gen_(w, &tok, max_sequences, capacity, precision),
      metrics_(metrics),
      max_sequences_(max_sequences),
      capacity_(capacity),
      thread_([this] { loop(); }) {}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_.notify_all();
  thread_.join();
}

std::shared_ptr<Job> Scheduler::submit(infer::Request r) {
  auto job = std::make_shared<Job>();
  job->request = std::move(r);
  job->submitted = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    submitted_.push_back(job);
  }
  work_.notify_one();
  return job;
}

void Scheduler::cancel(const std::shared_ptr<Job>& job) {
  {
    std::lock_guard lock(mu_);
    if (job->done || job->cancelled) return;
    job->cancelled = true;
  }
  work_.notify_one();
}

bool Scheduler::wait(const std::function<bool()>& ready, std::chrono::milliseconds poll) {
  std::unique_lock lock(mu_);
  return progress_.wait_for(lock, poll, ready);
}

void Scheduler::with_lock(const std::function<void()>& f) {
  std::lock_guard lock(mu_);
  f();
}

std::pair<int64_t, int64_t> Scheduler::load() const {
  std::lock_guard lock(mu_);
  const int64_t running = std::min(active_count_, max_sequences_);
  return {static_cast<int64_t>(submitted_.size()) + active_count_ - running, running};
}

void Scheduler::loop() {
  while (true) {
    std::vector<std::shared_ptr<Job>> fresh;
    {
      std::unique_lock lock(mu_);
      work_.wait(lock, [&] { return stopping_ || !submitted_.empty() || !active_.empty(); });
      if (stopping_ && submitted_.empty() && active_.empty()) return;
      fresh.assign(submitted_.begin(), submitted_.end());
      submitted_.clear();
      // Cancelled generations leave the generator before the step.
      for (auto it = active_.begin(); it != active_.end();) {
        if ((*it)->cancelled) {
          gen_.cancel((*it)->id);
          (*it)->done = true;
          metrics_.cancelled();
          it = active_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& job : fresh) {
      try {
        job->id = gen_.add(job->request);
        std::lock_guard lock(mu_);
        if (job->cancelled) {
          gen_.cancel(job->id);
          job->done = true;
        } else {
          active_.push_back(job);
        }
      } catch (const Error& e) {
        std::lock_guard lock(mu_);
        job->error = e.what();
        job->error_is_client = e.kind() == ErrorKind::kUsage || e.kind() == ErrorKind::kBadInput;
        job->done = true;
      }
    }
    try {
      if (gen_.busy()) gen_.step();
    } catch (const std::exception& e) {
      // The step's state is unknown: every generation in it fails, the server goes on.
      log_warn("generation step failed: {}", e.what());
      std::lock_guard lock(mu_);
      for (auto& job : active_) {
        gen_.cancel(job->id);
        job->error = fmt::format("generation failed: {}", e.what());
        job->error_is_client = false;
        job->done = true;
      }
      active_.clear();
    }
    publish();
  }
}

void Scheduler::publish() {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    for (auto it = active_.begin(); it != active_.end();) {
      Job& job = **it;
      const infer::Completion& c = gen_.peek(job.id);
      if (job.out.tokens.empty() && !c.tokens.empty())
        metrics_.first_token(std::chrono::duration<double>(now - job.submitted).count());
      // A finish reason marks a finished generation (also one that needed no step).
      if (!c.finish_reason.empty()) {
        job.out = gen_.take(job.id);
        job.done = true;
        metrics_.tokens(static_cast<int64_t>(job.request.prompt.size()), static_cast<int64_t>(job.out.tokens.size()));
        it = active_.erase(it);
        continue;
      }
      // Only what grew is copied: the token tail and the text (a stop string may still
      // cut it, so it is taken whole).
      job.out.tokens.insert(job.out.tokens.end(), c.tokens.begin() + static_cast<std::ptrdiff_t>(job.out.tokens.size()),
                            c.tokens.end());
      job.out.text = c.text;
      ++it;
    }
    active_count_ = static_cast<int64_t>(active_.size());
  }
  progress_.notify_all();
}

}  // namespace kormo::serve
