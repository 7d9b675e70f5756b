#include "kormo/run/stage.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <optional>
#include <sstream>

#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"
#include "kormo/util/log.h"
#include "kormo/util/profile.h"

namespace fs = std::filesystem;

namespace kormo::run {
namespace {

nlohmann::json toml_to_json(const toml::table& t) {
  std::ostringstream ss;
  ss << toml::json_formatter{t};
  return nlohmann::json::parse(ss.str());
}

void check_plan(const std::vector<Stage>& stages, const RunContext& ctx, const std::string& until) {
  std::string names;
  bool until_found = until.empty();
  ConfigSection top(&ctx.config, ctx.source);
  for (const Stage& s : stages) {
    names += (names.empty() ? "" : ", ") + s.name;
    until_found |= s.name == until;
    for (const std::string& sec : s.sections) top.section(sec);
  }
  if (!until_found) fail("--until: expected one of {}; got '{}'", names, until);
  top.check_unused();
}

// What a finished stage leaves in RUN/.stages/<name>.done: the key it ran under, its
// summary and seconds (so a reused stage keeps its figures in the manifest), and its
// outputs as written (so a deleted or altered output redoes the stage rather than being
// recorded as if it were the stage's work). Markers of earlier versions hold the key alone.
struct Marker {
  std::string key;  // "" = the stage has not finished
  nlohmann::json summary;
  double seconds = 0;
  double peak_rss_bytes = 0;
  std::optional<std::vector<FileRecord>> outputs;
};

Marker read_marker(const fs::path& path) {
  Marker m;
  if (!fs::exists(path)) return m;
  const std::string text = read_file(path.string());
  if (text.empty() || text.front() != '{') {
    m.key = text;
    return m;
  }
  const nlohmann::json j = parse_json_or_discarded(text);
  auto str = [&](const char* k) { return j.contains(k) && j[k].is_string(); };
  if (j.is_discarded() || !j.is_object() || !str("key") || !j.contains("outputs") || !j["outputs"].is_array()) {
    // Markers are written atomically, so this is a hand-edited file: redoing the stage is safe.
    log_warn("{}: not a stage marker kormo wrote; the stage will be redone", path.string());
    return m;
  }
  m.key = j["key"].get<std::string>();
  m.summary = j.value("summary", nlohmann::json::object());
  m.seconds = j.value("seconds", 0.0);
  m.peak_rss_bytes = j.value("peak_rss_bytes", 0.0);
  m.outputs.emplace();
  for (const auto& f : j["outputs"]) {
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("xxh3_128") ||
        !f["xxh3_128"].is_string()) {
      log_warn("{}: not a stage marker kormo wrote; the stage will be redone", path.string());
      return {};
    }
    m.outputs->push_back({f["path"].get<std::string>(), f["xxh3_128"].get<std::string>(), 0});
  }
  return m;
}

void write_marker(const fs::path& path, const std::string& key, const StageRecord& rec) {
  nlohmann::json j{
      {"key", key}, {"summary", rec.summary}, {"seconds", rec.seconds}, {"outputs", files_json(rec.outputs)}};
  if (rec.peak_rss_bytes > 0) j["peak_rss_bytes"] = rec.peak_rss_bytes;
  write_file_atomic(path.string(), j.dump() + "\n");
}

// Hashes the stage's outputs as they are now into `now`; returns why they cannot stand
// for its finished work ("" if they can): an output that is gone, or (for markers that
// recorded them) files that differ from what the stage wrote.
std::string outputs_now(const Stage& s, const RunContext& ctx, const Marker& m, std::vector<FileRecord>& now) {
  for (const std::string& p : s.outputs(ctx)) {
    if (p.empty() || !fs::exists(ctx.path(p))) return fmt::format("its output {} is missing", p.empty() ? "(none)" : p);
    for (FileRecord& f : hash_path(ctx.path(p), ctx.dir.string())) now.push_back(std::move(f));
  }
  if (!m.outputs) return "";
  const std::vector<FileRecord>& had = *m.outputs;
  for (size_t i = 0; i < std::max(had.size(), now.size()); ++i) {
    if (i >= now.size()) return fmt::format("its output {} is missing", had[i].path);
    if (i >= had.size() || now[i].path != had[i].path) return fmt::format("its output {} was not written by it", now[i].path);
    if (now[i].xxh3 != had[i].xxh3) return fmt::format("its output {} changed", now[i].path);
  }
  return "";
}

// Stages run with the run directory as their working directory, so the run-relative
// paths in their configs name this run's files wherever the directory has moved.
class InDirectory {
 public:
  explicit InDirectory(const fs::path& dir) : old_(fs::current_path()) { fs::current_path(dir); }
  ~InDirectory() {
    std::error_code ec;
    fs::current_path(old_, ec);
  }
  InDirectory(const InDirectory&) = delete;
  InDirectory& operator=(const InDirectory&) = delete;

