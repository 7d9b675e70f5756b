// Errors: one exception type carrying a complete, user-facing message and the
// kind of failure.
//
// Library code throws kormo::Error with the context a user needs to act on it
// (file, line or byte offset, what was expected). The kind says whose move it is,
// so each boundary answers in its own terms: the CLI exits 2 for usage errors and
// 1 otherwise; a server answers usage and bad input with 4xx (the request must
// change) and I/O and internal errors with 5xx (the request may be fine).
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace kormo {

enum class ErrorKind {
  kUsage,     // the command line or call is wrong: unknown option, conflicting flags
  kBadInput,  // a document, config or model file is malformed or inconsistent
  kIo,        // a file could not be opened, read, written or renamed
  kInternal,  // kormo broke its own invariant: a bug
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ErrorKind kind = ErrorKind::kBadInput)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

template <class... Args>
[[noreturn]] void fail_as(ErrorKind kind, fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...), kind);
}

// Bad input, the common case.
template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  fail_as(ErrorKind::kBadInput, f, std::forward<Args>(args)...);
}
template <class... Args>
[[noreturn]] void fail_usage(fmt::format_string<Args...> f, Args&&... args) {
  fail_as(ErrorKind::kUsage, f, std::forward<Args>(args)...);
}
template <class... Args>
[[noreturn]] void fail_io(fmt::format_string<Args...> f, Args&&... args) {
  fail_as(ErrorKind::kIo, f, std::forward<Args>(args)...);
}
template <class... Args>
[[noreturn]] void fail_internal(fmt::format_string<Args...> f, Args&&... args) {
  fail_as(ErrorKind::kInternal, f, std::forward<Args>(args)...);
}

}  // namespace kormo
