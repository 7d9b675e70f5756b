#include "kormo/util/manifest.h"

#include <chrono>
#include <ctime>
#include <filesystem>

#include "kormo/util/error.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"
#include "kormo/version.h"

namespace fs = std::filesystem;

namespace kormo {

// Files inside the run directory are recorded relative to it, so the directory can move;
// files outside it (a run's raw sources) keep their absolute path rather than a "../" chain.
static std::string relative_to(const fs::path& p, const std::string& base) {
  std::error_code ec;
  fs::path rel = fs::relative(p, base, ec);
  if (ec || rel.empty() || *rel.begin() == "..") return fs::absolute(p).string();
  return rel.string();
}

std::vector<FileRecord> hash_path(const std::string& path, const std::string& base_dir) {
  std::vector<FileRecord> out;
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("{}: cannot record in manifest: no such file", path);
  std::vector<fs::path> files;
  if (fs::is_directory(path, ec)) {
    for (auto& e : fs::recursive_directory_iterator(path))
      if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  for (const auto& f : files)
    out.push_back({relative_to(f, base_dir), file_xxh3_128_hex(f.string()), fs::file_size(f)});
  return out;
}

Manifest::Manifest(std::string dir) : dir_(std::move(dir)) {}

void Manifest::set_config(const nlohmann::json& resolved, const std::string& source) {
  config_ = resolved;
  config_source_ = source;
}

void Manifest::add_stage(StageRecord stage) { stages_.push_back(std::move(stage)); }

static nlohmann::json files_json(const std::vector<FileRecord>& files) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& f : files) a.push_back({{"path", f.path}, {"xxh3_128", f.xxh3}, {"bytes", f.bytes}});
  return a;
}

nlohmann::json Manifest::to_json() const {
  nlohmann::json j;
  j["format"] = "kormo-manifest";
  j["version"] = 1;
  j["program"] = {{"name", "kormo"}, {"version", kVersion}, {"git_commit", kGitCommit}};
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  j["written_at"] = buf;
  j["config_source"] = config_source_;
  j["config"] = config_;
  j["stages"] = nlohmann::json::array();
  for (const auto& s : stages_) {
    j["stages"].push_back({{"name", s.name},
                           {"seed", s.seed},
                           {"seconds", s.seconds},
                           {"inputs", files_json(s.inputs)},
                           {"outputs", files_json(s.outputs)},
                           {"summary", s.summary}});
  }
  return j;
}

void Manifest::save(const std::string& name) const { write_file_atomic(dir_ + "/" + name, to_json().dump(2) + "\n"); }

std::vector<VerifyProblem> verify_manifest(const std::string& manifest_path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(manifest_path));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not a valid manifest: {}", manifest_path, e.what());
  }
  if (j.value("format", "") != "kormo-manifest") fail("{}: not a kormo manifest (format field)", manifest_path);
  std::string base = fs::path(manifest_path).parent_path().string();
  if (base.empty()) base = ".";
  std::vector<VerifyProblem> problems;
  for (const auto& stage : j.at("stages")) {
    std::string name = stage.value("name", "?");
    for (const char* kind : {"inputs", "outputs"}) {
      for (const auto& f : stage.at(kind)) {
        std::string rel = f.at("path");
        fs::path p = fs::path(rel).is_absolute() ? fs::path(rel) : fs::path(base) / rel;
        std::error_code ec;
        if (!fs::exists(p, ec)) {
          problems.push_back({name, rel, "missing"});
          continue;
        }
        std::string h = file_xxh3_128_hex(p.string());
        if (h != f.at("xxh3_128").get<std::string>())
          problems.push_back({name, rel, "content changed (hash " + h + ", recorded " +
                                             f.at("xxh3_128").get<std::string>() + ")"});
      }
    }
  }
  return problems;
}

}  // namespace kormo
