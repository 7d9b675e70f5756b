#include "kormo/util/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

#include "kormo/util/log.h"

namespace kormo {

Progress::Progress(std::string label, double total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total),
      tty_(::isatty(2) && log_level() >= LogLevel::kInfo),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() {
  if (tty_ && !finished_) std::fputc('\n', stderr);
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(double done, const std::string& extra) {
  done_ = done;
  if (!tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  draw(false, extra);
}

void Progress::finish(const std::string& extra) {
  if (finished_) return;
  finished_ = true;
  if (log_level() < LogLevel::kInfo) return;
  draw(true, extra);
}

static std::string format_duration(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  int t = static_cast<int>(s);
  if (t < 3600) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
}

// Counts print without decimals; fractional quantities (MB) with one.
static std::string amount(double v) {
  return v == static_cast<double>(static_cast<int64_t>(v)) ? fmt::format("{}", static_cast<int64_t>(v))
                                                           : fmt::format("{:.1f}", v);
}

void Progress::draw(bool final_line, const std::string& extra) {
  double el = elapsed_s();
  double rate = el > 0 ? done_ / el : 0;
  std::string line = fmt::format("{}: {} {}", label_, amount(done_), unit_);
  if (total_ > 0) line += fmt::format(" / {} ({:.0f}%)", amount(total_), 100.0 * done_ / total_);
  line += fmt::format(", {:.2f} {}/s", rate, unit_);
  if (final_line) line += ", " + format_duration(el);
  else if (total_ > 0 && rate > 0) line += ", ETA " + format_duration((total_ - done_) / rate);
  if (!extra.empty()) line += ", " + extra;
  if (tty_) std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  else std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace kormo
