#include "kormo/synth/teacher_run.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "kormo/synth/conversation.h"
#include "kormo/synth/diversity.h"
#include "kormo/synth/postfilter.h"
#include "kormo/synth/program.h"
#include "kormo/synth/teacher_client.h"
#include "kormo/util/error.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"
#include "kormo/util/log.h"
#include "kormo/util/progress.h"
#include "kormo/util/rng.h"
#include "kormo/util/signals.h"

namespace kormo::synth {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// What the shards hold: the last record per key ("ok" wins over "failed") and totals.
struct Ledger {
  std::unordered_map<std::string, nlohmann::json> ok, failed;
  int64_t requests = 0, tokens = 0;
  double cost = 0;
  int next_part = 0;
  size_t torn_lines = 0;
  std::map<std::string, uint64_t> errors;  // by reason, every attempt
};

Ledger read_ledger(const std::string& raw_dir) {
  Ledger L;
  if (!fs::exists(raw_dir)) return L;
  std::vector<std::string> parts;
  for (const auto& e : fs::directory_iterator(raw_dir)) {
    const std::string name = e.path().filename().string();
    int n = 0;
    if (std::sscanf(name.c_str(), "part-%d.jsonl", &n) == 1 && name == fmt::format("part-{:05d}.jsonl", n)) {
      parts.push_back(e.path().string());
      L.next_part = std::max(L.next_part, n + 1);
    }
  }
  std::sort(parts.begin(), parts.end());
  for (const auto& path : parts) {
    LineReader r(path);
    std::string_view line;
    std::string pending_bad;  // a bad line is only forgiven as the shard's last (a torn write)
    while (r.next(line)) {
      if (!pending_bad.empty()) fail("{}: not a finished record; only a shard's last line may be torn", pending_bad);
      const nlohmann::json j = parse_json_or_discarded(line);
      if (j.is_object() && j.contains("end")) continue;
      if (!j.is_object() || !j.contains("key") || !j["key"].is_string() || !j.contains("status") ||
          !j["status"].is_string()) {
        pending_bad = fmt::format("{}:{}", path, r.line_number());
        continue;
      }
      L.requests += j.value("attempts", int64_t{0});
      L.tokens += j.value("prompt_tokens", int64_t{0}) + j.value("completion_tokens", int64_t{0});
      L.cost += j.value("cost", 0.0);
      if (j.contains("errors") && j["errors"].is_object())
        for (const auto& [k, v] : j["errors"].items())
          if (v.is_number_unsigned()) L.errors[k] += v.get<uint64_t>();
      const std::string key = j["key"];
      if (j["status"] == "ok") {
        L.failed.erase(key);
        L.ok[key] = j;
      } else if (!L.ok.count(key)) {
        L.failed[key] = j;
      }
    }
    if (!pending_bad.empty()) {
      ++L.torn_lines;
      log_info("{}: ignoring a torn last line (a generator killed mid-write)", pending_bad);
    }
  }
  return L;
}

// An advisory lock on DIR/.lock for the whole invocation: two generators into one
// directory would ask for the same keys twice.
class DirLock {
 public:
  explicit DirLock(const std::string& dir) {
    const std::string path = dir + "/.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail_io("{}: cannot open: {}", path, std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      fail("{}: another `kormo synth run` is writing this directory", dir);
    }
  }
  ~DirLock() { ::close(fd_); }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

// Whole lines with O_APPEND and one write(2) each (looping only on a short write): a
// kill leaves at most the line being written torn, and read_ledger forgives that one.
class ShardWriter {
 public:
  explicit ShardWriter(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) fail_io("{}: cannot create: {}", path_, std::strerror(errno));
  }
  ~ShardWriter() { ::close(fd_); }
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;
  void append(std::string line) {
    line.push_back('\n');
    std::lock_guard<std::mutex> g(mu_);
    for (size_t off = 0; off < line.size();) {
      const ssize_t w = ::write(fd_, line.data() + off, line.size() - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) fail_io("{}: write failed: {}", path_, std::strerror(errno));
      off += static_cast<size_t>(w);
    }
  }
  void sync() {
    if (::fsync(fd_) != 0) fail_io("{}: fsync failed: {}", path_, std::strerror(errno));
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::mutex mu_;
};

// Shared by the workers: budgets, stop, counters for the progress line.
struct Shared {
  Shared(const Program& prog, const std::vector<PlanItem>& pl, ShardWriter& sh, const Ledger& L)
      : p(prog), plan(pl), shard(sh), requests(L.requests), tokens(L.tokens), cost(L.cost) {}
  const Program& p;
  const std::vector<PlanItem>& plan;
  ShardWriter& shard;
  std::mutex mu;
  std::condition_variable freed;
  int64_t requests, tokens, reserved = 0;  // requests and tokens include earlier invocations
  double cost;
  std::atomic<bool> stop{false}, budget_hit{false};
  const StopRequest* signal = nullptr;
  uint64_t sent = 0, answered = 0, errors = 0, new_tokens = 0;
  Progress* progress = nullptr;
  Clock::time_point start = Clock::now();

