// Server metrics in the Prometheus text format (version 0.0.4), for /metrics.
//
// Promises:
//  - Counters only grow; histograms use fixed buckets (seconds), cumulative as
//    Prometheus expects, with _sum and _count.
//  - Thread-safe: handler threads and the scheduler record concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace kormo::serve {

class Metrics {
 public:
  Metrics();
  // One answered HTTP request: its route (the path, or "other" for unknown paths), status
  // and time from arrival to the last byte.
  void request(const std::string& route, int status, double seconds);
  void tokens(int64_t prompt, int64_t generated);
  void first_token(double seconds);
  void cancelled();
  // `waiting`: requests queued for a sequence slot; `running`: sequences being decoded.
  std::string render(int64_t waiting, int64_t running) const;

 private:
  struct Histogram {
    std::vector<double> bounds;
    std::vector<int64_t> counts;  // per bucket (not cumulative); last: +Inf
    double sum = 0;
    int64_t count = 0;
    void add(double v);
    void render(std::string& out, const std::string& name, const std::string& labels) const;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  std::map<std::string, Histogram> latency_;
  Histogram ttft_;
  int64_t prompt_tokens_ = 0, generated_tokens_ = 0, cancelled_ = 0;
};

}  // namespace kormo::serve
