// kormo model: inspect model configs and checkpoints (info), create a checkpoint
// (init), and run the reference-check driver (check).
#include <omp.h>
#include <sys/resource.h>

#include <filesystem>

#include <fmt/format.h>

#include "kormo/backend/backend.h"
#include "kormo/model/checkpoint.h"
#include "kormo/model/config_io.h"
#include "kormo/train/check.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/profile.h"
#include "verb.h"

namespace cmd_model {

kormo::model::ModelConfig read_config(const std::string& path) {
  if (std::filesystem::is_directory(path) || path.ends_with(".json"))
    return kormo::model::load_hf_config(std::filesystem::is_directory(path) ? path + "/config.json" : path);
  return kormo::model::load_model_config(path);
}

// Three decimals: the estimate is checked against measured RSS to a few MiB.
std::string gib(double bytes) { return fmt::format("{:.3f} GiB", bytes / (1024.0 * 1024 * 1024)); }

double peak_rss_bytes() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) * 1024.0;  // Linux reports KiB
}

void setup(CLI::App& verb) {
  verb.require_subcommand(1);
  static std::string config, backend_name = "cpu";
  static int64_t batch = 1, seq = 4096;
  static int threads = 0;
  static bool load = false;
  static kormo::model::GpuPlanOptions plan;
  static double gpu_tflops = 989, gpu_gib = 141;
  CLI::App* info = verb.add_subcommand("info", "Parameter count, FLOPs per token and fp32 training memory");
  info->add_option("config", config, "Model TOML ([model] section) or HF config.json / model directory")->required();
  info->add_option("--batch", batch, "Sequences per step for the activation estimate")->capture_default_str();
  info->add_option("--seq", seq, "Sequence length")->capture_default_str();
  info->add_option("--threads", threads,
                   "CPU training threads for the runtime estimate (per-thread attention scratch); 0 = the OpenMP "
                   "default, as [train] threads = 0")
      ->capture_default_str();
  info->add_flag("--load", load,
                 "Also load the model directory's weights for inference and report the memory it took (peak RSS)");
  info->add_option("--backend", backend_name, "Backend to load into with --load: cpu, cuda, auto")
      ->capture_default_str();
  info->add_option("--gpus", plan.gpus, "Print a GPU plan for this many data-parallel GPUs (--batch is per GPU)");
  info->add_option("--zero", plan.zero_stage, "GPU plan: ZeRO stage (0, or 1 = AdamW moments sharded)")
      ->capture_default_str();
  info->add_flag("--recompute", plan.recompute,
                 "Memory and GPU plan with [train] recompute = true: backward recomputes each layer's activations");
  info->add_option("--mfu", plan.mfu, "GPU plan: model FLOPs utilisation to assume")->capture_default_str();
  info->add_option("--gpu-tflops", gpu_tflops, "GPU plan: dense bf16 peak per GPU")->capture_default_str();
  info->add_option("--gpu-memory", gpu_gib, "GPU plan: memory per GPU in GiB")->capture_default_str();
  info->footer(
      "Examples:\n"
      "  kormo model info configs/model/proxy-1b.toml --batch 8 --seq 4096\n"
      "  kormo model info configs/model/kormo-10b.toml --batch 1 --seq 4096 --gpus 64 --zero 1 --recompute\n"
      "  kormo model info runs/demo/pretrain/step-0000300 --load");
  info->callback([info] {
    auto c = read_config(config);
    if (threads < 0) kormo::fail_usage("--threads must be at least 0, got {}", threads);
    const int nthreads = threads > 0 ? threads : omp_get_max_threads();
    // This binary's own resident size stands for the program part of the estimate: the
    // same binary trains, and whether it loads the CUDA libraries changes it by ~200 MiB.
    auto mem = kormo::model::estimate_memory(c, batch, seq, nthreads, kormo::resident_bytes());
    int64_t n = kormo::model::num_parameters(c);
    fmt::print("config            {}\n", config);
    fmt::print("layers            {} × (hidden {}, FFN {}, {} heads / {} KV heads × {})\n", c.num_layers,
               c.hidden_size, c.intermediate_size, c.num_heads, c.num_kv_heads, c.head_dim);
    fmt::print("vocab             {}\n", c.vocab_size);
    fmt::print("parameters        {} ({:.3f} B)\n", n, static_cast<double>(n) / 1e9);
    fmt::print("train FLOPs/token {:.4g} at seq {}\n", kormo::model::train_flops_per_token(c, seq), seq);
    const double act = plan.recompute ? mem.activations_recompute : mem.activations;
    fmt::print("memory (fp32, batch {} × seq {}, {} threads{}): weights {}, grads {}, AdamW {}, activations {}, "
               "runtime {}, total {} (peak RSS of CPU training)\n",
               batch, seq, nthreads, plan.recompute ? ", recompute" : "", gib(mem.weights), gib(mem.grads),
               gib(mem.optimizer), gib(act), gib(mem.runtime),
               gib(mem.weights + mem.grads + mem.optimizer + act + mem.runtime));
    fmt::print("backends          {} (default for training: auto)\n", kormo::backend::available());
    if (info->count("--gpus")) {
      plan.batch = batch, plan.seq = seq, plan.peak_flops = gpu_tflops * 1e12;
      const auto g = kormo::model::plan_gpu(c, plan);
      fmt::print("GPU plan          {} GPU(s) × batch {} × seq {}, ZeRO-{}, recompute {} (fp32 storage, as the CUDA "
                 "backend keeps it)\n",
                 plan.gpus, batch, seq, plan.zero_stage, plan.recompute ? "on" : "off");
      fmt::print("  per GPU         weights {}, grads {}, AdamW {}, activations {}, total {} of {:.0f} GiB: {}\n",
                 gib(g.per_gpu.weights), gib(g.per_gpu.grads), gib(g.per_gpu.optimizer), gib(g.activations),
                 gib(g.total_bytes), gpu_gib,
                 g.total_bytes <= gpu_gib * 1024 * 1024 * 1024 ? "fits" : "does NOT fit");
      fmt::print("  step            {:.3f} s at MFU {:.0f}% of {:.0f} TFLOP/s → {:.0f} tokens/s over all GPUs\n",
                 g.step_s, 100 * plan.mfu, gpu_tflops, g.tokens_per_s);
    }
    if (load) {
      if (!std::filesystem::is_directory(config)) kormo::fail("--load needs a model directory, not {}", config);
      kormo::backend::Backend& be = kormo::backend::get(backend_name);
      kormo::model::Weights w = kormo::model::load_model_dir(config, be);
      const double bytes = static_cast<double>(w.size()) * sizeof(float);
      fmt::print("loaded            {} fp32 weights on {}, peak RSS {} ({:.3f}× the weights)\n", gib(bytes),
                 be.name(), gib(peak_rss_bytes()), peak_rss_bytes() / bytes);
    }
  });

  static std::string init_out, init_dtype = "float32";
  static uint64_t init_seed = 1;
  CLI::App* init = verb.add_subcommand("init", "Write a randomly initialised model directory (HF layout) for a config");
  init->add_option("config", config, "Model TOML ([model] section) or HF config.json")->required();
  init->add_option("out", init_out, "Output model directory (created; must not exist)")->required();
  init->add_option("--seed", init_seed, "Initialisation seed")->capture_default_str();
  init->add_option("--dtype", init_dtype, "Stored dtype: float32, bfloat16, float16")->capture_default_str();
  init->footer("Example:\n  kormo model init configs/model/tiny.toml /tmp/tiny-init --dtype bfloat16");
  init->callback([] {
    const auto dtype = kormo::model::parse_dtype(init_dtype);
    if (std::filesystem::exists(init_out)) kormo::fail("{}: already exists (nothing was changed)", init_out);
    kormo::model::Weights w(read_config(config), kormo::backend::cpu());
    w.init_random(init_seed);
    // Written under a temporary name and renamed, so a killed init leaves no half model.
    const std::string tmp = init_out + ".tmp";
    std::filesystem::remove_all(tmp);
    kormo::make_dirs(tmp);
    kormo::model::save_model_dir(tmp, w, dtype);
    std::filesystem::rename(tmp, init_out);
    fmt::print("wrote {} ({} parameters, {})\n", init_out, w.size(), kormo::model::dtype_name(dtype));
  });

  static kormo::train::CheckOptions chk;
  CLI::App* check = verb.add_subcommand(
      "check", "Debug: forward, backward and one AdamW step on a batch, everything into one safetensors file");
  check->group("");  // hidden: a test driver, not a user command
  check->add_option("--model", chk.model_dir, "Model directory (config.json + model.safetensors)")->required();
  check->add_option("--batch", chk.batch_path, "Batch JSON {B, T, inputs, targets, doc}")->required();
  check->add_option("--out", chk.out_path, "Output safetensors")->required();
  check->add_option("--z-loss", chk.z_loss, "z-loss coefficient");
  check->add_option("--lr", chk.lr, "AdamW learning rate");
  check->add_option("--weight-decay", chk.weight_decay, "AdamW weight decay");
  check->add_option("--backend", chk.backend, "cpu, cuda or auto");
  check->add_option("--precision", chk.precision, "fp32 or bf16 (matmuls)");
  check->add_option("--loss-chunk-rows", chk.loss_chunk_rows, "Rows per LM-head/loss chunk (0 = automatic)");
  check->callback([] { kormo::train::model_check(chk); });
}

KORMO_VERB("model", "Model shapes: parameter count, FLOPs and memory (`kormo model info CONFIG`)", 50, setup);

}  // namespace cmd_model
