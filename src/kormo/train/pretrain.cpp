#include "kormo/train/pretrain.h"

#include <omp.h>

#include <filesystem>

#include "kormo/backend/backend.h"
#include "kormo/dist/communicator.h"
#include "kormo/model/checkpoint.h"
#include "kormo/model/config_io.h"
#include "kormo/shard/loader.h"
#include "kormo/train/loop.h"
#include "kormo/train/train_config.h"
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
  std::string init;  // "" = random weights; else a model directory whose weights training starts from
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
  const int64_t grad_accum = d.get_int("grad_accum", 1);
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
  if (grad_accum < 1) fail("{}: [data] grad_accum must be at least 1, got {}", path, grad_accum);
  if (!(c.loader.val_fraction >= 0 && c.loader.val_fraction < 1))
    fail("{}: [data] val_fraction must lie in [0, 1), got {}", path, c.loader.val_fraction);
  if (c.val_tokens < 0) fail("{}: [data] val_tokens must be at least 0, got {}", path, c.val_tokens);
  d.check_unused();

  // Phased pretraining (`kormo run`) starts a phase from the previous one's weights; the
  // [model] section may change what has no weights (max_seq_len, rope_theta).
  c.init = tr.get_string("init", "");
  if (!c.init.empty() && !fs::exists(c.init + "/model.safetensors"))
    fail("{}: [train] init '{}' is not a model directory (no model.safetensors)", path, c.init);
  TrainSection ts = read_train_section(tr, path);
  c.loop = std::move(ts.loop);
  c.loop.grad_accum = grad_accum;
  c.threads = ts.threads;
  c.tokenizer = std::move(ts.tokenizer);
  c.backend = std::move(ts.backend);
  c.loader.seed = c.loop.seed;
  tr.check_unused();
  root.check_unused();
  return c;
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
  if (!cfg.init.empty()) {
    model::load_weights(w, cfg.init + "/model.safetensors");
    loop.init_weights = false;
    log_info("starting from the weights of {}", cfg.init);
  }
  log_info("model {} parameters, backend {}, {} rank(s) × {} threads, {} tokens/step, {} training / {} validation "
           "documents",
           model::num_parameters(cfg.model), be.name(), comm->size(), omp_get_max_threads(),
           comm->size() * loop.grad_accum * cfg.loader.batch_size * cfg.loader.seq_len, loader.train_docs(),
           loader.val_docs());
  ShardSource source(loader);
  run_training(loop, w, source, val, *comm);
}

}  // namespace kormo::train
