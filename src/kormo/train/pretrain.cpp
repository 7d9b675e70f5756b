#include "kormo/train/pretrain.h"

#include <omp.h>

#include <filesystem>
#include <tuple>

#include "kormo/backend/backend.h"
#include "kormo/dist/communicator.h"
#include "kormo/model/config_io.h"
#include "kormo/shard/loader.h"
#include "kormo/tok/tokenizer.h"
#include "kormo/train/loop.h"
#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"

namespace kormo::train {

namespace fs = std::filesystem;

namespace {

struct PretrainConfig {
  model::ModelConfig model;
  std::vector<shard::SourceSpec> sources;
  shard::LoaderOptions loader;
  LoopConfig loop;
  int64_t val_tokens = 0, threads = 0;
  std::string tokenizer, backend;
};

PretrainConfig load_config(const std::string& path) {
  toml::table t = load_toml(path);
  ConfigSection root(&t, path);
  PretrainConfig c;
  ConfigSection tr = root.section("train");
  std::string model_path = tr.get_string("model", "");
  if (root.has("model") == !model_path.empty())
    fail("{}: give the model either as a [model] section or as [train] model = \"configs/model/X.toml\"", path);
  if (model_path.empty()) {
    ConfigSection m = root.section("model");
    c.model = model::model_config_from_section(m);
    model::validate(c.model, path + " [model]");
  } else {
    c.model = model::load_model_config(model_path);
  }
  ConfigSection d = root.section("data");
  c.loader.batch_size = d.get_int("batch_size", 8);
  c.loader.seq_len = d.get_int("seq_len", 256);
  c.loop.grad_accum = d.get_int("grad_accum", 1);
  c.loader.val_fraction = d.get_double("val_fraction", 0.01);
  c.val_tokens = d.get_int("val_tokens", 65536);
  c.loader.pad_id = static_cast<int32_t>(d.get_int("pad_id", c.model.pad_token_id));
  ConfigSection srcs = d.section("sources");
  for (const auto& [name, node] : *srcs.table()) {
    ConfigSection s = srcs.section(std::string(name.str()));
    shard::SourceSpec spec;
    spec.name = std::string(name.str());
    try {
      spec.shards = expand_inputs(s.get_strings("shards", {}));
    } catch (const Error& e) {
      fail("{} [data.sources.{}]: {}", path, spec.name, e.what());
    }
    spec.weight = s.get_double("weight", 1.0);
    s.check_unused();
    c.sources.push_back(std::move(spec));
  }
  srcs.check_unused();
  if (c.sources.empty()) fail("{}: [data.sources] must name at least one source with shards", path);
  if (c.loader.seq_len > c.model.max_seq_len)
    fail("{}: seq_len {} exceeds the model's max_seq_len {}", path, c.loader.seq_len, c.model.max_seq_len);
  // Each of these would otherwise fail later with a cryptic error or silently do nothing.
  if (c.loader.batch_size <= 0) fail("{}: [data] batch_size must be positive, got {}", path, c.loader.batch_size);
  if (c.loader.seq_len <= 0) fail("{}: [data] seq_len must be positive, got {}", path, c.loader.seq_len);
  if (c.loop.grad_accum < 1) fail("{}: [data] grad_accum must be at least 1, got {}", path, c.loop.grad_accum);
  if (!(c.loader.val_fraction >= 0 && c.loader.val_fraction < 1))
    fail("{}: [data] val_fraction must lie in [0, 1), got {}", path, c.loader.val_fraction);
  if (c.val_tokens < 0) fail("{}: [data] val_tokens must be at least 0, got {}", path, c.val_tokens);
  d.check_unused();

  c.loop.out_dir = tr.require_string("out_dir");
  c.loop.schedule.total_steps = tr.get_int("steps", 100);
  if (c.loop.schedule.total_steps <= 0)
    fail("{}: [train] steps must be positive, got {}", path, c.loop.schedule.total_steps);
  c.loop.schedule.peak = tr.get_double("lr", 1e-3);
  c.loop.schedule.kind = tr.get_string("schedule", "wsd");
  c.loop.schedule.warmup_frac = tr.get_double("warmup_frac", 0.03);
  c.loop.schedule.decay_frac = tr.get_double("decay_frac", 0.2);
  c.loop.schedule.min_ratio = tr.get_double("min_lr_ratio", 0.05);
  validate(c.loop.schedule, path + " [train]");
  c.loop.adamw.beta1 = tr.get_double("beta1", 0.9);
  c.loop.adamw.beta2 = tr.get_double("beta2", 0.95);
  c.loop.adamw.eps = tr.get_double("eps", 1e-8);
  c.loop.adamw.weight_decay = tr.get_double("weight_decay", 0.033);
  c.loop.grad_clip = tr.get_double("grad_clip", 1.0);
  c.loop.z_loss = tr.get_double("z_loss", 0.0);
  c.loop.spike_factor = tr.get_double("spike_factor", 0.0);
  c.loop.peak_flops = tr.get_double("peak_gflops", 350.0) * 1e9;
  c.loop.seed = static_cast<uint64_t>(tr.get_int("seed", 1));
  c.loader.seed = c.loop.seed;
  c.threads = tr.get_int("threads", 0);
  if (c.threads < 0) fail("{}: [train] threads must be at least 0 (0 = all cores), got {}", path, c.threads);
  c.loop.eval_every = tr.get_int("eval_every", 0);
  if (c.loop.eval_every < 0) fail("{}: [train] eval_every must be at least 0, got {}", path, c.loop.eval_every);
  c.loop.checkpoint_every = tr.get_int("checkpoint_every", 0);
  if (c.loop.checkpoint_every < 0)
    fail("{}: [train] checkpoint_every must be at least 0, got {}", path, c.loop.checkpoint_every);
  c.loop.keep_last = tr.get_int("keep_last", 0);
  if (c.loop.keep_last < 0)
    fail("{}: [train] keep_last must be at least 0 (0 = keep every checkpoint), got {}", path, c.loop.keep_last);
  c.loop.max_skipped = tr.get_int("max_skipped", 20);
  if (c.loop.max_skipped < 0)
    fail("{}: [train] max_skipped must be at least 0 (0 = never stop), got {}", path, c.loop.max_skipped);
  c.tokenizer = tr.get_string("tokenizer", "");
  c.loop.profile = tr.get_bool("profile", false);
  c.loop.precision = model::parse_precision(tr.get_string("precision", "fp32"), path + " [train] precision");
  c.backend = tr.get_string("backend", "auto");
  tr.check_unused();
  root.check_unused();
  if (!c.tokenizer.empty() && !fs::exists(c.tokenizer))
    fail("{}: tokenizer '{}' does not exist", path, c.tokenizer);
  return c;
}

std::vector<std::string> tokenizer_files(const std::string& tok) {
  if (tok.empty()) return {};
  if (!fs::is_directory(tok)) return {tok};
  std::vector<std::string> out;
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    if (fs::exists(fs::path(tok) / f)) out.push_back((fs::path(tok) / f).string());
  if (out.empty()) fail("{}: tokenizer directory has no tokenizer.json", tok);
  return out;
}

// The checkpoint's config.json/generation_config.json carry bos/eos/pad ids; with a
// tokenizer copied into the checkpoint they must be that tokenizer's, or generation
// stops on (and starts with) the wrong token.
void adopt_special_ids(model::ModelConfig& m, const std::string& tokenizer) {
  const tok::SpecialIds ids = tok::Tokenizer::load(tokenizer).special_ids();
  for (auto [id, field, name] : {std::tuple{ids.bos, &m.bos_token_id, "bos"}, std::tuple{ids.eot, &m.eos_token_id, "eos"},
                                 std::tuple{ids.pad, &m.pad_token_id, "pad"}}) {
    if (id < 0 || id == *field) continue;
    if (id >= m.vocab_size) {
      log_warn("{}: its {} id {} is outside the model's vocab_size {}; config.json keeps {}", tokenizer, name, id,
               m.vocab_size, *field);
      continue;
    }
    *field = id;
  }
}

// The packing loader over .ktok shards as the loop's batch source.
class ShardSource final : public BatchSource {
 public:
  explicit ShardSource(shard::DataLoader& loader) : loader_(loader) {}
  shard::LoadedBatch next() override { return loader_.next_train(); }
  nlohmann::json state() const override { return loader_.state(); }
  void restore(const nlohmann::json& s) override { loader_.restore(s); }

