#include "kormo/sft/sft.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "kormo/backend/backend.h"
#include "kormo/dist/communicator.h"
#include "kormo/model/checkpoint.h"
#include "kormo/model/config.h"
#include "kormo/sft/conversation.h"
#include "kormo/sft/packing.h"
#include "kormo/sft/render.h"
#include "kormo/shard/format.h"
#include "kormo/tok/chat_template.h"
#include "kormo/tok/tokenizer.h"
#include "kormo/train/checkpoint.h"
#include "kormo/train/loop.h"
#include "kormo/train/train_config.h"
#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"

namespace kormo::sft {

namespace fs = std::filesystem;

namespace {

struct DataSource {
  std::string name;
  std::vector<std::string> files;
  double weight = 1.0;
};

struct SftConfig {
  train::TrainSection train;
  std::string init;  // a model directory (config.json + model.safetensors)
  std::vector<DataSource> sources;
  std::map<std::string, double> lang_weights;
  Thinking thinking = Thinking::kHybrid;
  PackOptions pack;
  double val_fraction = 0.05, difficulty_power = 1.0, epochs = 0;
};

// A model directory as given, or the newest checkpoint of a training run directory.
std::string resolve_init(const std::string& path, const std::string& where) {
  if (path.empty())
    fail_usage("{}: [train] init is required: SFT starts from a pretrained checkpoint (a model directory or a "
               "pretraining out_dir)",
               where);
  if (fs::exists(fs::path(path) / "config.json")) return path;
  if (fs::is_directory(path)) {
    const std::string latest = train::latest_checkpoint(path);
    if (!latest.empty()) return latest;
  }
  fail_usage("{}: [train] init '{}' is neither a model directory (config.json) nor a run directory with a "
             "checkpoint",
             where, path);
}

SftConfig load_config(const std::string& path) {
  toml::table t = load_toml(path);
  ConfigSection root(&t, path);
  SftConfig c;
  ConfigSection tr = root.section("train");
  c.init = resolve_init(tr.get_string("init", ""), path);
  c.train = train::read_train_section(tr, path);
  tr.check_unused();
  if (c.train.tokenizer.empty()) c.train.tokenizer = c.init;

  ConfigSection d = root.section("data");
  c.pack.batch_size = d.get_int("batch_size", 8);
  c.pack.seq_len = d.get_int("seq_len", 512);
  c.train.loop.grad_accum = d.get_int("grad_accum", 1);
  c.val_fraction = d.get_double("val_fraction", 0.05);
  c.thinking = parse_thinking(d.get_string("thinking", "hybrid"), path + " [data]");
  c.difficulty_power = d.get_double("difficulty_power", 1.0);
  c.epochs = d.get_double("epochs", 0);
  c.pack.seed = c.train.loop.seed;
  if (c.pack.batch_size <= 0) fail("{}: [data] batch_size must be positive, got {}", path, c.pack.batch_size);
  if (c.pack.seq_len <= 0) fail("{}: [data] seq_len must be positive, got {}", path, c.pack.seq_len);
  if (c.train.loop.grad_accum < 1)
    fail("{}: [data] grad_accum must be at least 1, got {}", path, c.train.loop.grad_accum);
  if (!(c.val_fraction >= 0 && c.val_fraction < 1))
    fail("{}: [data] val_fraction must lie in [0, 1), got {}", path, c.val_fraction);
  if (!(c.difficulty_power >= 0)) fail("{}: [data] difficulty_power must be ≥ 0, got {}", path, c.difficulty_power);
  if (!(c.epochs >= 0)) fail("{}: [data] epochs must be ≥ 0, got {}", path, c.epochs);
  if (c.epochs > 0 && tr.has("steps")) fail("{}: give [train] steps or [data] epochs, not both", path);
  ConfigSection lw = d.section("lang_weights");
  for (const auto& [lang, node] : *lw.table()) {
    const double w = lw.get_double(std::string(lang.str()), 1.0);
    if (!(w >= 0)) lw.bad_value(std::string(lang.str()), "a language weight must be ≥ 0");
    c.lang_weights[std::string(lang.str())] = w;
  }
  ConfigSection srcs = d.section("sources");
  for (const auto& [name, node] : *srcs.table()) {
    ConfigSection s = srcs.section(std::string(name.str()));
    DataSource src;
    src.name = std::string(name.str());
    try {
      src.files = expand_inputs(s.get_strings("files", {}));
    } catch (const Error& e) {
      fail("{} [data.sources.{}]: {}", path, src.name, e.what());
    }
    src.weight = s.get_double("weight", 1.0);
    if (!(src.weight > 0)) s.bad_value("weight", "a source weight must be positive");
    s.check_unused();
    c.sources.push_back(std::move(src));
  }
  srcs.check_unused();
  d.check_unused();
  root.check_unused();
  if (c.sources.empty()) fail("{}: [data.sources] must name at least one source with files", path);
  return c;
}

// The directory whose tokenizer_config.json holds the chat template.
std::string tokenizer_dir(const std::string& tok) {
  return fs::is_directory(tok) ? tok : fs::path(tok).parent_path().string();
}

bool held_back(const Conversation& c, double val_fraction) {
  const std::string key = fs::path(c.where).filename().string();
  return static_cast<double>(xxh3_64(key) % 1000000) < val_fraction * 1e6;
}

// Sampling weight of each item: the source's share of the draws, split among its
// items by language weight × difficulty factor (docs/sft.md states the formula).
std::vector<double> sampling_weights(const std::vector<Conversation>& convs, const SftConfig& cfg) {
  std::map<std::string, double> source_weight, source_mass;
  for (const auto& s : cfg.sources) source_weight[s.name] = s.weight;
  std::vector<double> w(convs.size());
  for (size_t i = 0; i < convs.size(); ++i) {
    auto lw = cfg.lang_weights.find(convs[i].lang);
    const double lang = lw == cfg.lang_weights.end() ? 1.0 : lw->second;
    const double difficulty = convs[i].difficulty.value_or(0.5);
    w[i] = lang * std::pow(0.5 + difficulty, cfg.difficulty_power);
    source_mass[convs[i].source] += w[i];
  }
  for (size_t i = 0; i < convs.size(); ++i)
    if (source_mass[convs[i].source] > 0) w[i] *= source_weight[convs[i].source] / source_mass[convs[i].source];
  return w;
}

void dump_batch(const shard::LoadedBatch& b, const std::string& path) {
  nlohmann::json j = {{"B", b.batch.B},       {"T", b.batch.T}, {"inputs", b.batch.inputs},
                      {"targets", b.batch.targets}, {"doc", b.batch.doc}};
  write_file_atomic(path, j.dump() + "\n");
}

}  // namespace

void sft(const SftOptions& opts) {
  if (opts.max_steps < -1) fail_usage("--max-steps must be at least 0, got {}", opts.max_steps);
  SftConfig cfg = load_config(opts.config_path);
  if (cfg.train.threads > 0) omp_set_num_threads(static_cast<int>(cfg.train.threads));
  backend::Backend& be = backend::get(cfg.train.backend);
  std::unique_ptr<dist::Communicator> comm = dist::make_communicator();
  cfg.pack.rank = comm->rank();
  cfg.pack.world = comm->size();
  const bool lead = comm->rank() == 0;
  if (!lead) set_log_level(LogLevel::kQuiet);

  model::Weights w = model::load_model_dir(cfg.init, be);
  const model::ModelConfig& mc = w.config();
  if (cfg.pack.seq_len > mc.max_seq_len)
    fail("{}: seq_len {} exceeds the model's max_seq_len {}", opts.config_path, cfg.pack.seq_len, mc.max_seq_len);
  const tok::Tokenizer tok = tok::Tokenizer::load(cfg.train.tokenizer);
  if (static_cast<int64_t>(tok.vocab_size()) > mc.vocab_size)
    fail("{}: the tokenizer has {} ids but the model's vocab_size is {}", cfg.train.tokenizer, tok.vocab_size(),
         mc.vocab_size);
  const tok::ChatTemplate tmpl = tok::ChatTemplate::load(tokenizer_dir(cfg.train.tokenizer));
  cfg.pack.pad_id = tok.special_ids().pad >= 0 ? tok.special_ids().pad : mc.pad_token_id;

  Rejects rejects;
  std::vector<Conversation> train_convs;
  std::vector<Item> train_items, val_items;
  int64_t lines = 0, thinking_on = 0;
  for (const auto& src : cfg.sources) {
    for (const auto& file : src.files) {
      const int64_t rejected_before = rejects.total();
      std::vector<Conversation> convs = read_conversations(file, src.name, rejects);
      lines += static_cast<int64_t>(convs.size()) + rejects.total() - rejected_before;
      for (Conversation& c : convs) {
        Rendered r;
        try {
          r = render_conversation(c, tmpl, tok, cfg.thinking);
        } catch (const Error& e) {
          rejects.add(c.where, "template", e.what());
          continue;
        }
        if (static_cast<int64_t>(r.ids.size()) > cfg.pack.seq_len + 1) {
          rejects.add(c.where, "too_long",
                      fmt::format("{} tokens; a row holds seq_len + 1 = {}", r.ids.size(), cfg.pack.seq_len + 1));
          continue;
        }
        int64_t trained = 0;
        for (size_t j = 1; j < r.trained.size(); ++j) trained += r.trained[j];
        Item it{std::move(r.ids), std::move(r.trained), shard::lang_id(c.lang),
                trained > 0 ? static_cast<float>(r.trained_bytes) / static_cast<float>(trained) : 0.f};
        thinking_on += r.thinking;
        if (held_back(c, cfg.val_fraction)) {
          val_items.push_back(std::move(it));
        } else {
          train_items.push_back(std::move(it));
          train_convs.push_back(std::move(c));
        }
      }
    }
  }
  train::LoopConfig& loop = cfg.train.loop;
  if (lead) {
    log_info("{} conversations read ({} rendered with reasoning), {} for training, {} held back; rejected {}: {}",
             lines, thinking_on,
             train_items.size(), val_items.size(), rejects.total(), rejects.summary());
    for (size_t i = 0; i < rejects.entries.size() && i < 20; ++i)
      log_warn("{}: {}: {}", rejects.entries[i].where, rejects.entries[i].reason, rejects.entries[i].detail);
    if (rejects.entries.size() > 20) log_warn("… {} more in {}/sft_rejects.jsonl", rejects.entries.size() - 20, loop.out_dir);
  }
  if (train_items.empty())
    fail("{}: no usable conversation left for training ({} rejected: {})", opts.config_path, rejects.total(),
         rejects.summary());

  int64_t train_tokens = 0;
  for (const auto& it : train_items) train_tokens += static_cast<int64_t>(it.ids.size());
  if (cfg.epochs > 0) {
    const double per_step = static_cast<double>(comm->size() * loop.grad_accum * cfg.pack.batch_size * (cfg.pack.seq_len + 1));
    loop.schedule.total_steps = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(cfg.epochs * train_tokens / per_step)));
  }
  const std::vector<double> weights = sampling_weights(train_convs, cfg);
  SampledSource source(std::move(train_items), weights, cfg.pack);
  if (!opts.dump_batch.empty()) {
    if (lead) dump_batch(source.next(), opts.dump_batch);
    return;
  }
  if (lead) {
    make_dirs(loop.out_dir);
    write_file_atomic(loop.out_dir + "/sft_rejects.jsonl", rejects.jsonl());
  }
  loop.name = "sft";
  loop.init_weights = false;
  loop.resume = opts.resume;
  loop.max_steps = opts.max_steps;
  loop.extra_files = train::tokenizer_files(cfg.train.tokenizer);
  loop.flops_per_token = model::train_flops_per_token(mc, cfg.pack.seq_len);
  std::vector<shard::LoadedBatch> val = pack_in_order(val_items, cfg.pack);
  if (val.empty()) log_warn("no held-back conversations (val_fraction {})", cfg.val_fraction);
  log_info("model {} parameters from {}, backend {}, {} rank(s) × {} threads, {} tokens/step, {} steps, thinking {}",
           model::num_parameters(mc), cfg.init, be.name(), comm->size(), omp_get_max_threads(),
           comm->size() * loop.grad_accum * cfg.pack.batch_size * cfg.pack.seq_len, loop.schedule.total_steps,
           cfg.thinking == Thinking::kOn ? "on" : cfg.thinking == Thinking::kOff ? "off" : "hybrid");
  train::run_training(loop, w, source, val, *comm);
}

}  // namespace kormo::sft
