// kormo chat: an interactive terminal conversation with a model, rendered through the
// chat template of its tokenizer_config.json (or --template) and streamed as generated;
// --render prints what the template makes of a conversation file instead.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kormo/infer/generator.h"
#include "kormo/model/checkpoint.h"
#include "kormo/tok/chat_template.h"
#include "kormo/tok/tokenizer.h"
#include "kormo/util/error.h"
#include "kormo/util/signals.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"
#include "sampling_options.h"
#include "verb.h"

namespace cmd_chat {

using kormo::fail;
using kormo::fail_usage;
using OJson = nlohmann::ordered_json;

struct Args {
  std::string model, template_file, render, system, think = "auto", enable_thinking, backend = "auto", precision = "fp32";
  kormo::infer::SamplingParams sampling;
  int64_t max_tokens = 512, context = 0;
  int threads = 0;
  bool no_generation_prompt = false;
};

// enable_thinking for a /think mode: on → true, off → false, auto → absent.
OJson template_kwargs(const std::string& think) {
  OJson kw = OJson::object();
  if (think == "on") kw["enable_thinking"] = true;
  if (think == "off") kw["enable_thinking"] = false;
  return kw;
}

kormo::tok::ChatTemplate load_template(const Args& a) {
  if (a.template_file.empty()) return kormo::tok::ChatTemplate::load(a.model);
  if (!std::filesystem::is_regular_file(a.template_file)) fail("{}: no such template file", a.template_file);
  // The specials (bos_token, …) still come from the model's tokenizer_config.json.
  nlohmann::json specials = nlohmann::json::object();
  const std::string cfg_path = a.model + "/tokenizer_config.json";
  if (std::filesystem::exists(cfg_path)) {
    const nlohmann::json cfg = kormo::parse_json_or_discarded(kormo::read_file(cfg_path));
    if (cfg.is_discarded() || !cfg.is_object()) fail("{}: not a JSON object", cfg_path);
    for (const auto& [k, v] : cfg.items()) {
      if (k.size() < 6 || k.compare(k.size() - 6, 6, "_token") != 0) continue;
      if (v.is_string()) specials[k] = v;
      if (v.is_object() && v.contains("content") && v["content"].is_string()) specials[k] = v["content"];
    }
  }
  try {
    return kormo::tok::ChatTemplate(kormo::read_file(a.template_file), specials);
  } catch (const kormo::Error& e) {
    throw kormo::Error(fmt::format("{}: {}", a.template_file, e.what()), e.kind());
  }
}

kormo::tok::Tokenizer load_tokenizer(const std::string& model) {
  const std::string path = model + "/tokenizer.json";
  if (!std::filesystem::exists(path)) fail("{}: no tokenizer.json", path);
  return kormo::tok::Tokenizer::load(path);
}

// --render: the template's text and ids for a conversation file, as one JSON line.
void render(const Args& a) {
  const std::string text = kormo::read_file(a.render);
  const OJson conv = [&] {
    try {
      return OJson::parse(text);
    } catch (const std::exception&) {
      fail("{}: not valid JSON (expected an array of {{\"role\": …, \"content\": …}} messages)", a.render);
    }
  }();
  if (!conv.is_array()) fail("{}: expected an array of {{\"role\": …, \"content\": …}} messages", a.render);
  const auto tmpl = load_template(a);
  const auto tok = load_tokenizer(a.model);
  OJson kwargs = OJson::object();
  if (a.enable_thinking == "true") kwargs["enable_thinking"] = true;
  else if (a.enable_thinking == "false") kwargs["enable_thinking"] = false;
  else if (!a.enable_thinking.empty()) fail_usage("--enable-thinking must be true or false (got '{}')", a.enable_thinking);
  std::string out;
  try {
    out = tmpl.render_ordered(conv, !a.no_generation_prompt, kwargs);
  } catch (const kormo::Error& e) {
    throw kormo::Error(fmt::format("{}: {}", a.render, e.what()), e.kind());
  }
  const auto ids = tok.encode(out, {.allow_special = true});
  const OJson j = {{"text", out}, {"ids", ids}};
  std::cout << j.dump() << '\n';
}

// Length of the longest prefix of s that is whole UTF-8 characters.
size_t complete_utf8(std::string_view s) {
  size_t end = s.size();
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const auto c = static_cast<unsigned char>(s[s.size() - back]);
    if ((c & 0xC0) == 0x80) continue;
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (need > back) end = s.size() - back;
    break;
  }
  return end;
}