 private:
  shard::DataLoader& loader_;
};

}  // namespace

void pretrain(const PretrainOptions& opts) {
  if (opts.max_steps < -1) fail("--max-steps must be at least 0, got {}", opts.max_steps);
  PretrainConfig cfg = load_config(opts.config_path);
  if (cfg.threads > 0) omp_set_num_threads(static_cast<int>(cfg.threads));
  backend::Backend& be = backend::get(cfg.backend);
  // Under mpirun/srun each process is one rank with micro-batch batch_size: the global
  // batch is world × batch_size rows, each rank packing its own slice of it.
  std::unique_ptr<dist::Communicator> comm = dist::make_communicator();
  cfg.loader.rank = comm->rank();
  cfg.loader.world = comm->size();
  if (comm->rank() != 0) set_log_level(LogLevel::kQuiet);
  shard::DataLoader loader(cfg.sources, cfg.loader);
  if (loader.vocab_size() > cfg.model.vocab_size)
    fail("{}: shards use a vocabulary of {} ids but the model's vocab_size is {} (config/vocab mismatch)",
         opts.config_path, loader.vocab_size(), cfg.model.vocab_size);
  LoopConfig& loop = cfg.loop;
  loop.name = "pretrain";
  loop.resume = opts.resume;
  loop.max_steps = opts.max_steps;
  loop.extra_files = tokenizer_files(cfg.tokenizer);
  loop.flops_per_token = model::train_flops_per_token(cfg.model, cfg.loader.seq_len);
  std::vector<shard::LoadedBatch> val;
  if (loop.eval_every > 0 || cfg.val_tokens > 0) val = loader.validation(cfg.val_tokens);
  if (val.empty()) log_warn("no validation text (val_fraction {} of the documents)", cfg.loader.val_fraction);
  if (!cfg.tokenizer.empty()) adopt_special_ids(cfg.model, cfg.tokenizer);
  model::Weights w(cfg.model, be);
  log_info("model {} parameters, backend {}, {} rank(s) × {} threads, {} tokens/step, {} training / {} validation "
           "documents",
           model::num_parameters(cfg.model), be.name(), comm->size(), omp_get_max_threads(),
           comm->size() * loop.grad_accum * cfg.loader.batch_size * cfg.loader.seq_len, loader.train_docs(),
           loader.val_docs());
  ShardSource source(loader);
  run_training(loop, w, source, val, *comm);
}

}  // namespace kormo::train
