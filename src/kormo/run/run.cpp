#include "kormo/run/run.h"

#include <sstream>

#include "kormo/data/pipeline.h"
#include "kormo/report/report.h"
#include "kormo/shard/docs.h"
#include "kormo/tok/train_tokenizer.h"
#include "kormo/train/checkpoint.h"
#include "kormo/train/pretrain.h"
#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"

namespace fs = std::filesystem;

namespace kormo::run {
namespace {

// Where the stages' files live in the run directory (docs/FORMATS.md).
const std::string kCurated = "data/curated.jsonl.zst";
const std::string kTokenizerDir = "tokenizer";
const std::string kTokenizerJson = "tokenizer/tokenizer.json";
const std::string kShard = "shards/all.ktok";
const std::string kPretrainDir = "pretrain";

std::string toml_text(const toml::table& t) {
  std::ostringstream ss;
  ss << t;
  return ss.str() + "\n";
}

toml::table subtable(const toml::table& root, const char* key) {
  if (const toml::table* t = root[key].as_table()) return *t;
  return {};
}

toml::table& ensure_table(toml::table& t, const char* key) {
  if (!t[key].is_table()) t.insert_or_assign(key, toml::table{});
  return *t[key].as_table();
}

PathsFn fixed(std::vector<std::string> paths) {
  return [paths = std::move(paths)](const RunContext&) { return paths; };
}

// ---- data: raw text → curated documents (a `kormo data pipeline` config)

// The keys of a `kormo data pipeline` config that name the user's raw files (a list of
// paths or patterns, or one path). A Debian ingest reads the package mirrors instead, and
// its cache_dir is the stage's own working state.
std::vector<std::pair<const char*, const char*>> data_source_keys(const toml::table& data) {
  std::vector<std::pair<const char*, const char*>> keys{{"pipeline", "inputs"}};
  if (data["ingest"]["source"].value_or(std::string("files")) == "files") keys.push_back({"ingest", "files"});
  keys.push_back({"decontam", "files"});
  keys.push_back({"normalize", "rules"});
  return keys;
}

// The run's own files are named relative to the run directory, which is the stages'
// working directory, so a moved or copied run directory works on its own files. The
// user's sources are named absolutely, as `kormo run` found them from where it started.
void absolutize(toml::table& t, const char* section, const char* key) {
  toml::table* sec = t[section].as_table();
  if (!sec) return;
  if (auto s = (*sec)[key].value<std::string>()) {
    sec->insert_or_assign(key, fs::absolute(*s).string());
  } else if (const toml::array* a = (*sec)[key].as_array()) {
    toml::array abs;
    for (const auto& v : *a) {
      if (auto s = v.value<std::string>()) abs.push_back(fs::absolute(*s).string());
      else abs.push_back(v);  // a wrong type is left for the data stage's own error
    }
    sec->insert_or_assign(key, std::move(abs));
  }
}

std::string resolve_data(const RunContext& c) {
  toml::table cfg = subtable(c.config, "data");
  toml::table& pipe = ensure_table(cfg, "pipeline");
  pipe.insert_or_assign("output", kCurated);
  if (!pipe.contains("work_dir")) pipe.insert_or_assign("work_dir", "data/work");
  for (const auto& [section, key] : data_source_keys(cfg)) absolutize(cfg, section, key);
  return toml_text(cfg);
}

// The raw files the data stage reads, so that replacing a source's content changes the
// stage's key (a stage is reused only when everything it read is unchanged). Paths are
// resolved the way `kormo data pipeline` resolves them. Every byte is hashed (xxh3 runs
// at memory speed, and a size+mtime shortcut would miss same-size rewrites).
std::vector<std::string> data_inputs(const RunContext& c) {
  const toml::table data = subtable(c.config, "data");
  // Lists of paths and patterns are expanded (sorted) together; a single path (the rules
  // file) follows them, so the key of an existing run stays what it was.
  std::vector<std::string> patterns, single;
  for (const auto& [section, key] : data_source_keys(data)) {
    if (auto one = data[section][key].value<std::string>()) single.push_back(*one);
    if (const toml::array* a = data[section][key].as_array())
      for (const auto& v : *a)
        if (auto str = v.value<std::string>()) patterns.push_back(*str);
  }
  std::vector<std::string> files = patterns.empty() ? std::vector<std::string>{} : expand_inputs(patterns);
  files.insert(files.end(), single.begin(), single.end());
  for (std::string& f : files) f = fs::absolute(f).string();
  return files;
}

// ---- tokenizer: curated documents → tokenizer.json (the [tokenizer] keys of docs/tokenizer.md)

tok::TokenizerTrainConfig tokenizer_config(const RunContext& c, const toml::table* cfg, const std::string& where) {
  ConfigSection sec(cfg, where);
  return tok::tokenizer_train_config_from_section(sec, {c.path(kCurated)}, c.path(kTokenizerDir));
}

std::string resolve_tokenizer(const RunContext& c) {
  // Checked on the run config itself, so errors point at its lines.
  tokenizer_config(c, c.config["tokenizer"].as_table(), c.source + " [tokenizer]");
  return toml_text(subtable(c.config, "tokenizer"));
}

nlohmann::json run_tokenizer(const RunContext& c, const std::string& config_path) {
  const toml::table cfg = load_toml(config_path);
  tok::TokenizerTrainSummary s = tok::train_tokenizer(tokenizer_config(c, &cfg, config_path));
  return {{"documents", s.documents}, {"text_bytes", s.text_bytes}};
}

// ---- shard: documents + tokenizer → .ktok

// Reasoning spans are not trained on: the shard's loss mask leaves out <think>…</think>
// when the tokenizer has those tokens. The spans are the stage's config, so a shard
// written without them is not reused.
std::string resolve_shard(const RunContext& c) {
  const tok::Tokenizer t = tok::Tokenizer::load(c.path(kTokenizerDir));
  const tok::SpecialIds& sp = t.special_ids();
  toml::array spans;
  if (sp.think >= 0 && sp.think_end >= 0)
    spans.push_back(toml::array{t.id_to_token(sp.think), t.id_to_token(sp.think_end)});
  return toml_text(toml::table{{"mask_spans", spans}});
}

nlohmann::json run_shard(const RunContext& c, const std::string& config_path) {
  shard::DocsShardOptions o;
  o.inputs = {c.path(kCurated)};
  o.tokenizer = c.path(kTokenizerDir);
  o.out_path = c.path(kShard);
  const toml::table cfg = load_toml(config_path);
  if (const toml::array* spans = cfg["mask_spans"].as_array())
    for (const auto& pair : *spans) {
      const toml::array& p = *pair.as_array();
      o.mask_spans.push_back({p[0].value_or(std::string()), p[1].value_or(std::string())});
    }
  shard::DocsShardSummary s = shard::shard_from_docs(o);
  return {{"documents", s.documents}, {"tokens", s.tokens}, {"text_bytes", s.bytes}, {"masked_tokens", s.masked_tokens}};
}

// ---- pretrain: shards → checkpoint (a `kormo pretrain` config)

std::string resolve_pretrain(const RunContext& c) {
  const toml::table pre = subtable(c.config, "pretrain");
  for (const auto& [k, v] : pre)
    if (k != "data" && k != "train")
      fail("{} [pretrain]: unknown key '{}'; expected [pretrain.data] and [pretrain.train]", c.source, k.str());
  // The model and the data loader take their ids from the trained tokenizer.
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(c.path(kTokenizerDir));
  toml::table model = subtable(c.config, "model");
  model.insert_or_assign("vocab_size", static_cast<int64_t>(tokenizer.vocab_size()));
  toml::table data = subtable(pre, "data");
  const tok::SpecialIds& sp = tokenizer.special_ids();
  if (!data.contains("pad_id") && sp.pad >= 0) data.insert_or_assign("pad_id", int64_t{sp.pad});
  toml::table all{{"shards", toml::array{kShard}}, {"weight", 1.0}};
  data.insert_or_assign("sources", toml::table{{"all", all}});
  toml::table train = subtable(pre, "train");
  train.insert_or_assign("out_dir", kPretrainDir);
  train.insert_or_assign("tokenizer", kTokenizerDir);
  return toml_text(toml::table{{"model", model}, {"data", data}, {"train", train}});
}

std::string metrics_path(const RunContext& c) { return c.path(kPretrainDir + "/metrics.jsonl"); }

nlohmann::json run_pretrain(const RunContext& c, const std::string& config_path) {
  train::PretrainOptions po;
  po.config_path = config_path;
  // A killed run continues from its last checkpoint, or from step 0 when it was stopped
  // before its first one (it left metrics but no checkpoint).
  const std::string ckpt = train::latest_checkpoint(c.path(kPretrainDir));
  po.resume = !ckpt.empty() || fs::exists(metrics_path(c));
  if (!ckpt.empty()) log_info("run: pretrain resumes from {}", ckpt);
  train::pretrain(po);
  return {};
}

// The summary of a training run is its last metrics line.
void summarize_pretrain(const RunContext& c, nlohmann::json& summary) {
  if (!fs::exists(metrics_path(c))) return;
  LineReader r(metrics_path(c));
  std::string_view line;
  std::string last;
  while (r.next(line))
    if (!line.empty()) last = std::string(line);
  if (!last.empty()) summary = nlohmann::json::parse(last);
}

}  // namespace

std::vector<Stage> pipeline_stages() {
  return {
      {.name = "data",
       .doing = "curating documents",
       .sections = {"data"},
       .resolve = resolve_data,
       .inputs = data_inputs,
       .run = [](const RunContext&, const std::string& config_path) { return data::run_pipeline(config_path); },
       .outputs = fixed({kCurated})},
      {.name = "tokenizer",
       .doing = "training the byte-level BPE tokenizer",
       .sections = {"tokenizer"},
       .resolve = resolve_tokenizer,
       .inputs = fixed({kCurated}),
       .run = run_tokenizer,
       .outputs = fixed({kTokenizerDir}),
       .summarize =
           [](const RunContext& c, nlohmann::json& summary) {
             summary["vocab_size"] = tok::Tokenizer::load(c.path(kTokenizerDir)).vocab_size();
           }},
      {.name = "shard",
       .doing = "tokenizing the curated documents",
       .resolve = resolve_shard,
       .inputs = fixed({kCurated, kTokenizerJson}),
       .run = run_shard,
       .outputs = fixed({kShard})},
      {.name = "pretrain",
       .doing = "training the model",
       .sections = {"model", "pretrain"},
       .resolve = resolve_pretrain,
       .inputs = fixed({kShard}),
       .run = run_pretrain,
       // The final checkpoint fixes every weight and the trainer state. metrics.jsonl is the
       // training log: its timings differ between runs, so it is summarized, not recorded.
       .outputs = [](const RunContext& c) -> std::vector<std::string> {
         return {train::latest_checkpoint(c.path(kPretrainDir))};
       },
       .summarize = summarize_pretrain},
  };
}

void run_pipeline(const RunOptions& o) {
  if (o.out_dir.empty()) fail("kormo run: an output directory is required (--out)");
  RunContext ctx;
  ctx.dir = fs::absolute(o.out_dir);
  ctx.source = o.config_path.empty() ? "<embedded default>" : o.config_path;
  ctx.config = o.config_path.empty() ? load_toml("", default_config()) : load_toml(o.config_path);
  run_stages(pipeline_stages(), ctx, o.until);
  // The stages' files are complete and recorded; a report that fails leaves them valid,
  // so it is a warning (`kormo report` retries it), not a failed run.
  try {
    const report::ReportFiles r = report::write_report({.run_dir = ctx.dir.string()});
    log_info("run: report — {}", r.html);
  } catch (const std::exception& e) {
    log_warn("run: the report could not be written ({}); retry with `kormo report {}`", e.what(), ctx.dir.string());
  }
}

}  // namespace kormo::run