  bool stopping() const { return stop.load() || (signal && signal->signal() != 0); }

  // Takes one request and its worst-case tokens from the budgets, or says they are spent.
  // While requests are in flight a request that does not fit waits: their answers may
  // cost less than reserved.
  bool reserve(int64_t worst) {
    std::unique_lock<std::mutex> g(mu);
    const auto tokens_fit = [&] { return p.max_tokens == 0 || tokens + reserved + worst <= p.max_tokens; };
    freed.wait(g, [&] { return stopping() || tokens_fit() || reserved == 0; });
    if (stopping()) return false;
    if ((p.max_requests > 0 && requests >= p.max_requests) || !tokens_fit()) {
      budget_hit = true;
      stop = true;
      freed.notify_all();
      return false;
    }
    ++requests;
    ++sent;
    reserved += worst;
    return true;
  }
  void release(int64_t worst, int64_t used, double c, bool error) {
    std::lock_guard<std::mutex> g(mu);
    reserved -= worst;
    tokens += used;
    new_tokens += static_cast<uint64_t>(used);
    cost += c;
    errors += error;
    freed.notify_all();
  }
  void finished(bool ok) {
    std::lock_guard<std::mutex> g(mu);
    answered += ok;
    if (progress) progress->update(static_cast<double>(answered), line());
  }
  std::string line() const {
    const double s = std::max(1e-9, std::chrono::duration<double>(Clock::now() - start).count());
    return fmt::format("{:.1f} req/s, {:.0f} tok/s, {} errors, cost {:.4f}", static_cast<double>(sent) / s,
                       static_cast<double>(new_tokens) / s, errors, cost);
  }
};

// Sleeps in short slices so a stop is answered within 100 ms.
void sleep_unless_stopping(const Shared& s, double seconds) {
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (!s.stopping() && Clock::now() < until)
    std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(100)));
}

// Requests-per-second spacing for one teacher, shared by its workers.
struct RateLimit {
  std::mutex mu;
  Clock::time_point next = Clock::now();
  Clock::time_point slot(double rps) {
    std::lock_guard<std::mutex> g(mu);
    const auto t = std::max(next, Clock::now());
    next = t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rps));
    return t;
  }
};

struct TeacherQueue {
  std::vector<size_t> items;  // plan indexes, in plan order
  std::atomic<size_t> next{0};
  RateLimit rate;
};

double cost_of(const Teacher& t, int64_t prompt_tokens, int64_t completion_tokens) {
  return (static_cast<double>(prompt_tokens) * t.price_input + static_cast<double>(completion_tokens) * t.price_output) /
         1e6;
}

