// kormo generate: continuations of prompts (arguments or a JSONL file) over a model
// directory, one JSON result line per prompt.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kormo/infer/generator.h"
#include "kormo/model/checkpoint.h"
#include "kormo/tok/tokenizer.h"
#include "kormo/util/error.h"
#include "kormo/util/profile.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"
#include "kormo/util/log.h"
#include "sampling_options.h"
#include "verb.h"

namespace cmd_generate {

using kormo::fail;
using kormo::fail_usage;

struct Args {
  std::string model, tokenizer, input, output, backend = "auto", precision = "fp32";
  std::vector<std::string> prompts, stop;
  std::vector<int32_t> stop_tokens;
  kormo::infer::SamplingParams sampling;
  int64_t max_tokens = 16, logprobs = -1, batch = 8;
  int threads = 0;
  bool add_bos = false, allow_special = false, timing = false, profile = false;
};

struct Prompt {
  std::string text;
  nlohmann::json id;  // the input line's "id", echoed
  std::string where;  // for errors: "--prompt 2" or "file:line"
};

std::vector<Prompt> read_prompts(const Args& a) {
  std::vector<Prompt> out;
  for (size_t i = 0; i < a.prompts.size(); ++i) out.push_back({a.prompts[i], nullptr, fmt::format("--prompt {}", i + 1)});
  if (a.input.empty()) return out;
  kormo::LineReader in(a.input);
  std::string_view line;
  while (in.next(line)) {
    const std::string where = fmt::format("{}:{}", a.input, in.line_number());
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    nlohmann::json j = kormo::parse_json_or_discarded(line);
    if (j.is_discarded() || !j.is_object()) fail("{}: expected a JSON object like {{\"prompt\": \"…\"}}", where);
    for (const auto& [key, value] : j.items())
      if (key != "prompt" && key != "id") fail("{}: unknown key '{}' (expected \"prompt\" and optionally \"id\")", where, key);
    if (!j.contains("prompt") || !j["prompt"].is_string()) fail("{}: \"prompt\" must be a string", where);
    out.push_back({j["prompt"].get<std::string>(), j.value("id", nlohmann::json()), where});
  }
  return out;
}

nlohmann::json token_json(const kormo::tok::Tokenizer& tok, int32_t id, float logprob) {
  return {{"token", id}, {"text", kormo::infer::token_text(tok, id)}, {"logprob", logprob}};
}

void run(const Args& a) {
  if (a.prompts.empty() && a.input.empty()) fail_usage("give prompts with --prompt or --input");
  if (a.threads > 0) omp_set_num_threads(a.threads);
  if (a.max_tokens < 0) fail_usage("--max-tokens must be ≥ 0 (got {})", a.max_tokens);
  if (a.batch <= 0) fail_usage("--batch must be ≥ 1 (got {})", a.batch);
  kormo::infer::validate(a.sampling);
  if (!std::filesystem::is_directory(a.model)) fail("{}: not a model directory (config.json + model.safetensors)", a.model);
  if (!a.output.empty()) kormo::check_output_not_input(a.output, a.input.empty() ? std::vector<std::string>{a.model} : std::vector<std::string>{a.input, a.model});
  const std::string tok_path = a.tokenizer.empty() ? a.model + "/tokenizer.json" : a.tokenizer;
  if (!std::filesystem::exists(tok_path))
    fail("{}: no tokenizer.json (give one with --tokenizer)", tok_path);
  auto tok = kormo::tok::Tokenizer::load(tok_path);
  std::vector<Prompt> prompts = read_prompts(a);

  auto weights = kormo::model::load_model_dir(a.model, kormo::backend::get(a.backend));
  const auto& cfg = weights.config();
  if (static_cast<int64_t>(tok.vocab_size()) > cfg.vocab_size)
    fail("{}: tokenizer has {} tokens, more than the model's vocabulary of {}", tok_path, tok.vocab_size(),
         cfg.vocab_size);

  std::vector<kormo::infer::Request> reqs;
  int64_t capacity = 1;
  for (size_t i = 0; i < prompts.size(); ++i) {
    kormo::infer::Request r;
    if (a.add_bos) r.prompt.push_back(static_cast<int32_t>(cfg.bos_token_id));
    tok.encode_append(prompts[i].text, r.prompt, {.allow_special = a.allow_special});
    if (r.prompt.empty()) fail("{}: the prompt is empty", prompts[i].where);
    if (static_cast<int64_t>(r.prompt.size()) > cfg.max_seq_len)
      fail("{}: the prompt has {} tokens, more than the model's max_seq_len {}", prompts[i].where, r.prompt.size(),
           cfg.max_seq_len);
    r.sampling = a.sampling;
    // Each prompt draws from its own stream, so its result does not depend on the others.
    r.sampling.seed = a.sampling.seed + 0x9e3779b97f4a7c15ull * i;
    r.max_tokens = a.max_tokens;
    r.stop = a.stop;
    r.stop_tokens = a.stop_tokens;
    if (r.stop_tokens.empty() && cfg.eos_token_id >= 0) r.stop_tokens.push_back(static_cast<int32_t>(cfg.eos_token_id));
    r.logprobs = a.logprobs;
    capacity = std::max(capacity, std::min<int64_t>(cfg.max_seq_len, static_cast<int64_t>(r.prompt.size()) + a.max_tokens));
    reqs.push_back(std::move(r));
  }
  std::vector<size_t> prompt_len;
  for (const auto& r : reqs) prompt_len.push_back(r.prompt.size());

  kormo::infer::Generator gen(weights, &tok, std::min<int64_t>(a.batch, std::max<size_t>(reqs.size(), 1)), capacity,
                              kormo::model::parse_precision(a.precision, "--precision"));
  if (a.timing && !reqs.empty()) {
    // An untimed pass over the first prompt (one token), as llama-bench warms up: the first
    // forward pays one-time costs (GEMM kernel generation, first touch of buffers).
    kormo::infer::Request warm = reqs.front();
    warm.max_tokens = 1;
    const int64_t id = gen.add(std::move(warm));
    while (gen.busy()) gen.step();
    gen.take(id);
  }
  kormo::op_profile().enabled = a.profile;
  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  const auto t0 = Clock::now();
  std::vector<kormo::infer::Completion> results;
  double prefill_s = 0;
  if (!a.timing) {
    results = gen.run(std::move(reqs));
  } else {
    // Every prompt is prefilled in the first step (it yields each one's first token); the
    // later steps decode one token per sequence.
    if (a.batch < static_cast<int64_t>(reqs.size()))
      fail_usage("--timing needs --batch ≥ the number of prompts ({}), so that one step prefills them all",
                 reqs.size());
    std::vector<int64_t> ids;
    for (auto& r : reqs) ids.push_back(gen.add(std::move(r)));
    gen.step();
    prefill_s = seconds_since(t0);
    while (gen.busy()) gen.step();
    for (int64_t id : ids) results.push_back(gen.take(id));
  }
  const double secs = seconds_since(t0);
  size_t in_tokens = 0, out_tokens = 0;
  for (size_t i = 0; i < results.size(); ++i) in_tokens += prompt_len[i], out_tokens += results[i].tokens.size();
  if (a.timing) {
    const double decode_s = secs - prefill_s;
    const size_t decoded = out_tokens - std::min(out_tokens, results.size());
    nlohmann::json t = {{"prompt_tokens", in_tokens},
                        {"generated_tokens", out_tokens},
                        {"decode_tokens", decoded},
                        {"prefill_s", prefill_s},
                        {"decode_s", decode_s},
                        {"prefill_tokens_per_s", static_cast<double>(in_tokens) / prefill_s},
                        {"decode_tokens_per_s", decode_s > 0 ? static_cast<double>(decoded) / decode_s : 0.0}};
    std::fprintf(stderr, "%s\n", t.dump().c_str());
  }
  if (a.profile) kormo::log_op_profile();
  kormo::log_info("{} prompts: {} prompt + {} generated tokens in {:.3f} s ({:.1f} generated tokens/s)",
                  results.size(), in_tokens, out_tokens, secs, static_cast<double>(out_tokens) / secs);

  std::string out;
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& c = results[i];
    nlohmann::json j = {{"index", i}};
    if (!prompts[i].id.is_null()) j["id"] = prompts[i].id;
    j["prompt"] = prompts[i].text;
    j["prompt_tokens"] = prompt_len[i];
    j["text"] = c.text;
    j["tokens"] = c.tokens;
    j["finish_reason"] = c.finish_reason;
    if (a.logprobs >= 0) {
      nlohmann::json lps = nlohmann::json::array();
      for (const auto& lp : c.logprobs) {
        nlohmann::json e = token_json(tok, lp.token, lp.logprob);
        e["top_logprobs"] = nlohmann::json::array();
        for (const auto& [id, l] : lp.top) e["top_logprobs"].push_back(token_json(tok, id, l));
        lps.push_back(std::move(e));
      }
      j["logprobs"] = std::move(lps);
    }
    // Text may end inside a UTF-8 sequence (max tokens reached mid-character).
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
  }
  if (a.output.empty()) {
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  } else {
    kormo::AtomicWriter w(a.output);
    w.write(out);
    w.commit();
    kormo::log_info("wrote {} results to {}", results.size(), a.output);
  }
}

