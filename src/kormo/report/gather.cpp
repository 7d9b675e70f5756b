#include <algorithm>
#include <cmath>
#include <filesystem>

#include "kormo/data/job.h"
#include "kormo/data/mix.h"
#include "kormo/infer/generator.h"
#include "kormo/model/checkpoint.h"
#include "kormo/report/facts.h"
#include "kormo/text/utf8.h"
#include "kormo/tok/stats.h"
#include "kormo/tok/tokenizer.h"
#include "kormo/train/checkpoint.h"
#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"
#include "kormo/util/log.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace kormo::report {
namespace {

// Where the run's stages leave their files (docs/FORMATS.md, docs/report.md § Inputs).
constexpr const char* kCurated = "data/curated.jsonl.zst";
constexpr const char* kTokenizer = "tokenizer/tokenizer.json";
constexpr const char* kPretrainDir = "pretrain";
constexpr const char* kSftDir = "sft";
constexpr const char* kEvalDir = "eval";

// Sample prompts: short openings the Debian documents of the default run continue.
const std::vector<std::pair<std::string, std::string>> kPrompts = {
    {"ko", "데비안은"},
    {"en", "Debian is"},
};

// The start of a text, cut at a character boundary, invalid bytes replaced.
std::string excerpt(std::string_view s, size_t max_bytes) {
  std::string clean = text::replace_invalid_utf8(s.substr(0, std::min(s.size(), max_bytes + 4)));
  if (clean.size() <= max_bytes) return clean;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(clean[cut]) & 0xC0) == 0x80) --cut;
  return clean.substr(0, cut) + "…";
}

void read_manifest(RunFacts& f, const fs::path& dir) {
  for (const char* name : {"manifest.json", "manifest.partial.json"}) {
    const fs::path p = dir / name;
    if (!fs::exists(p)) continue;
    const json m = parse_json_or_discarded(read_file(p.string()));
    if (m.is_discarded() || !m.is_object()) fail("{}: not a JSON object (expected a kormo manifest)", p.string());
    f.manifest = name;
    f.program = m.value("program", json::object());
    f.config = m.value("config", json::object());
    f.config_source = m.contains("config_source") && m["config_source"].is_string() ? m["config_source"].get<std::string>() : "";
    f.written_at = m.contains("written_at") && m["written_at"].is_string() ? m["written_at"].get<std::string>() : "";
    if (!m.contains("stages") || !m["stages"].is_array()) fail("{}: expected a \"stages\" array", p.string());
    for (const json& s : m["stages"]) {
      if (!s.is_object() || !s.contains("name") || !s["name"].is_string())
        fail("{}: expected each stage to be an object with a \"name\"", p.string());
      StageFacts st;
      st.name = s["name"].get<std::string>();
      if (s.contains("seconds") && s["seconds"].is_number()) st.seconds = s["seconds"].get<double>();
      if (s.contains("peak_rss_bytes") && s["peak_rss_bytes"].is_number()) st.peak_rss_bytes = s["peak_rss_bytes"].get<double>();
      st.summary = s.value("summary", json::object());
      st.inputs = s.value("inputs", json::array());
      st.outputs = s.value("outputs", json::array());
      f.stages.push_back(std::move(st));
    }
    return;
  }
}

void gather_data(DataFacts& d, const fs::path& dir, const GatherOptions& opt) {
  if (!fs::exists(dir / kCurated)) return;
  d.present = true;
  d.curated = kCurated;
  std::string rejects = data::default_rejects_path(kCurated);
  // A run config may name its own rejects file; the stage's resolved config says which.
  if (const fs::path cfg = dir / "config/data.toml"; fs::exists(cfg)) {
    const toml::table t = load_toml(cfg.string());
    if (auto r = t["pipeline"]["rejects"].value<std::string>()) rejects = *r;
  }
  std::vector<std::string> rejects_files;
  if (fs::exists(dir / rejects)) {
    d.rejects = rejects;
    rejects_files.push_back((dir / rejects).string());
  }
  d.stats = data::corpus_stats({(dir / kCurated).string()}, rejects_files);
  for (const auto& [rule, n] : d.stats["rejects"].items()) {
    const uint64_t count = n.get<uint64_t>();
    if (rule.starts_with("removed.dedup.exact")) d.dedup_exact += count;
    else if (rule.starts_with("removed.dedup.near")) d.dedup_near += count;
    else if (rule.starts_with("removed.decontam.") || rule.starts_with("altered.decontam.")) d.decontam += count;
  }
  if (rejects_files.empty()) return;
  // corpus_stats has checked every line, so the records here are well formed.
  std::map<std::string, size_t> shown;
  LineReader r(rejects_files.front());
  std::string_view line;
  while (r.next(line)) {
    const json j = parse_json_or_discarded(line);
    if (!j.is_object() || j.value("action", "removed") != "removed") continue;
    const std::string rule = "removed." + j.value("rule", std::string());
    if (shown[rule] >= opt.examples_per_rule) continue;
    std::string text;
    if (j.contains("doc") && j["doc"].is_object() && j["doc"].contains("text") && j["doc"]["text"].is_string())
      text = j["doc"]["text"].get<std::string>();
    else if (j.contains("raw") && j["raw"].is_string())
      text = j["raw"].get<std::string>();
    ++shown[rule];
    d.examples.push_back({rule, j.value("where", std::string()), excerpt(text, 240)});
  }
}