void worker(Shared& s, const Teacher& t, const std::string& api_key, TeacherQueue& q, uint64_t worker_seed) {
  ChatClient client(t, api_key);
  Rng jitter(worker_seed);
  while (!s.stopping()) {
    const size_t qi = q.next.fetch_add(1);
    if (qi >= q.items.size()) return;
    const PlanItem& it = s.plan[q.items[qi]];
    const nlohmann::json body = request_body(s.p, it);
    // Byte-level tokenizers make at most one token per byte: a safe bound for the prompt.
    const int64_t worst = static_cast<int64_t>(it.prompt.size()) + t.max_tokens();
    nlohmann::ordered_json errors = nlohmann::ordered_json::object();
    int attempts = 0;
    ChatReply r;
    std::string stopped_reason;
    while (true) {
      if (!s.reserve(worst)) {
        stopped_reason = s.budget_hit ? "budget" : "interrupted";
        break;
      }
      if (t.requests_per_second > 0) std::this_thread::sleep_until(q.rate.slot(t.requests_per_second));
      ++attempts;
      r = client.send(body);
      int64_t used = 0;
      double cost = 0;
      if (r.ok) {
        // A server that reports no usage is charged its bytes (an upper bound).
        if (r.prompt_tokens < 0) r.prompt_tokens = static_cast<int64_t>(it.prompt.size());
        if (r.completion_tokens < 0) r.completion_tokens = static_cast<int64_t>(r.content.size() + r.reasoning.size());
        used = r.prompt_tokens + r.completion_tokens;
        cost = cost_of(t, r.prompt_tokens, r.completion_tokens);
      }
      s.release(worst, used, cost, !r.ok);
      if (r.ok) break;
      errors[r.reason] = errors.value(r.reason, 0) + 1;
      log_debug("{} item {}: attempt {}: {}: {}", t.name, it.index, attempts, r.reason, r.detail);
      if (!r.retry || attempts >= t.max_attempts) break;
      sleep_unless_stopping(s, backoff_seconds(attempts, t.backoff_s, t.max_backoff_s, r.retry_after, jitter.uniform()));
      if (s.stopping()) {
        stopped_reason = "interrupted";
        break;
      }
    }
    if (attempts == 0) return;  // the budget was spent before this item cost anything
    nlohmann::ordered_json rec;
    rec["key"] = it.key;
    rec["item"] = it.index;
    rec["status"] = r.ok ? "ok" : "failed";
    rec["teacher"] = t.name;
    rec["model"] = r.model.empty() ? t.model : r.model;
    rec["attempts"] = attempts;
    rec["errors"] = errors;
    if (r.ok) {
      rec["content"] = r.content;
      if (!r.reasoning.empty()) rec["reasoning_content"] = r.reasoning;
      rec["finish_reason"] = r.finish_reason;
      rec["prompt_tokens"] = r.prompt_tokens;
      rec["completion_tokens"] = r.completion_tokens;
      rec["cost"] = cost_of(t, r.prompt_tokens, r.completion_tokens);
    } else {
      rec["reason"] = stopped_reason.empty() ? r.reason : stopped_reason;
      rec["detail"] = stopped_reason.empty() ? r.detail : "stopped after attempt " + std::to_string(attempts);
    }
    s.shard.append(rec.dump());
    s.finished(r.ok);
  }
}