void setup(CLI::App& verb) {
  static Args a;
  verb.add_option("model", a.model, "Model directory: a kormo checkpoint or an HF Llama directory "
                                    "(config.json, model.safetensors F32/BF16/F16, tokenizer.json)")
      ->required();
  verb.add_option("-p,--prompt", a.prompts, "A prompt (repeatable)");
  verb.add_option("-i,--input", a.input, "JSONL prompts, one {\"prompt\": …, \"id\": …} object per line");
  verb.add_option("-o,--output", a.output, "Results JSONL, written atomically (default: stdout)");
  verb.add_option("--tokenizer", a.tokenizer, "tokenizer.json (default: MODEL/tokenizer.json)");
  verb.add_option("-n,--max-tokens", a.max_tokens, "Tokens to generate per prompt at most")->capture_default_str();
  kormo::cli::add_sampling_options(verb, a.sampling);
  verb.add_option("--stop", a.stop, "Stop string (repeatable); the text ends before it");
  verb.add_option("--stop-token", a.stop_tokens, "Stop token id (repeatable; default: the model's eos_token_id)");
  verb.add_option("--logprobs", a.logprobs, "Log-probability of each token plus N alternatives (model distribution)");
  verb.add_flag("--add-bos", a.add_bos, "Prepend the model's bos_token_id to every prompt");
  verb.add_flag("--allow-special", a.allow_special,
                "Special-token text in prompts (<|BOT|>, <|EOT|>, …) becomes those tokens, as in a chat prompt "
                "rendered by `kormo chat --render`; off: it is plain text");
  verb.add_option("--batch", a.batch, "Sequences decoded together")->capture_default_str();
  verb.add_option("--threads", a.threads, "CPU threads (default: all cores)");
  verb.add_option("--precision", a.precision, "Matrix products in fp32, or bf16 with fp32 accumulation (docs/engine.md)")
      ->capture_default_str();
  verb.add_flag("--profile", a.profile, "Log the time spent in each model op at the end (after the warm-up pass)");
  verb.add_flag("--timing", a.timing,
                "Print one JSON line on stderr: prefill (first step: every prompt, first tokens) and decode "
                "(the later steps) seconds and tokens/s, after an untimed warm-up pass over the first "
                "prompt; needs --batch ≥ the number of prompts");
  verb.add_option("--backend", a.backend, "Backend: cpu, cuda, or auto (the GPU when one is visible, else cpu; docs/inference.md)")->capture_default_str();
  verb.footer(
      "Output: one JSON line per prompt, in input order: index, id (if given), prompt, prompt_tokens, text, tokens,\n"
      "finish_reason (stop | length), logprobs (with --logprobs).\n"
      "Examples:\n"
      "  kormo generate runs/demo/pretrain/step-0000300 -p \"서울은\" -p \"The capital of\" --temperature 0 -n 32\n"
      "  kormo generate MODEL -i prompts.jsonl -o out.jsonl --temperature 0.7 --top-p 0.9 --seed 1 --stop \"\\n\\n\"\n"
      "  kormo generate MODEL -p \"Hello\" --temperature 0 --logprobs 5");
  verb.callback([] { run(a); });
}

KORMO_VERB("generate", "Generate continuations of prompts (KV cache, sampling, logprobs)", 70, setup);

}  // namespace cmd_generate
