#include "kormo/util/manifest.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fmt/ranges.h>

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

nlohmann::json files_json(const std::vector<FileRecord>& files) {
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
  if (!plan_.empty()) j["plan"] = plan_;
  j["stages"] = nlohmann::json::array();
  for (const auto& s : stages_) {
    j["stages"].push_back({{"name", s.name},
                           {"seed", s.seed},
                           {"seconds", s.seconds},
                           {"inputs", files_json(s.inputs)},
                           {"outputs", files_json(s.outputs)},
                           {"summary", s.summary}});
    if (s.peak_rss_bytes > 0) j["stages"].back()["peak_rss_bytes"] = static_cast<uint64_t>(s.peak_rss_bytes);
  }
  return j;
}

void Manifest::save(const std::string& name) const { write_file_atomic(dir_ + "/" + name, to_json().dump(2) + "\n"); }

namespace {

// Deeper than any manifest kormo writes (config tables nest a few levels); a hostile file
// nested far deeper would otherwise exhaust the stack in the JSON library.
constexpr int kMaxManifestDepth = 64;

nlohmann::json parse_manifest(std::string_view text, const std::string& manifest_path) {
  try {
    return nlohmann::json::parse(text,
                                 [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
                                   if (depth > kMaxManifestDepth)
                                     fail("{}: not a valid manifest: JSON nested deeper than {} levels",
                                          manifest_path, kMaxManifestDepth);
                                   return true;
                                 });
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not a valid manifest: {}", manifest_path, e.what());
  }
}

bool is_hex(const std::string& s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// Checks the shape verify relies on before it touches any file, so a damaged or hand-made
// manifest is reported at the offending field instead of failing inside the JSON library,
// and no recorded path can send verify outside the run directory: outputs and relative
// inputs must stay inside it; only inputs (a run's raw sources) may be absolute.
void check_schema(const nlohmann::json& j, const std::string& mp) {
  if (!j.is_object() || j.value("format", nlohmann::json()) != "kormo-manifest")
    fail("{}: not a kormo manifest (format field)", mp);
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int64_t>() != 1)
    fail("{}: manifest version {} is not known (this kormo reads version 1)", mp,
         j.contains("version") ? j["version"].dump() : "(missing)");
  if (!j.contains("stages") || !j["stages"].is_array()) fail("{}: stages: expected an array", mp);
  const auto& stages = j["stages"];
  for (size_t i = 0; i < stages.size(); ++i) {
    const auto& s = stages[i];
    const std::string at = fmt::format("stages[{}]", i);
    if (!s.is_object()) fail("{}: {}: expected an object", mp, at);
    if (!s.contains("name") || !s["name"].is_string()) fail("{}: {}.name: expected a string", mp, at);
    for (const char* kind : {"inputs", "outputs"}) {
      if (!s.contains(kind) || !s[kind].is_array()) fail("{}: {}.{}: expected an array", mp, at, kind);
      for (size_t k = 0; k < s[kind].size(); ++k) {
        const auto& f = s[kind][k];
        const std::string fat = fmt::format("{}.{}[{}]", at, kind, k);
        if (!f.is_object()) fail("{}: {}: expected an object", mp, fat);
        if (!f.contains("path") || !f["path"].is_string() || f["path"].get<std::string>().empty())
          fail("{}: {}.path: expected a non-empty string", mp, fat);
        if (!f.contains("xxh3_128") || !f["xxh3_128"].is_string() || !is_hex(f["xxh3_128"].get<std::string>(), 32))
          fail("{}: {}.xxh3_128: expected 32 hex digits", mp, fat);
        if (f.contains("bytes") && !f["bytes"].is_number_unsigned())
          fail("{}: {}.bytes: expected a non-negative integer", mp, fat);
        const fs::path p(f["path"].get<std::string>());
        if (p.is_absolute() && std::string(kind) == "outputs")
          fail("{}: {}.path: '{}' is absolute; outputs must be inside the run directory", mp, fat, p.string());
        if (!p.is_absolute())
          for (const auto& part : p)
            if (part == "..") fail("{}: {}.path: '{}' leaves the run directory", mp, fat, p.string());
      }
    }
  }
}

// A manifest's stages must be those its run set out to do: a manifest with stages taken
// out would otherwise verify the files that remain and pass.
void check_stages(const nlohmann::json& j, const std::string& mp, const std::vector<std::string>& stage_order) {
  std::vector<std::string> names;
  for (const auto& s : j["stages"]) names.push_back(s["name"].get<std::string>());
  auto list = [](const std::vector<std::string>& v) { return v.empty() ? std::string("none") : fmt::format("{}", fmt::join(v, ", ")); };
  if (j.contains("plan")) {
    const auto& plan = j["plan"];
    if (!plan.is_array() || !std::all_of(plan.begin(), plan.end(), [](const auto& v) { return v.is_string(); }))
      fail("{}: plan: expected an array of stage names", mp);
    const auto planned = plan.get<std::vector<std::string>>();
    if (planned != names)
      fail("{}: the run planned stages [{}] but the manifest records [{}]", mp, list(planned), list(names));
  }
  if (stage_order.empty()) return;
  if (names.empty()) fail("{}: the manifest records no stages", mp);
  if (names.size() > stage_order.size() || !std::equal(names.begin(), names.end(), stage_order.begin()))
    fail("{}: stages [{}] are not the pipeline's stages in order ([{}], or the first of them for --until)", mp,
         list(names), list(stage_order));
}

}  // namespace

std::vector<VerifyProblem> verify_manifest(const std::string& manifest_path,
                                           const std::vector<std::string>& stage_order) {
  return verify_manifest_text(read_file(manifest_path), manifest_path, stage_order);
}

std::vector<VerifyProblem> verify_manifest_text(std::string_view text, const std::string& manifest_path,
                                                const std::vector<std::string>& stage_order) {
  const nlohmann::json j = parse_manifest(text, manifest_path);
  check_schema(j, manifest_path);
  check_stages(j, manifest_path, stage_order);
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
        // kormo records only regular files; reading a device or FIFO named here (/dev/zero)
        // would never end.
        if (!fs::is_regular_file(p, ec)) {
          problems.push_back({name, rel, "not a regular file"});
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
