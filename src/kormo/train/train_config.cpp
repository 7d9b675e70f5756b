#include "kormo/train/train_config.h"

#include <filesystem>
#include <tuple>

#include "kormo/tok/tokenizer.h"
#include "kormo/util/error.h"
#include "kormo/util/log.h"

namespace kormo::train {

namespace fs = std::filesystem;

TrainSection read_train_section(ConfigSection& tr, const std::string& path, int64_t default_steps) {
  TrainSection ts;
  ts.loop.out_dir = tr.require_string("out_dir");
  ts.loop.schedule.total_steps = tr.get_int("steps", default_steps);
  if (ts.loop.schedule.total_steps <= 0)
    fail("{}: [train] steps must be positive, got {}", path, ts.loop.schedule.total_steps);
  ts.loop.schedule.peak = tr.get_double("lr", 1e-3);
  ts.loop.schedule.kind = tr.get_string("schedule", "wsd");
  ts.loop.schedule.warmup_frac = tr.get_double("warmup_frac", 0.03);
  ts.loop.schedule.decay_frac = tr.get_double("decay_frac", 0.2);
  ts.loop.schedule.min_ratio = tr.get_double("min_lr_ratio", 0.05);
  validate(ts.loop.schedule, path + " [train]");
  ts.loop.adamw.beta1 = tr.get_double("beta1", 0.9);
  ts.loop.adamw.beta2 = tr.get_double("beta2", 0.95);
  ts.loop.adamw.eps = tr.get_double("eps", 1e-8);
  ts.loop.adamw.weight_decay = tr.get_double("weight_decay", 0.033);
  ts.loop.grad_clip = tr.get_double("grad_clip", 1.0);
  ts.loop.z_loss = tr.get_double("z_loss", 0.0);
  ts.loop.spike_factor = tr.get_double("spike_factor", 0.0);
  ts.loop.peak_flops = tr.get_double("peak_gflops", 350.0) * 1e9;
  ts.loop.seed = static_cast<uint64_t>(tr.get_int("seed", 1));
  ts.threads = tr.get_int("threads", 0);
  if (ts.threads < 0) fail("{}: [train] threads must be at least 0 (0 = all cores), got {}", path, ts.threads);
  ts.loop.eval_every = tr.get_int("eval_every", 0);
  if (ts.loop.eval_every < 0) fail("{}: [train] eval_every must be at least 0, got {}", path, ts.loop.eval_every);
  ts.loop.checkpoint_every = tr.get_int("checkpoint_every", 0);
  if (ts.loop.checkpoint_every < 0)
    fail("{}: [train] checkpoint_every must be at least 0, got {}", path, ts.loop.checkpoint_every);
  ts.loop.keep_last = tr.get_int("keep_last", 0);
  if (ts.loop.keep_last < 0)
    fail("{}: [train] keep_last must be at least 0 (0 = keep every checkpoint), got {}", path, ts.loop.keep_last);
  ts.loop.max_skipped = tr.get_int("max_skipped", 20);
  if (ts.loop.max_skipped < 0)
    fail("{}: [train] max_skipped must be at least 0 (0 = never stop), got {}", path, ts.loop.max_skipped);
  const int64_t zero = tr.get_int("zero", 0);
  if (zero != 0 && zero != 1)
    fail("{}: [train] zero must be 0 (every rank keeps the whole AdamW state) or 1 (ZeRO-1: the state is sharded "
         "over the ranks), got {}",
         path, zero);
  ts.loop.zero = zero == 1;
  ts.tokenizer = tr.get_string("tokenizer", "");
  ts.loop.profile = tr.get_bool("profile", false);
  ts.loop.precision = model::parse_precision(tr.get_string("precision", "fp32"), path + " [train] precision");
  ts.loop.recompute = tr.get_bool("recompute", false);
  ts.backend = tr.get_string("backend", "auto");
  if (!ts.tokenizer.empty() && !fs::exists(ts.tokenizer))
    fail("{}: tokenizer '{}' does not exist", path, ts.tokenizer);
  return ts;
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

}  // namespace kormo::train
