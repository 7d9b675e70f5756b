// kormo: one binary, one verb per pipeline stage (see docs/ARCHITECTURE.md).
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "kormo/util/error.h"
#include "kormo/util/log.h"
#include "kormo/util/signals.h"
#include "kormo/version.h"
#include "verb.h"

namespace kormo::cli {
namespace {
struct Verb {
  const char* name;
  const char* description;
  int order;
  SetupFn setup;
};
std::vector<Verb>& registry() {
  static std::vector<Verb> verbs;
  return verbs;
}

// Process exit codes shared by every verb: 2 = the command line must change.
enum ExitCode : int { kExitOk = 0, kExitError = 1, kExitUsage = 2 };

// Prints a library error the way every verb reports one; returns the exit code.
int report(const Error& e) {
  switch (e.kind()) {
    case ErrorKind::kUsage:
      std::fprintf(stderr, "kormo: usage error: %s\nRun with --help for more information.\n", e.what());
      return kExitUsage;
    case ErrorKind::kBadInput: std::fprintf(stderr, "kormo: error: %s\n", e.what()); break;
    case ErrorKind::kIo: std::fprintf(stderr, "kormo: I/O error: %s\n", e.what()); break;
    case ErrorKind::kInternal: std::fprintf(stderr, "kormo: internal error: %s\n", e.what()); break;
  }
  return kExitError;
}
}  // namespace

bool add_verb(const char* name, const char* description, int order, SetupFn setup) {
  registry().push_back({name, description, order, setup});
  return true;
}

}  // namespace kormo::cli

int main(int argc, char** argv) {
  using namespace kormo;
  watch_stop_signals();  // before any thread exists, so that every thread inherits the mask
  CLI::App app{
      "kormo: raw Korean and English text to an evaluated, served, exported bilingual LLM.\n"
      "Each verb is one pipeline stage; stages exchange documented files (docs/FORMATS.md).\n"
      "Run `kormo <verb> --help` for a verb's options and examples.",
      "kormo"};
  app.set_version_flag("--version", std::string("kormo ") + kVersion + " (" + kGitCommit + ")");
  bool quiet = false, verbose = false;
  app.add_flag("-q,--quiet", quiet, "Only print warnings and errors");
  app.add_flag("-v,--verbose", verbose, "Print debugging detail");
  app.require_subcommand(1);
  app.fallthrough();

  auto& verbs = cli::registry();
  std::stable_sort(verbs.begin(), verbs.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  for (const auto& v : verbs) {
    CLI::App* sub = app.add_subcommand(v.name, v.description);
    v.setup(*sub);
  }
  app.parse_complete_callback([&] {
    set_log_level(quiet ? LogLevel::kQuiet : verbose ? LogLevel::kDebug : LogLevel::kInfo);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? cli::kExitOk : cli::kExitUsage;
  } catch (const Error& e) {
    return cli::report(e);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "kormo: error: out of memory (lower the memory budget or the batch size)\n");
    return cli::kExitError;
  } catch (const std::exception& e) {
    return cli::report(Error(e.what(), ErrorKind::kInternal));
  }
  return cli::kExitOk;
}
