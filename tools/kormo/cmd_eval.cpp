// kormo eval: multiple-choice and generation benchmarks over a model directory, scored as
// lm-evaluation-harness scores them; results JSON in its layout, per-item samples, a table.
#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kormo/eval/contamination.h"
#include "kormo/eval/endpoint.h"
#include "kormo/eval/evaluate.h"
#include "kormo/model/checkpoint.h"
#include "kormo/tok/tokenizer.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"
#include "kormo/util/profile.h"
#include "kormo/util/progress.h"
#include "verb.h"

namespace cmd_eval {

using kormo::fail;
using kormo::fail_usage;

struct Args {
  std::string model, tokenizer, output, samples, endpoint, api_key, ca_file, served_model, precision = "fp32", backend = "auto", fewshot_sampler;
  std::vector<std::string> tasks, fewshot, contamination;
  int64_t limit = 0, num_fewshot = -1, batch_tokens = 4096, max_length = 0, max_gen_toks = 0, fewshot_seed = -1;
  int threads = 0;
  bool list = false, profile = false;
};

// "NAME=PATH" → (NAME, PATH); `what` names the option in errors.
std::pair<std::string, std::string> name_and_path(const std::string& arg, const char* what) {
  const size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size())
    fail_usage("{} '{}': expected TASK=DATA_FILE (e.g. kobest_copa=COPA/dev.tsv)", what, arg);
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

void list_tasks() {
  for (const auto& t : kormo::eval::builtin_tasks())
    std::printf("%-18s %s\n", t.name.c_str(), t.about.c_str());
}

void run(const Args& a) {
  if (a.list) return list_tasks();
  const bool check_only = a.model.empty() && a.endpoint.empty() && !a.contamination.empty();
  if (a.model.empty() && a.endpoint.empty() && !check_only)
    fail_usage("give a model directory or --endpoint (or --list-tasks, or only --contamination)");
  if (!a.model.empty() && !a.endpoint.empty()) fail_usage("give a model directory or --endpoint, not both");
  if (!a.ca_file.empty() && a.endpoint.rfind("https://", 0) != 0) fail_usage("--ca-file applies only to an https --endpoint");
  if (!a.endpoint.empty() && a.tokenizer.empty())
    fail_usage("--endpoint needs --tokenizer (the served model's tokenizer.json: requests are sent as token ids)");
  if (a.tasks.empty()) fail_usage("give at least one --task TASK=DATA_FILE (see --list-tasks)");
  if (a.threads > 0) omp_set_num_threads(a.threads);
  if (a.limit < 0) fail_usage("--limit must be ≥ 0 (got {})", a.limit);
  if (a.max_gen_toks < 0) fail_usage("--max-gen-toks must be ≥ 1 (got {})", a.max_gen_toks);

  std::vector<kormo::eval::TaskRun> runs;
  std::map<std::string, std::string> fewshot_files;
  for (const auto& f : a.fewshot) fewshot_files.insert(name_and_path(f, "--fewshot-data"));
  std::map<std::string, int> uses;
  for (const auto& arg : a.tasks) ++uses[name_and_path(arg, "--task").first];
  for (const auto& arg : a.tasks) {
    auto [name, path] = name_and_path(arg, "--task");
    kormo::eval::TaskRun r{kormo::eval::load_task(name), path, "", a.limit};
    if (a.num_fewshot >= 0) r.spec.num_fewshot = a.num_fewshot;
    if (!a.fewshot_sampler.empty()) r.spec.fewshot_sampler = a.fewshot_sampler;
    if (a.fewshot_seed >= 0) r.spec.fewshot_seed = static_cast<uint64_t>(a.fewshot_seed);
    if (a.max_gen_toks > 0) r.spec.max_gen_toks = a.max_gen_toks;
    // One task over several files (e.g. MMLU's subjects): each result is named after its file.
    if (uses[name] > 1) r.spec.name += "_" + std::filesystem::path(path).stem().string();
    for (const std::string& key : {r.spec.name, name})
      if (auto it = fewshot_files.find(key); it != fewshot_files.end() && r.fewshot_data.empty())
        r.fewshot_data = it->second;
    runs.push_back(std::move(r));
  }
  std::vector<std::string> inputs;
  if (!a.model.empty()) inputs.push_back(a.model);
  for (const auto& r : runs) inputs.push_back(r.data);
  for (const auto& f : a.contamination) inputs.push_back(f);
  for (const std::string& out : {a.output, a.samples})
    if (!out.empty()) kormo::check_output_not_input(out, inputs);

  std::optional<kormo::eval::ContaminationReport> contamination;
  if (!a.contamination.empty()) {
    contamination = kormo::eval::check_contamination(runs, a.contamination);
    kormo::log_info("contamination: {} training documents checked", contamination->train_docs);
  }
  if (check_only) {
    if (!a.output.empty()) {
      kormo::AtomicWriter w(a.output);
      w.write(nlohmann::ordered_json{{"contamination", kormo::eval::contamination_json(*contamination)}}.dump(2) + "\n");
      w.commit();
    }
    const std::string table = kormo::eval::contamination_table(*contamination);
    std::fwrite(table.data(), 1, table.size(), stdout);
    return;
  }

  if (!a.model.empty() && !std::filesystem::is_directory(a.model))
    fail("{}: not a model directory (config.json + model.safetensors)", a.model);
  const std::string tok_path = a.tokenizer.empty() ? a.model + "/tokenizer.json" : a.tokenizer;
  if (!std::filesystem::exists(tok_path)) fail("{}: no tokenizer.json (give one with --tokenizer)", tok_path);
  auto tok = kormo::tok::Tokenizer::load(tok_path);
  std::optional<kormo::model::Weights> weights;
  std::unique_ptr<kormo::eval::Scorer> scorer;
  int64_t window = a.max_length;
  if (a.endpoint.empty()) {
    weights.emplace(kormo::model::load_model_dir(a.model, kormo::backend::get(a.backend)));
    if (static_cast<int64_t>(tok.vocab_size()) > weights->config().vocab_size)
      fail("{}: tokenizer has {} tokens, more than the model's vocabulary of {}", tok_path, tok.vocab_size(),
           weights->config().vocab_size);
    if (window <= 0) window = weights->config().max_seq_len;
    scorer = std::make_unique<kormo::eval::LoglikelihoodScorer>(
        *weights, tok,
        kormo::eval::ScorerOptions{.max_length = window,
                                   .batch_tokens = a.batch_tokens,
                                   .precision = kormo::model::parse_precision(a.precision, "--precision")});
  } else {
    if (window <= 0) window = 2048;
    const int32_t bos = tok.special_ids().bos;
    scorer = std::make_unique<kormo::eval::EndpointScorer>(
        a.endpoint, tok,
        kormo::eval::EndpointOptions{.model = a.served_model, .api_key = a.api_key, .ca_file = a.ca_file, .max_length = window,
                                     .prefix_token = bos >= 0 ? bos : 0});
  }

  kormo::op_profile().enabled = a.profile;
  std::vector<kormo::eval::TaskResult> results;
  for (const auto& r : runs) {
    kormo::Progress progress(r.spec.name, 0, "items");
    results.push_back(kormo::eval::evaluate_task(r, *scorer, [&](int64_t done, int64_t total) {
      progress.update(static_cast<double>(done), fmt::format("{}/{}", done, total));
    }));
    const auto& res = results.back();
    progress.finish(fmt::format("{} items in {:.1f} s ({:.1f} items/s)", res.items.size(), res.seconds,
                                static_cast<double>(res.items.size()) / res.seconds));
  }

  if (a.profile) kormo::log_op_profile();
  nlohmann::ordered_json config = {{"model", a.endpoint.empty() ? "kormo" : "kormo-endpoint"},
                                   {"model_args", a.endpoint.empty() ? a.model : a.endpoint},
                                   {"tokenizer", tok_path},
                                   {"max_length", window},
                                   {"limit", a.limit > 0 ? nlohmann::ordered_json(a.limit) : nlohmann::ordered_json()}};
  if (!a.output.empty()) {
    kormo::AtomicWriter w(a.output);
    nlohmann::ordered_json out = kormo::eval::results_json(results, config);
    if (contamination) out["contamination"] = kormo::eval::contamination_json(*contamination);
    w.write(out.dump(2) + "\n");
    w.commit();
    kormo::log_info("wrote results to {}", a.output);
  }
  if (!a.samples.empty()) {
    kormo::AtomicWriter w(a.samples);
    for (const auto& r : results) w.write(kormo::eval::samples_jsonl(r));
    w.commit();
    kormo::log_info("wrote per-item samples to {}", a.samples);
  }
  std::string table = kormo::eval::markdown_table(results);
  if (contamination) table += kormo::eval::contamination_table(*contamination);
  std::fwrite(table.data(), 1, table.size(), stdout);
  std::fflush(stdout);
}

void setup(CLI::App& verb) {
  static Args a;
  verb.add_option("model", a.model, "Model directory: a kormo checkpoint or an HF Llama directory");
  verb.add_option("-t,--task", a.tasks,
                  "TASK=DATA_FILE (repeatable): a built-in task (--list-tasks) or a task file (.toml) "
                  "and the documents to score");
  verb.add_option("--fewshot-data", a.fewshot,
                  "TASK=FILE: where few-shot examples come from (drawn by the task's sampler); TASK may be a result "
                  "name such as mmlu_anatomy_dev when one task runs over several files");
  verb.add_option("--num-fewshot", a.num_fewshot, "Few-shot examples per item, overriding the task's num_fewshot");
  verb.add_option("--fewshot-sampler", a.fewshot_sampler,
                  "random (lm-eval's default: Python's random.Random(seed).sample per document) or first_n, "
                  "overriding the task's")
      ->check(CLI::IsMember({"random", "first_n"}));
  verb.add_option("--fewshot-seed", a.fewshot_seed, "Seed of the random few-shot sampler (default: the task's, 1234)");
  verb.add_option("--max-gen-toks", a.max_gen_toks, "Most tokens generated per item (generate_until tasks)");
  verb.add_option("--limit", a.limit, "Score only the first N documents of each task");
  verb.add_option("-o,--output", a.output, "Results JSON in lm-evaluation-harness's layout (written atomically)");
  verb.add_option("--samples", a.samples, "Per-item JSONL: context, choices, log-likelihoods, prediction, gold");
  verb.add_option("--tokenizer", a.tokenizer, "tokenizer.json (default: MODEL/tokenizer.json; needed with --endpoint)");
  verb.add_option("--endpoint", a.endpoint,
                  "Score through an OpenAI-compatible server instead of a model directory, e.g. "
                  "http://127.0.0.1:8080/v1 or https://… (kormo serve, vLLM: /v1/completions with echo and logprobs)");
  verb.add_option("--api-key", a.api_key, "Bearer token for --endpoint");
  verb.add_option("--ca-file", a.ca_file,
                  "PEM CA bundle to verify an https --endpoint against (default: the system CA store)");
  verb.add_option("--served-model", a.served_model,
                  "The \"model\" name sent to --endpoint (default: the first one its /models lists)");
  verb.add_option("--max-length", a.max_length,
                  "Context window in tokens (default: the model's max_seq_len; 2048 with --endpoint)");
  verb.add_option("--batch-tokens", a.batch_tokens, "Tokens per forward pass")->capture_default_str();
  verb.add_option("--threads", a.threads, "CPU threads (default: all cores)");
  verb.add_option("--backend", a.backend, "Backend: cpu, cuda, or auto (the GPU when one is visible, else cpu; docs/inference.md)")->capture_default_str();
  verb.add_option("--precision", a.precision,
                  "Matrix products in fp32, or bf16 with fp32 accumulation (faster; log-likelihoods then differ from "
                  "fp32 by bf16 rounding)")
      ->capture_default_str();
  verb.add_option("--contamination", a.contamination,
                  "Training documents (JSON Lines, .zst too, as kormo data writes; repeatable): report per task how "
                  "many items share an n-gram with them by the data stage's decontamination rule. Without a model "
                  "or --endpoint, only this check runs");
  verb.add_flag("--profile", a.profile, "Log the time spent in each model op at the end");
  verb.add_flag("--list-tasks", a.list, "List the built-in tasks and the file format each reads");
  verb.footer(
      "Each item's context is run through the model once; its options are scored together from the cached\n"
      "context. Log-likelihoods, acc, acc_norm and macro-F1 are computed as lm-evaluation-harness computes them;\n"
      "generation tasks (GSM8K) generate greedily until a stop string and score exact_match after each answer\n"
      "extraction (docs/eval.md). A Markdown table of the scores goes to stdout.\n"
      "Examples:\n"
      "  kormo eval --list-tasks\n"
      "  kormo eval runs/demo/pretrain/step-0000300 -t kobest_copa=KoBEST/COPA/dev.tsv \\\n"
      "      -t arc_easy=llmfoundry/arc_easy.jsonl -o results.json --samples samples.jsonl\n"
      "  kormo eval MODEL -t mmlu=mmlu/dev/anatomy_dev.csv --num-fewshot 5 --fewshot-data mmlu=mmlu/dev/anatomy_dev.csv\n"
      "  kormo eval MODEL -t gsm8k=gsm8k/test.jsonl --fewshot-data gsm8k=gsm8k/train.jsonl\n"
      "  kormo eval MODEL -t my_task.toml=data.jsonl --limit 100\n"
      "  kormo eval -t kobest_copa=KoBEST/COPA/dev.tsv --contamination runs/demo/data/curated.jsonl.zst\n"
      "  kormo eval --endpoint http://127.0.0.1:8080/v1 --tokenizer MODEL/tokenizer.json -t piqa=piqa.jsonl");
  verb.callback([] { run(a); });
}

KORMO_VERB("eval", "Score a model on benchmarks: multiple choice and generation (lm-evaluation-harness parity)", 75, setup);

}  // namespace cmd_eval