// Sends every planned item without an "ok" record; returns the request statistics.
void ask_teachers(const Program& p, const std::vector<PlanItem>& plan, const Ledger& L, const std::string& dir,
                  TeacherRunResult& res) {
  std::vector<std::string> keys(p.teachers.size());
  for (size_t k = 0; k < p.teachers.size(); ++k) {
    const Teacher& t = p.teachers[k];
    if (t.api_key_env.empty()) continue;
    const char* v = std::getenv(t.api_key_env.c_str());
    if (!v || !*v) fail_usage("{} [teachers.{}]: the environment variable {} (api_key_env) is not set", p.path, t.name,
                              t.api_key_env);
    keys[k] = v;
  }
  std::vector<TeacherQueue> queues(p.teachers.size());
  size_t todo = 0;
  for (const auto& it : plan)
    if (!L.ok.count(it.key)) {
      queues[it.teacher].items.push_back(it.index);
      ++todo;
    }
  if (todo == 0) return;
  const std::string shard_path = fmt::format("{}/raw/part-{:05d}.jsonl", dir, L.next_part);
  ShardWriter shard(shard_path);
  Shared s(p, plan, shard, L);
  StopRequest stop;
  s.signal = &stop;
  Progress progress("synth " + p.name, static_cast<double>(todo), "items");
  s.progress = &progress;
  log_info("synth {}: {} of {} items to ask ({} teachers) -> {}", p.name, todo, plan.size(), p.teachers.size(),
           shard_path);
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors;
  std::mutex err_mu;
  for (size_t k = 0; k < p.teachers.size(); ++k) {
    const int n = std::min<int>(p.teachers[k].concurrency, static_cast<int>(queues[k].items.size()));
    for (int w = 0; w < n; ++w)
      threads.emplace_back([&, k, w] {
        try {
          worker(s, p.teachers[k], keys[k], queues[k], xxh3_64(p.teachers[k].name, static_cast<uint64_t>(w)));
        } catch (...) {
          std::lock_guard<std::mutex> g(err_mu);
          errors.push_back(std::current_exception());
          s.stop = true;
        }
      });
  }
  for (auto& th : threads) th.join();
  if (!errors.empty()) std::rethrow_exception(errors.front());
  const double wall = std::chrono::duration<double>(Clock::now() - s.start).count();
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  // What bench/synth reads: the client's own CPU against the time spent asking.
  log_info("synth {}: {} requests in {:.3f} s ({:.0f} req/s), process CPU {:.3f} s", p.name, s.sent, wall,
           static_cast<double>(s.sent) / std::max(wall, 1e-9), cpu);
  nlohmann::ordered_json end = {{"end", true}, {"requests", s.sent}, {"answered", s.answered}};
  shard.append(end.dump());
  shard.sync();
  progress.finish(s.line());
  res.budget_exhausted = s.budget_hit.load();
  res.stopped = stop.signal() != 0;
  if (res.stopped) stop.handled();
}

std::string provenance_where(const PlanItem& it) { return fmt::format("item {} key {}", it.index, it.key); }