// s with each invalid UTF-8 sequence replaced by U+FFFD, as `kormo generate` writes the
// text of a reply (and transformers' decode gives it): a random or half-trained model can emit
// byte tokens that form no character, and the history must stay valid text.
std::string valid_utf8(std::string_view s) {
  return nlohmann::json::parse(nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
      .get<std::string>();
}

// Prints a reply as it grows: reasoning (between <think> and </think>) apart from the
// answer — dim on a terminal, each line prefixed with "think> " otherwise.
class ReplyPrinter {
 public:
  ReplyPrinter(std::string think, std::string think_end, bool in_think)
      : think_(std::move(think)), think_end_(std::move(think_end)), in_think_(in_think), tty_(::isatty(1)) {
    if (in_think_) open_think();
  }
  // `text` is the whole reply so far.
  void update(std::string_view text, bool final) {
    size_t end = final ? text.size() : complete_utf8(text);
    // A marker may still be arriving as plain-text pieces: hold back a tail that starts one.
    if (!final)
      for (const std::string* m : {&think_, &think_end_})
        for (size_t k = std::min(m->size() - 1, end - std::min(end, done_)); k > 0; --k)
          if (text.substr(end - k, k) == std::string_view(*m).substr(0, k)) {
            end -= k;
            break;
          }
    while (done_ < end) {
      const std::string& marker = in_think_ ? think_end_ : think_;
      const size_t at = marker.empty() ? std::string_view::npos : text.substr(0, end).find(marker, done_);
      const size_t stop = at == std::string_view::npos ? end : at;
      emit(text.substr(done_, stop - done_));
      done_ = stop;
      if (at == std::string_view::npos) break;
      done_ += marker.size();
      if (in_think_) close_think();
      else open_think();
    }
    if (final) {
      if (in_think_) close_think();
      std::fputs("\n", stdout);
    }
    std::fflush(stdout);
  }

 private:
  void open_think() {
    in_think_ = true;
    at_line_start_ = true;
    if (tty_) std::fputs("\x1b[2m", stdout);
  }
  void close_think() {
    in_think_ = false;
    if (tty_) std::fputs("\x1b[0m", stdout);
    else if (!at_line_start_) std::fputs("\n", stdout);
  }
  void emit(std::string_view s) {
    for (char c : valid_utf8(s)) {
      if (in_think_ && !tty_ && at_line_start_) std::fputs("think> ", stdout);
      std::fputc(c, stdout);
      at_line_start_ = c == '\n';
    }
  }

  std::string think_, think_end_;
  bool in_think_;
  bool tty_;
  size_t done_ = 0;
  bool at_line_start_ = true;
};

// The reply's reasoning and answer: what comes before </think> (after an opening <think>
// if the model wrote one) and what follows it. A reply that began inside <think> (the
// prompt opened it) and never closed it is all reasoning.
std::pair<std::string, std::string> split_reply(const std::string& text, const std::string& think,
                                                const std::string& think_end, bool began_in_think) {
  const size_t end = think_end.empty() ? std::string::npos : text.find(think_end);
  if (end == std::string::npos) return began_in_think ? std::pair<std::string, std::string>{text, ""}
                                                      : std::pair<std::string, std::string>{"", text};
  std::string reasoning = text.substr(0, end);
  if (!think.empty() && reasoning.compare(0, think.size(), think) == 0) reasoning.erase(0, think.size());
  return {reasoning, text.substr(end + think_end.size())};
}

const char* kHelp =
    "Commands:\n"
    "  /think on|off|auto  reason first / answer directly / let the model decide (enable_thinking true|false|unset)\n"
    "  /system TEXT        set the system message (/system alone removes it)\n"
    "  /reset              forget the conversation (the system message stays)\n"
    "  /help               this list\n"
    "  /exit               leave (so does end of input, Ctrl-D)\n";

void chat(const Args& a) {
  if (a.threads > 0) omp_set_num_threads(a.threads);
  if (a.max_tokens <= 0) fail_usage("--max-tokens must be ≥ 1 (got {})", a.max_tokens);
  if (a.think != "on" && a.think != "off" && a.think != "auto") fail_usage("--think must be on, off or auto (got '{}')", a.think);
  kormo::infer::validate(a.sampling);
  const auto tmpl = load_template(a);
  const auto tok = load_tokenizer(a.model);
  auto weights = kormo::model::load_model_dir(a.model, kormo::backend::get(a.backend));
  const auto& cfg = weights.config();
  if (static_cast<int64_t>(tok.vocab_size()) > cfg.vocab_size)
    fail("{}/tokenizer.json: tokenizer has {} tokens, more than the model's vocabulary of {}", a.model, tok.vocab_size(),
         cfg.vocab_size);
  const int64_t context = a.context > 0 ? std::min(a.context, cfg.max_seq_len) : cfg.max_seq_len;
  if (a.max_tokens >= context)
    fail_usage("--max-tokens {} leaves no room for the conversation in a context of {} tokens", a.max_tokens, context);
  const auto& ids = tok.special_ids();
  std::vector<int32_t> stop_tokens;
  if (ids.eot >= 0) stop_tokens.push_back(ids.eot);
  if (cfg.eos_token_id >= 0 && cfg.eos_token_id != ids.eot) stop_tokens.push_back(static_cast<int32_t>(cfg.eos_token_id));
  const std::string think = ids.think >= 0 ? tok.id_to_token(ids.think) : "";
  const std::string think_end = ids.think_end >= 0 ? tok.id_to_token(ids.think_end) : "";

  kormo::infer::Generator gen(weights, &tok, 1, context, kormo::model::parse_precision(a.precision, "--precision"));
  std::string system = a.system, mode = a.think;
  OJson history = OJson::array();
  uint64_t turn = 0;
  std::string line;
  std::fprintf(stderr, "kormo chat: %s (context %lld tokens, replies up to %lld). /help for commands.\n",
               a.model.c_str(), static_cast<long long>(context), static_cast<long long>(a.max_tokens));
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (line[0] == '/') {
      const size_t sp = line.find(' ');
      const std::string cmd = line.substr(0, sp);
      const size_t arg_at = sp == std::string::npos ? std::string::npos : line.find_first_not_of(' ', sp);
      const std::string arg = arg_at == std::string::npos ? "" : line.substr(arg_at);
      if (cmd == "/exit" || cmd == "/quit") break;
      if (cmd == "/help") std::fputs(kHelp, stdout);
      else if (cmd == "/reset") history = OJson::array(), std::puts("(conversation cleared)");
      else if (cmd == "/system") system = arg, std::puts(arg.empty() ? "(system message removed)" : "(system message set)");
      else if (cmd == "/think" && (arg == "on" || arg == "off" || arg == "auto"))
        mode = arg, std::printf("(thinking: %s)\n", arg.c_str());
      else std::printf("unknown command '%s' (/help lists them)\n", line.c_str());
      std::fflush(stdout);
      continue;
    }
    history.push_back({{"role", "user"}, {"content", line}});
    // Render, dropping the oldest turns until the prompt and a full reply fit the context.
    std::vector<int32_t> prompt;
    size_t dropped = 0;
    try {
      while (true) {
        OJson messages = OJson::array();
        if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
        for (const auto& m : history) messages.push_back(m);
        prompt = tok.encode(tmpl.render_ordered(messages, true, template_kwargs(mode)), {.allow_special = true});
        if (static_cast<int64_t>(prompt.size()) + a.max_tokens <= context || history.size() <= 1) break;
        // Drop one exchange: the oldest message and everything up to the next user message.
        size_t k = 1;
        while (k < history.size() - 1 && history[k]["role"] != "user") ++k;
        history.erase(history.begin(), history.begin() + static_cast<std::ptrdiff_t>(k));
        dropped += k;
      }
    } catch (const kormo::Error& e) {
      // A template that refuses the conversation, or a line that is not UTF-8: this
      // message is dropped, the chat goes on.
      std::printf("error: %s\n", e.what());
      std::fflush(stdout);
      history.erase(history.end() - 1);
      continue;
    }
    if (dropped > 0)
      std::printf("(dropped the %zu oldest message%s to fit the context of %lld tokens)\n", dropped,
                  dropped == 1 ? "" : "s", static_cast<long long>(context));
    if (static_cast<int64_t>(prompt.size()) + a.max_tokens > context) {
      std::printf("error: this message makes a prompt of %zu tokens; with --max-tokens %lld it exceeds the context "
                  "of %lld tokens. Send a shorter one (or /system a shorter system message).\n",
                  prompt.size(), static_cast<long long>(a.max_tokens), static_cast<long long>(context));
      std::fflush(stdout);
      history.erase(history.end() - 1);
      continue;
    }
    kormo::infer::Request r;
    r.prompt = std::move(prompt);
    r.sampling = a.sampling;
    r.sampling.seed = a.sampling.seed + 0x9e3779b97f4a7c15ull * turn++;
    r.max_tokens = a.max_tokens;
    r.stop_tokens = stop_tokens;
    const int64_t id = gen.add(std::move(r));
    const bool began_in_think = mode == "on" && !think.empty();
    ReplyPrinter printer(think, think_end, began_in_think);
    kormo::infer::Completion done;
    bool stopped = false;
    {
      // Ctrl-C (or SIGTERM) during a reply ends the reply, not the chat: what was shown stays
      // in the history. A second one, or one at the prompt, ends the chat as usual.
      kormo::StopRequest stop;
      while (true) {
        if (stop.signal() != 0) {
          done = gen.peek(id);
          gen.cancel(id);
          stop.handled();
          stopped = true;
          break;
        }
        if (!gen.step().empty()) {
          done = gen.take(id);
          break;
        }
        printer.update(gen.peek(id).text, false);
      }
    }
    printer.update(done.text, true);
    if (stopped) std::puts("(reply stopped)");
    std::fflush(stdout);
    auto [reasoning, answer] = split_reply(valid_utf8(done.text), think, think_end, began_in_think);
    OJson reply = {{"role", "assistant"}, {"content", answer}};
    if (!reasoning.empty()) reply["reasoning_content"] = reasoning;
    history.push_back(std::move(reply));
  }
}