void gather_tokenizer(TokenizerFacts& t, const fs::path& dir, const GatherOptions& opt) {
  if (!fs::exists(dir / kTokenizer)) return;
  const tok::Tokenizer tokenizer = tok::Tokenizer::load((dir / kTokenizer).string());
  t.present = true;
  t.vocab_size = tokenizer.vocab_size();
  if (!fs::exists(dir / kCurated)) return;
  tok::StatsOptions so;
  so.max_input_bytes = opt.tokenizer_sample_bytes;
  const tok::TokenizerStats s = tok::compute_stats(tokenizer, {(dir / kCurated).string()}, so);
  for (const tok::LanguageFit& l : s.languages) {
    t.languages.push_back({l.lang, l.documents, l.bytes, l.tokens, l.bytes_per_token()});
    if (l.lang == "all") t.sample_bytes = l.bytes;
  }
}

// lm-evaluation-harness results: "<metric>,none" per task. Chance is 1/k for a task whose
// choices are fixed in its config (doc_to_choice a list of k), or the task's own "chance"
// when a results file carries one; per-document choices leave it unknown.
void gather_eval(EvalFacts& e, const fs::path& dir) {
  if (!fs::is_directory(dir / kEvalDir)) return;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir / kEvalDir))
    if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& p : files) {
    const json j = parse_json_or_discarded(read_file(p.string()));
    if (j.is_discarded() || !j.is_object() || !j.contains("results") || !j["results"].is_object()) {
      log_warn("{}: not an evaluation results file (expected an object with \"results\"); left out of the report",
               p.string());
      continue;
    }
    e.present = true;
    e.files.push_back(fs::relative(p, dir).string());
    for (const auto& [task, res] : j["results"].items()) {
      if (!res.is_object()) continue;
      double chance = std::nan("");
      if (res.contains("chance") && res["chance"].is_number()) {
        chance = res["chance"].get<double>();
      } else if (j.contains("configs") && j["configs"].contains(task) && j["configs"][task].is_object()) {
        const json& choices = j["configs"][task].value("doc_to_choice", json());
        if (choices.is_array() && !choices.empty()) chance = 1.0 / static_cast<double>(choices.size());
      }
      uint64_t samples = 0;
      if (j.contains("n-samples") && j["n-samples"].contains(task) && j["n-samples"][task].is_object())
        samples = j["n-samples"][task].value("effective", uint64_t{0});
      // Lower-is-better and generation figures (`kormo run`'s held-out bits per byte and
      // arithmetic) have no chance level.
      for (const auto& [key, v] : res.items()) {
        const size_t comma = key.find(',');
        const std::string metric = key.substr(0, comma), filter = comma == std::string::npos ? "" : key.substr(comma + 1);
        if ((metric != "bits_per_byte" && metric != "exact_match") || !v.is_number()) continue;
        EvalTask t{.name = task, .metric = filter == "none" || filter.empty() ? metric : metric + " (" + filter + ")",
                   .value = v.get<double>()};
        const std::string se = metric + "_stderr," + filter;
        if (res.contains(se) && res[se].is_number()) t.stderr_of_mean = res[se].get<double>();
        t.samples = samples;
        e.tasks.push_back(std::move(t));
      }
      // Accuracies compare with chance directly; F1 or MCC stand in only for a task without one.
      size_t found = 0;
      for (const char* m : {"acc", "acc_norm", "f1", "mcc"}) {
        const std::string key = std::string(m) + ",none";
        if (!res.contains(key) || !res[key].is_number() || (found && m[0] != 'a')) continue;
        EvalTask t{.name = task, .metric = m, .value = res[key].get<double>()};
        const std::string se = std::string(m) + "_stderr,none";
        if (res.contains(se) && res[se].is_number()) t.stderr_of_mean = res[se].get<double>();
        if (m[0] == 'a') t.chance = chance;
        t.samples = samples;
        e.tasks.push_back(std::move(t));
        ++found;
      }
    }
  }
  std::stable_sort(e.tasks.begin(), e.tasks.end(), [](const EvalTask& a, const EvalTask& b) { return a.name < b.name; });
}

