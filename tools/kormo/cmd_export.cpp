// kormo export gguf: a model directory and its tokenizer as one GGUF file for llama.cpp.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "kormo/gguf/llama.h"
#include "kormo/model/checkpoint.h"
#include "kormo/tok/tokenizer.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"
#include "kormo/util/log.h"
#include "verb.h"

namespace cmd_export {

namespace fs = std::filesystem;
using kormo::fail;

struct GgufArgs {
  std::string model, output, tokenizer, type = "f32", name;
};

nlohmann::json read_tokenizer_config(const std::string& path) {
  if (!fs::exists(path)) return nullptr;
  nlohmann::json j = kormo::parse_json_or_discarded(kormo::read_file(path));
  if (j.is_discarded() || !j.is_object()) fail("{}: not a JSON object", path);
  return j;
}

void run_gguf(const GgufArgs& a) {
  const auto type = kormo::gguf::parse_file_type(a.type);
  if (!fs::is_directory(a.model)) fail("{}: not a model directory (config.json + model.safetensors)", a.model);
  kormo::check_output_not_input(a.output, {a.model});
  std::string tok_path = a.tokenizer.empty() ? a.model + "/tokenizer.json" : a.tokenizer;
  if (fs::is_directory(tok_path)) tok_path += "/tokenizer.json";
  if (!fs::exists(tok_path)) fail("{}: no tokenizer.json (give one with --tokenizer)", tok_path);
  auto tok = kormo::tok::Tokenizer::load(tok_path);
  kormo::gguf::LlamaExport opt;
  opt.type = type;
  opt.tokenizer_config_origin = (fs::path(tok_path).parent_path() / "tokenizer_config.json").string();
  opt.tokenizer_config = read_tokenizer_config(opt.tokenizer_config_origin);
  opt.name = a.name.empty() ? fs::weakly_canonical(a.model).filename().string() : a.name;
  auto weights = kormo::model::load_model_dir(a.model);
  kormo::gguf::export_llama(weights, tok, opt, a.output);
  kormo::log_info("wrote {} ({}, {} bytes)", a.output, a.type, fs::file_size(a.output));
}

void setup(CLI::App& verb) {
  verb.require_subcommand(1);
  CLI::App* g = verb.add_subcommand("gguf", "A GGUF v3 file for llama.cpp (architecture llama)");
  static GgufArgs a;
  g->add_option("model", a.model, "Model directory: a kormo checkpoint or an HF Llama directory")->required();
  g->add_option("-o,--output", a.output, "The .gguf file, written atomically")->required();
  g->add_option("--type", a.type, "Matrix type: f32, f16, bf16 or q8_0 (norms stay f32)")->capture_default_str();
  g->add_option("--tokenizer", a.tokenizer,
                "tokenizer.json or its directory (default: MODEL/tokenizer.json); tokenizer_config.json "
                "beside it gives add_bos_token and the chat template");
  g->add_option("--name", a.name, "general.name (default: the model directory's name)");
  g->footer("Example:\n  kormo export gguf runs/demo/pretrain/step-0000300 -o demo.q8_0.gguf --type q8_0\n"
            "  llama-cli -m demo.q8_0.gguf -p \"서울은\"\nKeys and tensors: docs/export.md.");
  g->callback([] { run_gguf(a); });
}

KORMO_VERB("export", "Export a model for other runtimes (gguf: llama.cpp)", 80, setup);

}  // namespace cmd_export
