#include "kormo/run/run.h"

#include <chrono>
#include <filesystem>
#include <sstream>

#include "kormo/data/pipeline.h"
#include "kormo/shard/docs.h"
#include "kormo/tok/trainer.h"
#include "kormo/train/checkpoint.h"
#include "kormo/train/pretrain.h"
#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"
#include "kormo/util/manifest.h"

namespace fs = std::filesystem;

namespace kormo::run {
namespace {

const char* const kStages[] = {"data", "tokenizer", "shard", "pretrain"};

std::string toml_text(const toml::table& t) {
  std::ostringstream ss;
  ss << t;
  return ss.str() + "\n";
}

nlohmann::json toml_to_json(const toml::table& t) {
  std::ostringstream ss;
  ss << toml::json_formatter{t};
  return nlohmann::json::parse(ss.str());
}

toml::table subtable(const toml::table& root, const char* key) {
  if (const toml::table* t = root[key].as_table()) return *t;
  return {};
}

toml::table& ensure_table(toml::table& t, const char* key) {
  if (!t[key].is_table()) t.insert_or_assign(key, toml::table{});
  return *t[key].as_table();
}

// Relative paths in the run config are relative to the run directory.
std::string in_run(const fs::path& out, const std::string& p) {
  return fs::path(p).is_absolute() ? p : (out / p).string();
}

// A stage is reused when its marker holds the same key (hash of its resolved
// config and inputs) — so a killed run continues, and an edited config is caught.
class StageCache {
 public:
  explicit StageCache(fs::path dir) : dir_(std::move(dir)) { make_dirs(dir_.string()); }
  bool done(const std::string& stage, const std::string& key) const {
    fs::path m = dir_ / (stage + ".done");
    if (!fs::exists(m)) return false;
    std::string have = read_file(m.string());
    if (have != key)
      fail("{}: stage '{}' was completed under a different configuration or input; use a new --out directory "
           "(or delete {} to redo it)", dir_.parent_path().string(), stage, m.string());
    return true;
  }
  void mark(const std::string& stage, const std::string& key) const {
    write_file_atomic((dir_ / (stage + ".done")).string(), key);
  }

