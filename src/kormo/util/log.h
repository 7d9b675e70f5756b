// Logging to stderr. Messages are for people; machine-readable output goes
// to files (metrics.jsonl, manifest.json) or stdout of the verb that owns it.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace kormo {

enum class LogLevel { kQuiet = 0, kInfo = 1, kDebug = 2 };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_line(LogLevel level, std::string_view msg);

template <class... Args>
void log_info(fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() >= LogLevel::kInfo) log_line(LogLevel::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void log_debug(fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() >= LogLevel::kDebug) log_line(LogLevel::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
// Warnings are printed even in quiet mode: they report data the user must know about.
template <class... Args>
void log_warn(fmt::format_string<Args...> f, Args&&... args) {
  log_line(LogLevel::kQuiet, "warning: " + fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace kormo
