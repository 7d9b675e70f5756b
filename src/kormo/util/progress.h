// Progress for long work: a single self-overwriting line (rate, ETA) when
// stderr is a terminal, and nothing until the final summary otherwise, so logs
// and CI output stay quiet.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace kormo {

class Progress {
 public:
  // total == 0 means unknown (no percentage or ETA). unit is e.g. "MB", "docs".
  Progress(std::string label, double total, std::string unit);
  ~Progress();
  // Sets absolute progress; cheap to call often (redraws at most 5 times/s).
  void update(double done, const std::string& extra = "");
  // Prints the final line (always, also when not a terminal) once.
  void finish(const std::string& extra = "");
  double elapsed_s() const;

 private:
  void draw(bool final_line, const std::string& extra);

  std::string label_, unit_;
  double total_, done_ = 0;
  bool tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace kormo
