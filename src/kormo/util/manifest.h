// Run manifests: what a run did, reproducibly checkable.
//
// A manifest.json records the resolved configuration, the program version and
// git commit, and for each stage its inputs and outputs with content hashes
// (xxh3-128 of the bytes on disk), seed and wall time. `kormo verify` rehashes
// every recorded file and reports the ones that changed or went missing.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace kormo {

struct FileRecord {
  std::string path;  // as given (relative paths are relative to the manifest's directory)
  std::string xxh3;  // xxh3-128 hex of the file's bytes
  uint64_t bytes = 0;
};

// Hashes a file or, for a directory, every regular file below it (sorted).
std::vector<FileRecord> hash_path(const std::string& path, const std::string& base_dir);

// The manifest's JSON form of a file list: [{"path", "xxh3_128", "bytes"}, ...].
nlohmann::json files_json(const std::vector<FileRecord>& files);

struct StageRecord {
  std::string name;
  std::vector<FileRecord> inputs, outputs;
  uint64_t seed = 0;
  double seconds = 0;
  nlohmann::json summary;  // stage-specific figures (documents kept, final loss, ...)
  double peak_rss_bytes = 0;  // the process's peak resident size while it ran; 0 = not measured
};

class Manifest {
 public:
  explicit Manifest(std::string dir);
  void set_config(const nlohmann::json& resolved, const std::string& source);
  // The stages the run was asked to do, in order: verify requires exactly these.
  void set_plan(std::vector<std::string> stage_names) { plan_ = std::move(stage_names); }
  void add_stage(StageRecord stage);
  // Writes dir/<name> atomically.
  void save(const std::string& name = "manifest.json") const;
  nlohmann::json to_json() const;

 private:
  std::string dir_;
  nlohmann::json config_;
  std::string config_source_;
  std::vector<std::string> plan_;
  std::vector<StageRecord> stages_;
};

struct VerifyProblem {
  std::string stage, path, what;
};
// Rehashes every input and output a manifest records. Empty result = all match. Throws
// Error for a manifest that is not one kormo writes: a bad schema, paths leaving the run
// directory, stages that differ from its "plan", or (when `stage_order` is given: the
// pipeline's stages in order) stages that are not a non-empty leading part of that order.
std::vector<VerifyProblem> verify_manifest(const std::string& manifest_path,
                                           const std::vector<std::string>& stage_order = {});
// The same for manifest text already read; manifest_path names it and locates the run
// directory.
std::vector<VerifyProblem> verify_manifest_text(std::string_view text, const std::string& manifest_path,
                                                const std::vector<std::string>& stage_order = {});

}  // namespace kormo
