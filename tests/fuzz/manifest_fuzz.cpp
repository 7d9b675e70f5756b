// Fuzzes `kormo verify` on a damaged manifest: arbitrary bytes as a run directory's
// manifest.json must give problems or a kormo::Error, never a crash, undefined
// behaviour or hang. The run directory, written at start, holds one recorded file.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "kormo/util/error.h"
#include "kormo/util/manifest.h"

namespace {
std::string g_manifest;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("kormo_manifest_fuzz_" + std::to_string(::getpid()));
  fs::create_directories(dir / "data");
  std::ofstream(dir / "data" / "a.txt") << "hello\n";
  g_manifest = (dir / "manifest.json").string();
  std::atexit([] { fs::remove_all(fs::path(g_manifest).parent_path()); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    for (const kormo::VerifyProblem& p : kormo::verify_manifest_text(text, g_manifest))
      if (p.path.empty() || p.what.empty()) std::abort();
  } catch (const kormo::Error&) {
  }
  return 0;
}