void gather_samples(RunFacts& f, const fs::path& dir, const GatherOptions& opt) {
  if (!opt.samples || f.final_checkpoint.empty()) return;
  const std::string ckpt = (dir / f.final_checkpoint).string();
  const std::string tok_path = fs::exists(ckpt + "/tokenizer.json") ? ckpt + "/tokenizer.json" : (dir / kTokenizer).string();
  if (!fs::exists(tok_path)) return;
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(tok_path);
  const model::Weights w = model::load_model_dir(ckpt);
  const auto& cfg = w.config();
  std::vector<infer::Request> reqs;
  for (const auto& [lang, prompt] : kPrompts) {
    infer::Request r;
    tokenizer.encode_append(prompt, r.prompt, {});
    r.max_tokens = std::min<int64_t>(opt.sample_tokens, cfg.max_seq_len - static_cast<int64_t>(r.prompt.size()));
    // A context too short for the prompt gives no sample rather than a failed report.
    if (r.max_tokens < 1) continue;
    if (cfg.eos_token_id >= 0) r.stop_tokens.push_back(static_cast<int32_t>(cfg.eos_token_id));
    f.samples.push_back({lang, prompt, ""});
    reqs.push_back(std::move(r));
  }
  f.samples_skipped = false;
  if (reqs.empty()) return;
  infer::Generator gen(w, &tokenizer, static_cast<int64_t>(reqs.size()), cfg.max_seq_len);
  const std::vector<infer::Completion> out = gen.run(std::move(reqs));
  for (size_t i = 0; i < out.size(); ++i) f.samples[i].text = text::replace_invalid_utf8(out[i].text);
}

// The phases of `kormo run`'s phased pretraining, in the manifest's stage order
// ("pretrain-NAME" → pretrain/NAME/metrics.jsonl), joined into one log whose steps continue
// across phases, so the curves show the whole of pretraining.
void gather_phases(RunFacts& f, const fs::path& dir) {
  if (f.pretrain.present) return;
  double offset = 0;
  for (const StageFacts& s : f.stages) {
    if (!s.name.starts_with("pretrain-")) continue;
    const std::string name = s.name.substr(9);
    const std::string shown = std::string(kPretrainDir) + "/" + name + "/metrics.jsonl";
    TrainingLog log = read_training_log((dir / shown).string(), shown);
    if (!log.present) continue;
    double last = 0;
    for (const auto& [key, points] : log.series) {
      std::vector<Point>& all = f.pretrain.series[key];
      for (const Point& p : points) {
        all.push_back({p.step + offset, p.value});
        last = std::max(last, p.step);
      }
    }
    f.pretrain.present = true;
    f.pretrain.path += (f.pretrain.path.empty() ? "" : ", ") + shown;
    f.pretrain.lines += log.lines;
    f.pretrain.bad_lines += log.bad_lines;
    f.pretrain.skipped_steps += log.skipped_steps;
    if (f.pretrain.first_bad.empty()) f.pretrain.first_bad = log.first_bad;
    f.pretrain.last = log.last;
    offset += last;
    f.pretrain_phases.emplace_back(name, std::move(log));
  }
}

}  // namespace

TrainingLog read_training_log(const std::string& path, const std::string& shown) {
  TrainingLog log;
  if (!fs::exists(path)) return log;
  log.present = true;
  log.path = shown;
  LineReader r(path);
  std::string_view line;
  while (r.next(line)) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    ++log.lines;
    const json j = parse_json_or_discarded(line);
    if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number()) {
      if (log.bad_lines++ == 0) log.first_bad = fmt::format("{}:{}", shown, r.line_number());
      continue;
    }
    const double step = j["step"].get<double>();
    for (const auto& [key, v] : j.items()) {
      if (key == "step") continue;
      // A non-finite value is written as null: kept as a gap in the curve.
      if (v.is_number() && !v.is_boolean()) log.series[key].push_back({step, v.get<double>()});
      else if (v.is_null()) log.series[key].push_back({step, std::nan("")});
    }
    if (j.value("skipped", false)) ++log.skipped_steps;
    if (j.contains("loss")) log.last = j;
  }
  if (log.bad_lines)
    log_warn("{}: {} line(s) are not metrics records and were left out of the report (first: {})", path,
             log.bad_lines, log.first_bad);
  return log;
}

RunFacts gather_run(const std::string& dir_name, const GatherOptions& opt) {
  const fs::path dir(dir_name);
  if (!fs::is_directory(dir)) fail("{}: not a run directory (expected the --out of a kormo run)", dir_name);
  RunFacts f;
  f.dir = dir_name;
  read_manifest(f, dir);
  gather_data(f.data, dir, opt);
  gather_tokenizer(f.tokenizer, dir, opt);
  f.pretrain = read_training_log((dir / kPretrainDir / "metrics.jsonl").string(), "pretrain/metrics.jsonl");
  gather_phases(f, dir);
  f.sft = read_training_log((dir / kSftDir / "metrics.jsonl").string(), "sft/metrics.jsonl");
  std::vector<std::string> model_dirs{kSftDir};
  for (auto p = f.pretrain_phases.rbegin(); p != f.pretrain_phases.rend(); ++p)
    model_dirs.push_back(std::string(kPretrainDir) + "/" + p->first);
  model_dirs.push_back(kPretrainDir);
  for (const std::string& stage : model_dirs) {
    if (!fs::is_directory(dir / stage)) continue;
    const std::string ckpt = train::latest_checkpoint((dir / stage).string());
    if (ckpt.empty()) continue;
    f.final_checkpoint = fs::relative(ckpt, dir).string();
    f.model_config = parse_json_or_discarded(read_file(ckpt + "/config.json"));
    if (f.model_config.is_discarded()) f.model_config = json::object();
    break;
  }
  gather_eval(f.eval, dir);
  gather_samples(f, dir, opt);
  return f;
}

}  // namespace kormo::report
