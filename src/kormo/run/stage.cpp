#include "kormo/run/stage.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <sstream>

#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"

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

// The key a finished stage left in its marker, or "" if it has not finished.
std::string finished_key(const fs::path& marker) { return fs::exists(marker) ? read_file(marker.string()) : ""; }

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
  make_dirs(ctx.path("config"));
  make_dirs(ctx.path(".stages"));
  Manifest manifest(base);
  manifest.set_config(toml_to_json(ctx.config), ctx.source);
  for (size_t i = 0; i < stages.size(); ++i) {
    const Stage& s = stages[i];
    const std::string label = fmt::format("run: [{}/{}] {}", i + 1, stages.size(), s.name);
    const std::string config = s.resolve ? s.resolve(ctx) : "";
    std::vector<FileRecord> inputs;
    if (s.inputs)
      for (const std::string& p : s.inputs(ctx))
        for (FileRecord& f : hash_path(ctx.path(p), base)) inputs.push_back(std::move(f));
    const std::string key = stage_key(config, inputs);
    const fs::path marker = ctx.dir / ".stages" / (s.name + ".done");
    const std::string done = finished_key(marker);
    if (!done.empty() && done != key)
      fail("{}: stage '{}' was completed under a different configuration or input; use a new --out directory "
           "(or delete {} to redo it)", base, s.name, marker.string());

    // Only now is anything written: a refused run changes nothing.
    StageRecord rec{s.name, {}, {}, 0, 0, {}};
    std::string config_path;
    if (!config.empty()) {
      config_path = ctx.path("config/" + s.name + ".toml");
      write_file_atomic(config_path, config);
      rec.inputs = hash_path(config_path, base);
    }
    if (done.empty()) {
      log_info("{} — {}", label, s.doing);
      auto t0 = std::chrono::steady_clock::now();
      rec.summary = s.run(ctx, config_path);
      rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } else {
      log_info("{} — reusing its outputs", label);
    }
    if (s.summarize) s.summarize(ctx, rec.summary);
    rec.inputs.insert(rec.inputs.end(), inputs.begin(), inputs.end());
    for (const std::string& p : s.outputs(ctx))
      for (FileRecord& f : hash_path(ctx.path(p), base)) rec.outputs.push_back(std::move(f));
    write_file_atomic(marker.string(), key);
    manifest.add_stage(std::move(rec));
    manifest.save("manifest.partial.json");
    if (s.name == until) break;
  }
  manifest.save("manifest.json");
  fs::remove(ctx.path("manifest.partial.json"));
  log_info("run: done — {}/manifest.json (check with `kormo verify {}`)", base, base);
}

}  // namespace kormo::run
