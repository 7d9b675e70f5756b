// kormo pretrain: train a model from token shards (see docs/engine.md).
#include "kormo/train/pretrain.h"
#include "verb.h"

namespace {

void setup(CLI::App& verb) {
  static kormo::train::PretrainOptions o;
  verb.add_option("config", o.config_path, "Pretraining TOML ([model] or [train] model, [data], [train])")
      ->required();
  verb.add_flag("--resume", o.resume, "Continue the run in out_dir from its latest checkpoint");
  verb.add_option("--max-steps", o.max_steps, "Stop after this many steps of this invocation (checkpoint at the stop)");
  verb.footer("Example: kormo pretrain configs/pretrain/tiny.toml");
  verb.callback([] { kormo::train::pretrain(o); });
}

}  // namespace

KORMO_VERB("pretrain", "Pretrain a decoder on .ktok shards (CPU, fp32), HF checkpoints, exact resume", 60, setup);
