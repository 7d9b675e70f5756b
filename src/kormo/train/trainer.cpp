#include "kormo/train/trainer.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "kormo/model/checkpoint.h"
#include "kormo/model/gemm.h"
#include "kormo/model/profile.h"
#include "kormo/model/safetensors.h"
#include "kormo/shard/loader.h"
#include "kormo/train/optimizer.h"
#include "kormo/train/schedule.h"
#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"
#include "kormo/util/progress.h"
#include "kormo/util/json.h"

namespace kormo::train {

namespace fs = std::filesystem;

namespace {

struct PretrainConfig {
  model::ModelConfig model;
  std::vector<shard::SourceSpec> sources;
  shard::LoaderOptions loader;
  int64_t grad_accum = 1, val_tokens = 0, eval_every = 0, checkpoint_every = 0, threads = 0;
  ScheduleConfig schedule;
  AdamWConfig adamw;
  double grad_clip = 1.0, z_loss = 0.0, spike_factor = 0.0, peak_gflops = 350.0;
  uint64_t seed = 1;
  std::string out_dir, tokenizer;
  bool profile = false;
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
  c.grad_accum = d.get_int("grad_accum", 1);
  c.loader.val_fraction = d.get_double("val_fraction", 0.01);
  c.val_tokens = d.get_int("val_tokens", 65536);
  c.loader.pad_id = static_cast<int32_t>(d.get_int("pad_id", c.model.pad_token_id));
  c.loader.think_open_id = static_cast<int32_t>(d.get_int("think_open_id", -1));
  c.loader.think_close_id = static_cast<int32_t>(d.get_int("think_close_id", -1));
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
  if (c.grad_accum < 1) fail("{}: grad_accum must be at least 1", path);
  d.check_unused();