// Rebuilds synth.jsonl, rejects.jsonl, summary.json and diversity.json from the shards.
void write_outputs(const Program& p, const std::vector<PlanItem>& plan, const Ledger& L, const std::string& dir,
                   TeacherRunResult& res) {
  OutputFilter filter(p.filters, p.language);
  data::Counts& c = res.counts;
  c["planned"] = plan.size();
  struct Cand {
    const PlanItem* it;
    const nlohmann::json* rec;
    std::string rule;
  };
  std::vector<Cand> cands;
  for (const auto& it : plan) {
    auto ok = L.ok.find(it.key);
    if (ok == L.ok.end()) {
      // An item stopped by a signal or the budget did not fail: it waits for a rerun.
      const auto f = L.failed.find(it.key);
      const std::string why = f == L.failed.end() ? "" : f->second.value("reason", "");
      ++c[f == L.failed.end() || why == "interrupted" || why == "budget" ? "pending" : "failed"];
      continue;
    }
    ++c["answered"];
    cands.push_back({&it, &ok->second, filter.check(ok->second.value("content", ""), ok->second.value("finish_reason", ""))});
  }
  if (p.filters.dedup) {
    std::vector<std::string_view> seeds, outs;
    std::vector<size_t> idx;
    for (const auto& s : p.seeds) seeds.push_back(s.text);
    for (size_t k = 0; k < cands.size(); ++k)
      if (cands[k].rule.empty()) {
        outs.push_back((*cands[k].rec)["content"].get_ref<const std::string&>());
        idx.push_back(k);
      }
    const auto rules = dedup_outputs(seeds, outs, p.filters.near_threshold);
    for (size_t k = 0; k < idx.size(); ++k) cands[idx[k]].rule = rules[k];
  }

  AtomicWriter out(dir + "/synth.jsonl"), rejects(dir + "/rejects.jsonl");
  std::vector<DiversityInput> all;
  std::map<std::string, std::vector<DiversityInput>> by_teacher;
  for (const auto& cd : cands) {
    const PlanItem& it = *cd.it;
    const nlohmann::json& rec = *cd.rec;
    const std::string& content = rec["content"].get_ref<const std::string&>();
    const std::string teacher = rec.value("teacher", "");
    const nlohmann::json meta = {{"program", p.name},         {"template", it.template_id},
                                 {"task", it.task},           {"teacher", teacher},
                                 {"model", rec.value("model", "")}, {"persona", it.persona},
                                 {"style", it.style},         {"audience", it.audience},
                                 {"length", it.length},       {"seed_id", p.seeds[it.seed].id},
                                 {"key", it.key},             {"item", it.index}};
    data::Document d;
    d.id = p.name + "/" + it.key;
    d.text = content;
    d.lang = p.language;
    d.source = p.name;
    d.synthetic = true;
    d.meta = meta;
    if (!cd.rule.empty()) {
      ++c[cd.rule];
      rejects.write_line(data::reject_record(cd.rule, provenance_where(it), d));
      continue;
    }
    ++c["kept"];
    if (p.format == "document") {
      out.write_line(data::to_json_line(d));
    } else {
      Conversation conv = question_answer(it.prompt, content, rec.value("reasoning_content", ""));
      conv.lang = p.language;
      conv.source = p.name;
      conv.meta = meta;
      out.write_line(to_json_line(conv));
    }
    const DiversityInput di{content, p.seeds[it.seed].id, it.persona};
    all.push_back(di);
    by_teacher[teacher].push_back(di);
  }
  out.commit();
  rejects.commit();

  nlohmann::ordered_json div;
  div["all"] = diversity_stats(all);
  div["teachers"] = nlohmann::ordered_json::object();
  for (const auto& [name, v] : by_teacher) div["teachers"][name] = diversity_stats(v);
  for (const auto& w : div["all"]["warnings"]) log_warn("synth {}: {}", p.name, w.get<std::string>());
  for (const auto& [name, v] : div["teachers"].items())
    for (const auto& w : v["warnings"]) log_warn("synth {} teacher {}: {}", p.name, name, w.get<std::string>());
  write_file_atomic(dir + "/diversity.json", div.dump(2) + "\n");

  res.planned = plan.size();
  res.done = c["answered"];
  res.failed = c["failed"];
  res.pending = c["pending"];
  nlohmann::ordered_json summary;
  summary["program"] = p.name;
  summary["config"] = p.path;
  summary["output"] = dir + "/synth.jsonl";
  summary["format"] = p.format;
  summary["seeds"] = p.seeds.size();
  summary["seed_files"] = p.seed_files;
  summary["complete"] = res.done == res.planned;
  summary["counts"] = data::counts_to_json(c);
  summary["requests"] = L.requests;
  summary["tokens"] = L.tokens;
  summary["cost"] = L.cost;
  summary["errors"] = L.errors;
  summary["torn_lines"] = L.torn_lines;
  summary["budget"] = {{"max_requests", p.max_requests}, {"max_tokens", p.max_tokens},
                       {"exhausted", res.budget_exhausted}};
  write_file_atomic(dir + "/summary.json", summary.dump(2) + "\n");
}

}  // namespace

TeacherRunResult run_teacher_program(const TeacherRunOptions& opt) {
  Program p = load_program(opt.config);
  if (!opt.output.empty()) p.output = opt.output;
  const std::vector<PlanItem> plan = make_plan(p);
  make_dirs(p.output + "/raw");
  DirLock lock(p.output);
  TeacherRunResult res;
  if (opt.requests) ask_teachers(p, plan, read_ledger(p.output + "/raw"), p.output, res);
  const Ledger L = read_ledger(p.output + "/raw");
  write_outputs(p, plan, L, p.output, res);
  log_info("synth {}: {} planned, {} answered, {} kept, {} failed, {} pending; {} requests, {} tokens, cost {:.4f}",
           p.name, res.planned, res.done, res.counts["kept"], res.failed, res.pending, L.requests, L.tokens, L.cost);
  return res;
}

}  // namespace kormo::synth