void setup(CLI::App& verb) {
  static Args a;
  verb.add_option("model", a.model, "Model directory (config.json, model.safetensors, tokenizer.json, "
                                    "tokenizer_config.json with the chat template); with --render a tokenizer "
                                    "directory is enough")
      ->required();
  verb.add_option("--template", a.template_file, "A Jinja chat template file to use instead of tokenizer_config.json's");
  verb.add_option("--system", a.system, "System message to start with (/system changes it)");
  verb.add_option("--think", a.think, "Initial thinking mode: on, off or auto (/think changes it)")->capture_default_str();
  verb.add_option("-n,--max-tokens", a.max_tokens, "Tokens per reply at most")->capture_default_str();
  verb.add_option("--context", a.context, "Tokens of conversation kept (default: the model's max_seq_len)");
  kormo::cli::add_sampling_options(verb, a.sampling);
  verb.add_option("--threads", a.threads, "CPU threads (default: all cores)");
  verb.add_option("--backend", a.backend, "Backend: cpu, cuda, or auto (the GPU when one is visible, else cpu; docs/inference.md)")->capture_default_str();
  verb.add_option("--precision", a.precision, "Matrix products in fp32, or bf16 with fp32 accumulation (docs/engine.md)")
      ->capture_default_str();
  verb.add_option("--render", a.render,
                  "Print what the template makes of a conversation (a JSON array of messages) as "
                  "{\"text\", \"ids\"} and exit; no weights are loaded");
  verb.add_option("--enable-thinking", a.enable_thinking, "With --render: pass enable_thinking true|false");
  verb.add_flag("--no-generation-prompt", a.no_generation_prompt, "With --render: add_generation_prompt=False");
  verb.footer(std::string(
                  "Type a message and press Enter; the reply streams as it is generated and ends at the end-of-turn\n"
                  "token. The conversation is rendered with the model's chat template exactly as transformers'\n"
                  "apply_chat_template renders it. Reasoning (<think>…</think>) is shown apart from the answer: dim on\n"
                  "a terminal, lines prefixed \"think> \" otherwise; it is kept in the history as reasoning_content.\n"
                  "When the conversation and a full reply no longer fit the context, the oldest exchanges are dropped\n"
                  "(the system message stays) and chat says so. Input may be piped; Ctrl-C during a reply stops it, at the prompt it ends the chat.\n") +
              kHelp +
              "Examples:\n"
              "  kormo chat runs/demo/sft/final --temperature 0.7 --top-p 0.9 --think off\n"
              "  printf 'Hello\\n/think on\\n2+2?\\n' | kormo chat MODEL --temperature 0\n"
              "  kormo chat MODEL --render conv.json --enable-thinking false   # debug a template: text and ids\n");
  verb.callback([] { a.render.empty() ? chat(a) : render(a); });
}

KORMO_VERB("chat", "Chat with a model in the terminal (chat template, streaming, /think)", 71, setup);

}  // namespace cmd_chat