 private:
  fs::path old_;
};

// An advisory flock on RUN/.lock for the whole run: two runs into one directory would
// interleave their stages' files. The kernel drops the lock when the process ends in any
// way (kill -9 included), so a stale lock file never blocks a rerun; its text (pid, start
// time) only names the holder for the refusal message.
class RunLock {
 public:
  explicit RunLock(const fs::path& dir) {
    const std::string path = (dir / ".lock").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("{}: cannot open the run lock: {}", path, std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd_);
      if (err != EWOULDBLOCK) fail("{}: cannot lock the run directory: {}", path, std::strerror(err));
      std::string holder = read_file(path);
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      for (char& ch : holder)
        if (ch == '\n') ch = ',';
      fail("{}: another kormo run is using this run directory ({}); wait for it to finish or use another --out",
           dir.string(), holder.empty() ? "holder unknown" : holder);
    }
    std::time_t now = std::time(nullptr);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    const std::string text = fmt::format("pid {} started {}\n", ::getpid(), when);
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
      fail("{}: cannot write the run lock: {}", path, std::strerror(errno));
  }
  ~RunLock() { ::close(fd_); }
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

std::string RunContext::path(const std::string& p) const { return (dir / p).string(); }

std::string stage_key(const std::string& config, const std::vector<FileRecord>& inputs) {
  std::string material = config;
  for (const FileRecord& f : inputs) material += f.xxh3;
  return xxh3_128_hex(material);
}

void run_stages(const std::vector<Stage>& stages, const RunContext& ctx, const std::string& until) {
  check_plan(stages, ctx, until);
  const std::string base = ctx.dir.string();
  make_dirs(base);
  const RunLock lock(ctx.dir);
  // With the lock held no other run writes here: what temporaries there are, killed writers left.
  if (const TempCleanup c = remove_stale_temporaries(base); c.entries)
    log_info("run: removed {} temporary file(s) of a stopped run ({:.1f} MB)", c.entries, c.bytes / 1e6);
  make_dirs(ctx.path("config"));
  make_dirs(ctx.path(".stages"));
  Manifest manifest(base);
  manifest.set_config(toml_to_json(ctx.config), ctx.source);
  std::vector<std::string> plan;
  for (const Stage& s : stages) {
    plan.push_back(s.name);
    if (s.name == until) break;
  }
  manifest.set_plan(plan);
  for (size_t i = 0; i < plan.size(); ++i) {
    const Stage& s = stages[i];
    const std::string label = fmt::format("run: [{}/{}] {}", i + 1, stages.size(), s.name);
    const std::string config = s.resolve ? s.resolve(ctx) : "";
    std::vector<FileRecord> inputs;
    if (s.inputs)
      for (const std::string& p : s.inputs(ctx))
        for (FileRecord& f : hash_path(ctx.path(p), base)) inputs.push_back(std::move(f));
    const std::string key = stage_key(config, inputs);
    const fs::path marker_path = ctx.dir / ".stages" / (s.name + ".done");
    Marker marker = read_marker(marker_path);
    if (!marker.key.empty() && marker.key != key) {
      // The marker goes first: a rerun killed while removing or working then resumes under
      // the new key instead of removing again.
      log_info("run: stage '{}' — its config or inputs changed since it ran; removing its previous outputs and "
               "rerunning it", s.name);
      const std::vector<std::string> old = s.state ? s.state(ctx) : s.outputs(ctx);
      fs::remove(marker_path);
      for (const std::string& p : old)
        if (!p.empty()) fs::remove_all(ctx.path(p));
      marker = Marker{};
    }

    StageRecord rec{s.name, {}, {}, 0, 0, {}, 0};
    std::string config_path;
    if (!config.empty()) {
      config_path = ctx.path("config/" + s.name + ".toml");
      write_file_atomic(config_path, config);
      rec.inputs = hash_path(config_path, base);
    }
    std::string redo_because;
    if (!marker.key.empty()) redo_because = outputs_now(s, ctx, marker, rec.outputs);
    if (marker.key.empty() || !redo_because.empty()) {
      if (!redo_because.empty()) log_warn("run: stage '{}' finished earlier but {}; redoing it", s.name, redo_because);
      log_info("{} — {}", label, s.doing);
      auto t0 = std::chrono::steady_clock::now();
      // Each stage's own peak: without the reset (a kernel that refuses it) the figure is
      // the process's peak so far, an upper bound.
      reset_peak_resident_bytes();
      {
        const InDirectory in_run(ctx.dir);
        rec.summary = s.run(ctx, config_path);
      }
      rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rec.peak_rss_bytes = peak_resident_bytes();
      rec.outputs.clear();
      for (const std::string& p : s.outputs(ctx))
        for (FileRecord& f : hash_path(ctx.path(p), base)) rec.outputs.push_back(std::move(f));
    } else {
      log_info("{} — reusing its outputs", label);
      rec.summary = marker.summary;
      rec.seconds = marker.seconds;
      rec.peak_rss_bytes = marker.peak_rss_bytes;
    }
    if (s.summarize) s.summarize(ctx, rec.summary);
    rec.inputs.insert(rec.inputs.end(), inputs.begin(), inputs.end());
    write_marker(marker_path, key, rec);
    manifest.add_stage(std::move(rec));
    manifest.save("manifest.partial.json");
  }
  manifest.save("manifest.json");
  fs::remove(ctx.path("manifest.partial.json"));
  log_info("run: done — {}/manifest.json (check with `kormo verify {}`)", base, base);
}

}  // namespace kormo::run
