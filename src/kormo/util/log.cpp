#include "kormo/util/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace kormo {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mu;
}  // namespace

void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }

void log_line(LogLevel, std::string_view msg) {
  std::lock_guard<std::mutex> lock(g_mu);
  std::fwrite(msg.data(), 1, msg.size(), stderr);
  std::fputc('\n', stderr);
}

}  // namespace kormo
