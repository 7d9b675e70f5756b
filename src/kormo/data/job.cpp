#include "kormo/data/job.h"

#include <omp.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"
#include "kormo/util/parallel.h"
#include "kormo/util/progress.h"
#include "kormo/util/json.h"

namespace kormo::data {

namespace fs = std::filesystem;
using nlohmann::json;

Launch launch_from_env() {
  auto get = [](std::initializer_list<const char*> names) -> int {
    for (const char* n : names)
      if (const char* v = std::getenv(n); v && *v) return std::atoi(v);
    return -1;
  };
  Launch l;
  int rank = get({"KORMO_RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"});
  int world = get({"KORMO_WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE"});
  if (rank >= 0 && world > 0) {
    if (rank >= world) fail("launcher says rank {} of {} processes", rank, world);
    l.rank = rank;
    l.world = world;
  }
  return l;
}

std::string default_rejects_path(const std::string& output) {
  std::string base = output;
  std::string zst;
  if (base.size() > 4 && base.ends_with(".zst")) base.resize(base.size() - 4), zst = ".zst";
  if (base.ends_with(".jsonl")) base.resize(base.size() - 6);
  return base + ".rejects.jsonl" + zst;
}

void check_output_path(const std::string& path, const std::vector<std::string>& inputs) {
  check_output_not_input(path, inputs);
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (!ec && fs::exists(st) && !fs::is_regular_file(st))
    fail("{}: output exists and is not a regular file (outputs are replaced by rename)", path);
}

json inputs_fingerprint(const std::vector<std::string>& files) {
  json j = json::array();
  for (const auto& f : files) {
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0) fail_io("{}: cannot stat input: {}", f, std::strerror(errno));
    j.push_back({f, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)});
  }
  return j;
}

LineFn document_line_fn(const StageConfig& cfg, const std::string& text_field) {
  return [&cfg, text_field](std::string_view line, const std::string& where, StageOutput& out) {
    Document doc;
    std::string rule, why;
    if (!parse_document(line, doc, rule, why, text_field)) {
      ++out.counts["input.lines"];
      ++out.counts["removed." + rule];
      out.rejects += bad_input_record(rule, where, why, line);
      out.rejects += '\n';
      return;
    }
    ++out.counts["input.lines"];
    process_document(cfg, doc, where, out);
  };
}

namespace {

struct Shard {
  size_t index = 0;
  std::vector<std::string> lines;
  std::vector<std::string> where;
};

std::string shard_path(const std::string& dir, size_t i, const char* ext) {
  return fmt::format("{}/shard-{:06d}.{}", dir, i, ext);
}

void run_shard(const Shard& s, const std::string& dir, const LineFn& fn) {
  StageOutput out;
  for (size_t i = 0; i < s.lines.size(); ++i) fn(s.lines[i], s.where[i], out);
  AtomicWriter kept(shard_path(dir, s.index, "kept.jsonl"), 1);
  kept.write(out.kept);
  kept.commit();
  AtomicWriter rej(shard_path(dir, s.index, "rejects.jsonl"), 1);
  rej.write(out.rejects);
  rej.commit();
  // The marker is written last: its presence means the shard's files are whole.
  write_file_atomic(shard_path(dir, s.index, "done"), counts_to_json(out.counts).dump());
}

void append_file(AtomicWriter& w, const std::string& path) {
  LineReader r(path);
  std::string_view line;
  while (r.next(line)) w.write_line(line);
}

}  // namespace

