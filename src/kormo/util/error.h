// Errors: one exception type carrying a complete, user-facing message.
//
// Library code throws kormo::Error with the context a user needs to act on it
// (file, line or byte offset, what was expected). The CLI catches it once at
// the boundary, prints "kormo: <message>" and exits non-zero.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace kormo {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

// Process exit codes shared by every verb.
enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,   // bad input, failed run
  kExitUsage = 2,   // bad command line
};

}  // namespace kormo
