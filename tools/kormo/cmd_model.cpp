// kormo model: inspect model configs (info) and run the reference-check driver (check).
#include <filesystem>

#include <fmt/format.h>

#include "kormo/model/config.h"
#include "kormo/model/gemm.h"
#include "kormo/train/check.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "verb.h"

namespace {

kormo::model::ModelConfig read_config(const std::string& path) {
  if (std::filesystem::is_directory(path) || path.ends_with(".json")) {
    std::string p = std::filesystem::is_directory(path) ? path + "/config.json" : path;
    try {
      return kormo::model::model_config_from_hf(nlohmann::json::parse(kormo::read_file(p)), p);
    } catch (const nlohmann::json::exception& e) {
      kormo::fail("{}: invalid JSON: {}", p, e.what());
    }
  }
  return kormo::model::load_model_config(path);
}

std::string gib(double bytes) { return fmt::format("{:.2f} GiB", bytes / (1024.0 * 1024 * 1024)); }

void setup(CLI::App& verb) {
  verb.require_subcommand(1);
  static std::string config;
  static int64_t batch = 1, seq = 4096;
  CLI::App* info = verb.add_subcommand("info", "Parameter count, FLOPs per token and fp32 training memory");
  info->add_option("config", config, "Model TOML ([model] section) or HF config.json / model directory")->required();
  info->add_option("--batch", batch, "Sequences per step for the activation estimate")->capture_default_str();
  info->add_option("--seq", seq, "Sequence length")->capture_default_str();
  info->callback([] {
    auto c = read_config(config);
    auto mem = kormo::model::estimate_memory(c, batch, seq);
    int64_t n = kormo::model::num_parameters(c);
    fmt::print("config            {}\n", config);
    fmt::print("layers            {} × (hidden {}, FFN {}, {} heads / {} KV heads × {})\n", c.num_layers,
               c.hidden_size, c.intermediate_size, c.num_heads, c.num_kv_heads, c.head_dim);
    fmt::print("vocab             {}\n", c.vocab_size);
    fmt::print("parameters        {} ({:.3f} B)\n", n, static_cast<double>(n) / 1e9);
    fmt::print("train FLOPs/token {:.4g} at seq {}\n", kormo::model::train_flops_per_token(c, seq), seq);
    fmt::print("memory (fp32, batch {} × seq {}): weights {}, grads {}, AdamW {}, activations {}, total {}\n", batch,
               seq, gib(mem.weights), gib(mem.grads), gib(mem.optimizer), gib(mem.activations),
               gib(mem.weights + mem.grads + mem.optimizer + mem.activations));
    fmt::print("GEMM backend      {}\n", kormo::model::gemm_backend_name());
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
  check->callback([] { kormo::train::model_check(chk); });
}

}  // namespace

KORMO_VERB("model", "Model shapes: parameter count, FLOPs and memory (`kormo model info CONFIG`)", 50, setup);