JobReport run_sharded_job(const JobOptions& opt, const LineFn& fn, Launch launch) {
  if (opt.inputs.empty()) fail("no input files");
  if (opt.output.empty()) fail("no output path (-o)");
  std::string dir = opt.work_dir.empty() ? opt.output + ".work" : opt.work_dir;
  std::string rejects_path = opt.rejects.empty() ? default_rejects_path(opt.output) : opt.rejects;
  check_output_path(opt.output, opt.inputs);
  check_output_path(rejects_path, opt.inputs);
  make_dirs(dir);
  if (launch.world == 1)
    if (const TempCleanup c = remove_stale_temporaries(dir); c.entries)
      log_info("{}: removed {} temporary file(s) of a stopped job", dir, c.entries);
  json job = {{"version", 1}, {"shard_docs", opt.shard_docs}, {"stages", opt.fingerprint},
              {"inputs", inputs_fingerprint(opt.inputs)}};
  std::string job_path = dir + "/job.json";
  if (fs::exists(job_path)) {
    json old = parse_json_or_discarded(read_file(job_path));
    if (old != job)
      fail("work directory {} belongs to a different job (inputs or settings changed); delete it or pass "
           "another --work-dir",
           dir);
  } else if (launch.rank == 0) {
    write_file_atomic(job_path, job.dump(1));
  }

  JobReport rep;
  int threads = std::max(1, omp_get_max_threads());
  size_t max_pending = static_cast<size_t>(threads) * 2;
  std::vector<Shard> pending;
  Counts input_counts;
  std::string input_rejects;
  size_t shard_index = 0;
  Shard cur;
  double total_bytes = 0;
  for (const auto& f : opt.inputs) {
    struct stat st {};
    if (::stat(f.c_str(), &st) == 0) total_bytes += double(st.st_size);
  }
  Progress progress("data", total_bytes / 1e6, "MB");
  double done_bytes = 0;

  auto flush_pending = [&] {
    FirstError err;
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t i = 0; i < pending.size(); ++i) err.run([&] { run_shard(pending[i], dir, fn); });
    err.rethrow();
    pending.clear();
  };
  // Lines of shards owned by other ranks (or finished before) are only counted.
  size_t in_shard = 0;
  bool run_cur = false;
  auto is_mine = [&](size_t i) { return i % static_cast<size_t>(launch.world) == static_cast<size_t>(launch.rank); };
  auto end_shard = [&] {
    if (run_cur) {
      cur.index = shard_index;
      pending.push_back(std::move(cur));
      if (pending.size() >= max_pending) flush_pending();
    } else if (is_mine(shard_index)) {
      ++rep.shards_done_before;
    }
    ++shard_index;
    in_shard = 0;
    cur = Shard{};
  };
  for (const auto& f : opt.inputs) {
    LineReader reader(f);
    std::string_view line;
    bool any = false;
    while (reader.next(line)) {
      any = true;
      if (in_shard == 0) run_cur = is_mine(shard_index) && !fs::exists(shard_path(dir, shard_index, "done"));
      if (run_cur) {
        cur.lines.emplace_back(line);
        cur.where.push_back(fmt::format("{}:{}", f, reader.line_number()));
      }
      if (++in_shard == opt.shard_docs) end_shard();
      if ((reader.line_number() & 4095) == 0) progress.update((done_bytes + double(reader.file_bytes_read())) / 1e6);
    }
    done_bytes += double(reader.file_bytes_read());
    if (!any) {
      log_warn("{}: empty input file", f);
      ++input_counts["removed.bad_input.empty_file"];
      input_rejects += bad_input_record("bad_input.empty_file", f + ":0", "empty input file", "");
      input_rejects += '\n';
    }
  }
  if (in_shard > 0) end_shard();
  flush_pending();
  rep.shards = shard_index;
  progress.update(done_bytes / 1e6);
  progress.finish(fmt::format("{} shards ({} done before)", rep.shards, rep.shards_done_before));
  if (launch.rank != 0) return rep;

  // Barrier on marker files, then merge in shard order.
  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < rep.shards; ++i) {
    while (!fs::exists(shard_path(dir, i, "done"))) {
      double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (opt.wait_timeout_s > 0 && waited > opt.wait_timeout_s)
        fail("timed out after {:.0f} s waiting for {} (another process failed?)", waited,
             shard_path(dir, i, "done"));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  make_dirs(fs::path(opt.output).parent_path().empty() ? "." : fs::path(opt.output).parent_path().string());
  AtomicWriter out(opt.output);
  AtomicWriter rej(rejects_path);
  rej.write(input_rejects);
  rep.counts = input_counts;
  for (size_t i = 0; i < rep.shards; ++i) {
    append_file(out, shard_path(dir, i, "kept.jsonl"));
    append_file(rej, shard_path(dir, i, "rejects.jsonl"));
    json c = parse_json_or_discarded(read_file(shard_path(dir, i, "done")));
    if (c.is_discarded()) fail("{}: corrupt shard marker; delete it to redo the shard", shard_path(dir, i, "done"));
    add_counts(rep.counts, counts_from_json(c));
  }
  out.commit();
  rej.commit();
  write_file_atomic(dir + "/summary.json", counts_to_json(rep.counts).dump(1));
  rep.merged = true;
  rep.output = opt.output;
  rep.rejects = rejects_path;
  return rep;
}

}  // namespace kormo::data
