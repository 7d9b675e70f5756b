// Fuzzes resuming from a damaged trainer state: arbitrary bytes as
// trainer_state/state.json are parsed and range-checked as load_checkpoint does,
// and the saved loader position goes into the shard loader's restore() over a small
// shard written at start. Only kormo::Error may escape; no crash, undefined
// behaviour or hang. A state that is accepted must be usable: batches come out and
// state() restores to itself.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

#include "kormo/shard/loader.h"
#include "kormo/shard/writer.h"
#include "kormo/train/checkpoint.h"
#include "kormo/util/error.h"

namespace {
std::unique_ptr<kormo::shard::DataLoader> g_loader;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("kormo_trainer_state_fuzz_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "s.ktok").string();
  // Documents of 3..5 tokens: offsets 0..2 are inside any of them (see the seeds).
  kormo::shard::write_shard(path, 50, {{1, 2, 3, 4, 5}, {6, 7, 8}, {9, 10, 11, 12}, {13, 14, 15}}, {{}, {}, {}, {}});
  kormo::shard::LoaderOptions o;
  o.batch_size = 2;
  o.seq_len = 4;
  o.seed = 7;
  g_loader = std::make_unique<kormo::shard::DataLoader>(
      std::vector<kormo::shard::SourceSpec>{{"a", {path}, 1.0}, {"b", {path}, 2.0}}, o);
  fs::remove_all(dir);  // the loader's memory map keeps the shard readable
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  kormo::train::TrainerState st;
  try {
    kormo::train::parse_trainer_state(text, "fuzz/state.json", st);
    if (st.step < 0 || st.updates < 0 || st.updates > st.step || st.tokens < 0 || st.threads < 1) std::abort();
    g_loader->restore(st.source);
  } catch (const kormo::Error&) {
    return 0;
  }
  for (int i = 0; i < 3; ++i) g_loader->next_train();
  const nlohmann::json saved = g_loader->state();
  g_loader->restore(saved);
  if (g_loader->state() != saved) std::abort();
  return 0;
}
