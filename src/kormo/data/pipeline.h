// `kormo data pipeline CONFIG.toml`: ingest -> normalize -> langid -> filter ->
// decontam (sharded, resumable, multi-process) -> dedup (rank 0, global) in
// one command. Sections and keys: docs/data.md and configs/data/*.toml.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace kormo::data {

// Returns the run summary (counts by rule, paths). Relative paths in the config
// are relative to the current directory; `output_override` replaces
// [pipeline] output when not empty.
nlohmann::json run_pipeline(const std::string& config_path, const std::string& output_override = "");

}  // namespace kormo::data