  c.out_dir = tr.require_string("out_dir");
  c.schedule.total_steps = tr.get_int("steps", 100);
  c.schedule.peak = tr.get_double("lr", 1e-3);
  c.schedule.kind = tr.get_string("schedule", "wsd");
  c.schedule.warmup_frac = tr.get_double("warmup_frac", 0.03);
  c.schedule.decay_frac = tr.get_double("decay_frac", 0.2);
  c.schedule.min_ratio = tr.get_double("min_lr_ratio", 0.05);
  validate(c.schedule, path + " [train]");
  c.adamw.beta1 = tr.get_double("beta1", 0.9);
  c.adamw.beta2 = tr.get_double("beta2", 0.95);
  c.adamw.eps = tr.get_double("eps", 1e-8);
  c.adamw.weight_decay = tr.get_double("weight_decay", 0.033);
  c.grad_clip = tr.get_double("grad_clip", 1.0);
  c.z_loss = tr.get_double("z_loss", 0.0);
  c.spike_factor = tr.get_double("spike_factor", 0.0);
  c.peak_gflops = tr.get_double("peak_gflops", 350.0);
  c.seed = static_cast<uint64_t>(tr.get_int("seed", 1));
  c.loader.seed = c.seed;
  c.threads = tr.get_int("threads", 0);
  c.eval_every = tr.get_int("eval_every", 0);
  c.checkpoint_every = tr.get_int("checkpoint_every", 0);
  c.tokenizer = tr.get_string("tokenizer", "");
  c.profile = tr.get_bool("profile", false);
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

struct RunState {
  int64_t step = 0;     // completed steps
  int64_t updates = 0;  // applied (not skipped) updates, the AdamW time step
  double loss_ema = 0;  // running mean of accepted losses, for the spike guard
  int64_t tokens = 0;
};

void save_checkpoint(const PretrainConfig& cfg, const model::Model& m, AdamW& opt, const RunState& rs,
                     const shard::DataLoader& loader) {
  std::string name = fmt::format("step-{:07d}", rs.step);
  fs::path final_dir = fs::path(cfg.out_dir) / name;
  fs::path tmp = fs::path(cfg.out_dir) / ("." + name + ".tmp");
  fs::remove_all(tmp);
  make_dirs((tmp / "trainer_state").string());
  model::write_model_files(tmp.string(), m);
  for (const auto& f : tokenizer_files(cfg.tokenizer)) fs::copy_file(f, tmp / fs::path(f).filename());
  const auto& info = m.tensors().back();
  const int64_t n = info.offset + info.size;
  model::write_safetensors((tmp / "trainer_state" / "optimizer.safetensors").string(),
                           {{"adamw.m", {n}, opt.m().data()}, {"adamw.v", {n}, opt.v().data()}});
  nlohmann::json st = {{"step", rs.step},     {"updates", rs.updates},        {"loss_ema", rs.loss_ema},
                       {"tokens", rs.tokens}, {"loader", loader.state()},     {"seed", cfg.seed},
                       {"threads", omp_get_max_threads()},                    {"format", "kormo-trainer-state-1"}};
  write_file_atomic((tmp / "trainer_state" / "state.json").string(), st.dump(2) + "\n");
  fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
  log_info("checkpoint {}", final_dir.string());
}

void load_checkpoint(const std::string& dir, model::Model& m, AdamW& opt, RunState& rs, shard::DataLoader& loader) {
  model::load_weights(m, dir + "/model.safetensors");
  model::SafeTensors st(dir + "/trainer_state/optimizer.safetensors");
  st.read("adamw.m", opt.m().data(), {static_cast<int64_t>(opt.m().size())});
  st.read("adamw.v", opt.v().data(), {static_cast<int64_t>(opt.v().size())});
  std::string sp = dir + "/trainer_state/state.json";
  try {
    auto j = nlohmann::json::parse(read_file(sp));
    rs.step = j.at("step");
    rs.updates = j.at("updates");
    rs.loss_ema = j.at("loss_ema");
    rs.tokens = j.at("tokens");
    if (j.at("threads").get<int>() != omp_get_max_threads())
      log_warn("{}: saved with {} threads, resuming with {}: the run stays valid but is no longer bit-identical", sp,
               j.at("threads").get<int>(), omp_get_max_threads());
    loader.restore(j.at("loader"));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed trainer state: {}", sp, e.what());
  }
}

// Keeps the metrics lines of steps ≤ step (a resumed run rewrites what followed).
void truncate_metrics(const std::string& path, int64_t step) {
  if (!fs::exists(path)) return;
  std::string kept;
  LineReader r(path);
  std::string_view line;
  while (r.next(line)) {
    auto j = parse_json_or_discarded(line);
    if (!j.is_discarded() && j.contains("step") && j["step"].get<int64_t>() <= step) kept += std::string(line) + "\n";
  }
  write_file_atomic(path, kept);
}

struct EvalResult {
  nlohmann::json fields;
  double loss = 0;
};

EvalResult evaluate(model::Model& m, const std::vector<shard::LoadedBatch>& val) {
  double loss[shard::kNumLangs] = {}, bytes[shard::kNumLangs] = {}, count[shard::kNumLangs] = {};
  for (const auto& b : val) {
    m.forward(b.batch);
    const float* l = m.losses();
    for (size_t n = 0; n < b.batch.targets.size(); ++n) {
      if (b.batch.targets[n] < 0) continue;
      int g = b.lang[n] < shard::kNumLangs ? b.lang[n] : shard::kNumLangs - 1;
      loss[g] += l[n];
      bytes[g] += b.target_bytes[n];
      count[g] += 1;
    }
  }
  EvalResult r;
  double tl = 0, tc = 0;
  for (int g = 0; g < shard::kNumLangs; ++g) {
    if (count[g] == 0) continue;
    tl += loss[g], tc += count[g];
    r.fields[std::string("val_loss_") + shard::lang_name(g)] = loss[g] / count[g];
    if (bytes[g] > 0) r.fields[std::string("val_bpb_") + shard::lang_name(g)] = loss[g] / std::log(2.0) / bytes[g];
  }
  r.loss = tc > 0 ? tl / tc : NAN;
  if (tc > 0) r.fields["val_loss"] = r.loss;
  return r;
}

}  // namespace

std::string latest_checkpoint(const std::string& out_dir) {
  std::string best;
  if (!fs::is_directory(out_dir)) return best;
  for (const auto& e : fs::directory_iterator(out_dir)) {
    std::string n = e.path().filename().string();
    if (e.is_directory() && n.rfind("step-", 0) == 0 && fs::exists(e.path() / "trainer_state" / "state.json") &&
        n > fs::path(best).filename().string())
      best = e.path().string();
  }
  return best;
}

void pretrain(const PretrainOptions& opts) {
  PretrainConfig cfg = load_config(opts.config_path);
  if (cfg.threads > 0) omp_set_num_threads(static_cast<int>(cfg.threads));
  shard::DataLoader loader(cfg.sources, cfg.loader);
  if (loader.vocab_size() > cfg.model.vocab_size)
    fail("{}: shards use a vocabulary of {} ids but the model's vocab_size is {} (config/vocab mismatch)",
         opts.config_path, loader.vocab_size(), cfg.model.vocab_size);
  std::string resume_from;
  if (fs::exists(cfg.out_dir)) {
    resume_from = latest_checkpoint(cfg.out_dir);
    if (!opts.resume && (!resume_from.empty() || fs::exists(fs::path(cfg.out_dir) / "metrics.jsonl")))
      fail("{}: run directory already holds a run; pass --resume to continue it (nothing was changed)", cfg.out_dir);
  }
  if (opts.resume && resume_from.empty()) fail("{}: --resume given but there is no checkpoint to resume", cfg.out_dir);

  model::Model m(cfg.model);
  AdamW opt(cfg.adamw, m.params().size());
  RunState rs;
  if (resume_from.empty()) {
    m.init_weights(cfg.seed);
  } else {
    load_checkpoint(resume_from, m, opt, rs, loader);
    log_info("resuming from {} (step {})", resume_from, rs.step);
  }
  make_dirs(cfg.out_dir);
  const std::string metrics_path = cfg.out_dir + "/metrics.jsonl";
  truncate_metrics(metrics_path, rs.step);
  std::ofstream metrics(metrics_path, std::ios::app);
  if (!metrics) fail("{}: cannot open for appending", metrics_path);

  const int64_t total = cfg.schedule.total_steps;
  const int64_t stop = opts.max_steps >= 0 ? std::min(total, rs.step + opts.max_steps) : total;
  const int64_t step_tokens = cfg.grad_accum * cfg.loader.batch_size * cfg.loader.seq_len;
  const double flops_per_token = model::train_flops_per_token(cfg.model, cfg.loader.seq_len);
  const int64_t warmup_steps = static_cast<int64_t>(std::floor(cfg.schedule.warmup_frac * total));
  std::vector<shard::LoadedBatch> val;
  if (cfg.eval_every > 0 || cfg.val_tokens > 0) val = loader.validation(cfg.val_tokens);
  if (val.empty()) log_warn("no validation text (val_fraction {} of the documents)", cfg.loader.val_fraction);
  log_info("model {} parameters, {} threads, GEMM {}, {} tokens/step, {} training / {} validation documents",
           model::num_parameters(cfg.model), omp_get_max_threads(), model::gemm_backend_name(), step_tokens,
           loader.train_docs(), loader.val_docs());
  model::op_profile().enabled = cfg.profile;

  Progress progress("pretrain", static_cast<double>(stop), "steps");
  progress.update(static_cast<double>(rs.step));
  std::vector<shard::LoadedBatch> micro(cfg.grad_accum);
  while (rs.step < stop) {
    auto t0 = std::chrono::steady_clock::now();
    double valid = 0;
    {
      model::OpTimer tm("data");
      for (auto& mb : micro) {
        mb = loader.next_train();
        for (int32_t t : mb.batch.targets) valid += t >= 0;
      }
    }
    {
      model::OpTimer tm("zero_grads");
      m.zero_grads();
    }
    double loss_sum = 0;
    for (auto& mb : micro) {
      loss_sum += m.forward(mb.batch, static_cast<float>(cfg.z_loss));
      std::vector<float> w(mb.batch.targets.size());
      for (size_t n = 0; n < w.size(); ++n) w[n] = mb.batch.targets[n] >= 0 ? static_cast<float>(1.0 / valid) : 0.f;
      m.backward(mb.batch, w);
    }
    const double loss = valid > 0 ? loss_sum / valid : NAN;
    double norm;
    {
      model::OpTimer tm("grad_norm");
      norm = grad_norm(m.grads());
    }
    const double lr = lr_at(cfg.schedule, rs.step);
    bool skip = !std::isfinite(loss) || !std::isfinite(norm);
    if (!skip && cfg.spike_factor > 0 && rs.step >= warmup_steps && rs.loss_ema > 0 &&
        loss > cfg.spike_factor * rs.loss_ema)
      skip = true;
    if (skip) {
      log_warn("step {}: skipped the update (loss {}, grad norm {}, running loss {:.4f})", rs.step + 1, loss, norm,
               rs.loss_ema);
    } else {
      model::OpTimer tm("adamw");
      const float clip = cfg.grad_clip > 0 && norm > cfg.grad_clip ? static_cast<float>(cfg.grad_clip / norm) : 1.f;
      opt.step(m.params(), m.grads(), m.tensors(), lr, ++rs.updates, clip);
      rs.loss_ema = rs.loss_ema == 0 ? loss : 0.95 * rs.loss_ema + 0.05 * loss;
    }
    rs.step += 1;
    rs.tokens += step_tokens;
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double tps = static_cast<double>(step_tokens) / dt;
    const double mfu = tps * flops_per_token / (cfg.peak_gflops * 1e9);
    nlohmann::ordered_json line = {{"step", rs.step},         {"loss", loss},    {"lr", lr},
                                   {"grad_norm", norm},       {"skipped", skip}, {"tokens", rs.tokens},
                                   {"tokens_per_s", tps},     {"mfu", mfu},      {"step_s", dt}};
    const bool last = rs.step == stop;
    if (!val.empty() && ((cfg.eval_every > 0 && rs.step % cfg.eval_every == 0) || (last && rs.step == total))) {
      EvalResult er = evaluate(m, val);
      for (auto& [k, v] : er.fields.items()) line[k] = v;
      log_info("step {}: val loss {:.4f}", rs.step, er.loss);
    }
    metrics << line.dump() << "\n";
    metrics.flush();
    progress.update(static_cast<double>(rs.step),
                    fmt::format("loss {:.4f} lr {:.2e} {:.0f} tok/s MFU {:.1f}%", loss, lr, tps, 100 * mfu));
    if (last || (cfg.checkpoint_every > 0 && rs.step % cfg.checkpoint_every == 0))
      save_checkpoint(cfg, m, opt, rs, loader);
  }
  progress.finish();
  if (cfg.profile) {
    double tot = 0;
    for (auto& [k, v] : model::op_profile().seconds) tot += v;
    for (auto& [k, v] : model::op_profile().seconds)
      log_info("profile {:<13} {:8.3f} s {:5.1f}%", k, v, 100 * v / tot);
  }
}

}  // namespace kormo::train