 private:
  fs::path dir_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void run_pipeline(const RunOptions& o) {
  if (o.out_dir.empty()) fail("kormo run: an output directory is required (--out)");
  if (!o.until.empty() && std::find(std::begin(kStages), std::end(kStages), o.until) == std::end(kStages))
    fail("--until: expected one of data, tokenizer, shard, pretrain; got '{}'", o.until);
  const std::string source = o.config_path.empty() ? "<embedded default>" : o.config_path;
  toml::table root = o.config_path.empty() ? load_toml("", default_config()) : load_toml(o.config_path);
  {
    ConfigSection top(&root, source);
    for (const char* k : {"data", "tokenizer", "model", "pretrain"}) top.section(k);
    top.check_unused();
  }
  const fs::path out = fs::absolute(o.out_dir);
  make_dirs((out / "config").string());
  StageCache cache(out / ".stages");
  Manifest manifest(out.string());
  manifest.set_config(toml_to_json(root), source);
  auto finish_stage = [&](StageRecord rec, const std::string& key) {
    cache.mark(rec.name, key);
    manifest.add_stage(std::move(rec));
    manifest.save("manifest.partial.json");
  };
  auto stop_after = [&](const char* stage) {
    if (o.until != stage) return false;
    manifest.save("manifest.json");
    fs::remove(out / "manifest.partial.json");
    return true;
  };

  // ---- data: raw text → curated documents
  const std::string curated = (out / "data" / "curated.jsonl.zst").string();
  {
    toml::table cfg = subtable(root, "data");
    toml::table& pipe = ensure_table(cfg, "pipeline");
    pipe.insert_or_assign("output", curated);
    if (!pipe.contains("work_dir")) pipe.insert_or_assign("work_dir", (out / "data" / "work").string());
    if (toml::table* ing = cfg["ingest"].as_table()) {
      if (auto cd = (*ing)["cache_dir"].value<std::string>()) ing->insert_or_assign("cache_dir", in_run(out, *cd));
    }
    std::string text = toml_text(cfg);
    std::string path = (out / "config" / "data.toml").string();
    std::string key = xxh3_128_hex(text);
    const bool reuse = cache.done("data", key);  // before any write: a refused run changes nothing
    write_file_atomic(path, text);
    StageRecord rec{"data", {}, {}, 0, 0, {}};
    if (!reuse) {
      log_info("run: [1/4] data — curating documents ({})", path);
      auto t0 = std::chrono::steady_clock::now();
      rec.summary = data::run_pipeline(path);
      rec.seconds = seconds_since(t0);
    } else {
      log_info("run: [1/4] data — reusing {}", curated);
    }
    rec.inputs = hash_path(path, out.string());
    rec.outputs = hash_path(curated, out.string());
    finish_stage(std::move(rec), key);
  }
  if (stop_after("data")) return;

  // ---- tokenizer: curated documents → tokenizer.json
  const std::string tok_dir = (out / "tokenizer").string();
  size_t vocab_size = 0;
  {
    toml::table cfg = subtable(root, "tokenizer");
    ConfigSection sec(&cfg, source + " [tokenizer]");
    tok::CorpusOptions copt;
    tok::BpeOptions bopt;
    bopt.vocab_size = static_cast<size_t>(sec.get_int("vocab_size", 32000));
    std::string mix = sec.get_string("mix", "");
    if (!mix.empty()) copt.mix = tok::parse_mix(mix);
    std::string mem = sec.get_string("max_memory", "");
    if (!mem.empty()) copt.max_memory = tok::parse_byte_size(mem);
    sec.check_unused();
    std::string key = xxh3_128_hex(toml_text(cfg) + file_xxh3_128_hex(curated));
    StageRecord rec{"tokenizer", {}, {}, 0, 0, {}};
    if (!cache.done("tokenizer", key)) {
      log_info("run: [2/4] tokenizer — training a {}-token byte-level BPE", bopt.vocab_size);
      auto t0 = std::chrono::steady_clock::now();
      tok::WordCounts counts = tok::count_words({curated}, copt);
      bopt.memory_budget = counts.memory_budget;
      rec.summary = {{"documents", counts.documents}, {"text_bytes", counts.text_bytes}};
      tok::train_bpe(std::move(counts), bopt).save(tok_dir);
      rec.seconds = seconds_since(t0);
    } else {
      log_info("run: [2/4] tokenizer — reusing {}", tok_dir);
    }
    vocab_size = tok::Tokenizer::load(tok_dir).vocab_size();
    rec.summary["vocab_size"] = vocab_size;
    rec.inputs = hash_path(curated, out.string());
    rec.outputs = hash_path(tok_dir, out.string());
    finish_stage(std::move(rec), key);
  }
  if (stop_after("tokenizer")) return;

  // ---- shard: documents + tokenizer → .ktok
  const std::string shard_path = (out / "shards" / "all.ktok").string();
  {
    // Reasoning spans are not trained on: the shard's loss mask leaves them out.
    shard::DocsShardOptions so;
    so.inputs = {curated};
    so.tokenizer = tok_dir;
    so.out_path = shard_path;
    const tok::Tokenizer t = tok::Tokenizer::load(tok_dir);
    const tok::SpecialIds& sp = t.special_ids();
    if (sp.think >= 0 && sp.think_end >= 0) so.mask_spans = {{t.id_to_token(sp.think), t.id_to_token(sp.think_end)}};
    std::string spans;
    for (const auto& m : so.mask_spans) spans += "mask-span " + m.open + " " + m.close + "\n";
    std::string key =
        xxh3_128_hex(spans + file_xxh3_128_hex(curated) + file_xxh3_128_hex(tok_dir + "/tokenizer.json"));
    StageRecord rec{"shard", {}, {}, 0, 0, {}};
    if (!cache.done("shard", key)) {
      log_info("run: [3/4] shard — tokenizing the curated documents");
      auto t0 = std::chrono::steady_clock::now();
      shard::DocsShardSummary s = shard::shard_from_docs(so);
      rec.summary = {{"documents", s.documents}, {"tokens", s.tokens}, {"text_bytes", s.bytes},
                     {"masked_tokens", s.masked_tokens}};
      rec.seconds = seconds_since(t0);
    } else {
      log_info("run: [3/4] shard — reusing {}", shard_path);
    }
    rec.inputs = hash_path(curated, out.string());
    for (auto& f : hash_path(tok_dir + "/tokenizer.json", out.string())) rec.inputs.push_back(f);
    rec.outputs = hash_path(shard_path, out.string());
    finish_stage(std::move(rec), key);
  }
  if (stop_after("shard")) return;

  // ---- pretrain: shards → checkpoint
  {
    toml::table cfg;
    toml::table model = subtable(root, "model");
    model.insert_or_assign("vocab_size", static_cast<int64_t>(vocab_size));
    cfg.insert_or_assign("model", model);
    toml::table pre = subtable(root, "pretrain");
    toml::table data = subtable(pre, "data");
    const tok::SpecialIds sp = tok::Tokenizer::load(tok_dir).special_ids();
    if (!data.contains("pad_id") && sp.pad >= 0) data.insert_or_assign("pad_id", int64_t{sp.pad});
    toml::table all;
    all.insert_or_assign("shards", toml::array{shard_path});
    all.insert_or_assign("weight", 1.0);
    toml::table sources;
    sources.insert_or_assign("all", all);
    data.insert_or_assign("sources", sources);
    cfg.insert_or_assign("data", data);
    toml::table train = subtable(pre, "train");
    train.insert_or_assign("out_dir", (out / "pretrain").string());
    train.insert_or_assign("tokenizer", tok_dir);
    cfg.insert_or_assign("train", train);
    for (const auto& [k, v] : pre)
      if (k != "data" && k != "train") fail("{} [pretrain]: unknown key '{}'; expected [pretrain.data] and [pretrain.train]", source, k.str());
    std::string text = toml_text(cfg);
    std::string path = (out / "config" / "pretrain.toml").string();
    std::string key = xxh3_128_hex(text + file_xxh3_128_hex(shard_path));
    const bool reuse = cache.done("pretrain", key);
    write_file_atomic(path, text);
    StageRecord rec{"pretrain", {}, {}, 0, 0, {}};
    if (!reuse) {
      train::PretrainOptions po;
      po.config_path = path;
      po.resume = !train::latest_checkpoint((out / "pretrain").string()).empty();
      log_info("run: [4/4] pretrain — {}{}", path, po.resume ? " (resuming)" : "");
      auto t0 = std::chrono::steady_clock::now();
      train::pretrain(po);
      rec.seconds = seconds_since(t0);
    } else {
      log_info("run: [4/4] pretrain — reusing {}", (out / "pretrain").string());
    }
    std::string ckpt = train::latest_checkpoint((out / "pretrain").string());
    std::string metrics = (out / "pretrain" / "metrics.jsonl").string();
    if (fs::exists(metrics)) {
      LineReader r(metrics);
      std::string_view line;
      std::string keep;
      while (r.next(line))
        if (!line.empty()) keep = std::string(line);
      if (!keep.empty()) rec.summary = nlohmann::json::parse(keep);
    }
    rec.inputs = hash_path(path, out.string());
    for (auto& f : hash_path(shard_path, out.string())) rec.inputs.push_back(f);
    rec.outputs = hash_path(ckpt, out.string());
    for (auto& f : hash_path(metrics, out.string())) rec.outputs.push_back(f);
    finish_stage(std::move(rec), key);
  }
  // manifest.json appears only for a complete run, so it always describes a
  // consistent set of files; the partial one shows how far a stopped run got.
  manifest.save("manifest.json");
  fs::remove(out / "manifest.partial.json");
  log_info("run: done — {}/manifest.json (check with `kormo verify {}`)", out.string(), out.string());
}

}  // namespace kormo::run
