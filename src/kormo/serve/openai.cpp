#include "kormo/serve/openai.h"

#include <algorithm>
#include <random>
#include <set>

#include "kormo/text/utf8.h"
#include "kormo/util/error.h"

namespace kormo::serve {

using nlohmann::json;

std::string error_json(int status, const std::string& code, const std::string& message) {
  const char* type = status == 401   ? "authentication_error"
                     : status == 404 ? "not_found_error"
                     : status >= 500 ? "server_error"
                                     : "invalid_request_error";
  return dump({{"error", {{"message", message}, {"type", type}, {"code", code}}}});
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json parse_body(const std::string& body) {
  const size_t bad = text::find_invalid_utf8(body);
  if (bad != text::kValid) api_fail(400, "invalid_utf8", "the request body is not valid UTF-8 (byte offset {})", bad);
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    api_fail(400, "invalid_json", "the request body is not valid JSON: {}", e.what());
  }
  if (!j.is_object()) api_fail(400, "invalid_json", "the request body must be a JSON object");
  return j;
}

void check_model(const json& body, const Served& m) {
  auto it = body.find("model");
  if (it == body.end() || it->is_null()) return;
  if (!it->is_string()) api_fail(400, "invalid_type", "\"model\" must be a string");
  if (it->get<std::string>() != m.name)
    api_fail(404, "model_not_found", "model '{}' does not exist; this server serves '{}' (see /v1/models)",
             it->get<std::string>(), m.name);
}

namespace {

// Typed reads of optional fields: a null value counts as absent, as OpenAI treats it.
const json* field(const json& body, const char* key) {
  auto it = body.find(key);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

int64_t get_int(const json& body, const char* key, int64_t dflt, int64_t lo, int64_t hi) {
  const json* v = field(body, key);
  if (!v) return dflt;
  if (!v->is_number_integer()) api_fail(400, "invalid_type", "\"{}\" must be an integer", key);
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi))
    api_fail(400, "invalid_value", "\"{}\" must be between {} and {} (got {})", key, lo, hi, v->get<uint64_t>());
  const int64_t x = v->get<int64_t>();
  if (x < lo || x > hi) api_fail(400, "invalid_value", "\"{}\" must be between {} and {} (got {})", key, lo, hi, x);
  return x;
}

double get_number(const json& body, const char* key, double dflt) {
  const json* v = field(body, key);
  if (!v) return dflt;
  if (!v->is_number()) api_fail(400, "invalid_type", "\"{}\" must be a number", key);
  return v->get<double>();
}

bool get_bool(const json& body, const char* key, bool dflt) {
  const json* v = field(body, key);
  if (!v) return dflt;
  if (!v->is_boolean()) api_fail(400, "invalid_type", "\"{}\" must be true or false", key);
  return v->get<bool>();
}

void check_fields(const json& body, const std::set<std::string>& known) {
  for (const auto& [key, value] : body.items())
    if (!known.count(key))
      api_fail(400, "unknown_field", "unknown or unsupported field \"{}\" (see docs/serve.md for the fields kormo accepts)",
               key);
}

const std::set<std::string> kSamplingFields = {
    "model", "max_tokens", "stop", "seed", "temperature", "top_p", "n", "stream", "top_k", "min_p",
    "repetition_penalty", "frequency_penalty", "presence_penalty", "user"};

// The fields every generation shares; the prompt and n are the caller's.
infer::Request base_request(const json& body, const Served& m, int64_t dflt_max_tokens) {
  infer::Request r;
  r.max_tokens = get_int(body, "max_tokens", dflt_max_tokens, 0, m.max_tokens_limit);
  auto& s = r.sampling;
  s.temperature = get_number(body, "temperature", 1.0);
  s.top_p = get_number(body, "top_p", 1.0);
  s.top_k = get_int(body, "top_k", 0, 0, m.vocab_size);
  s.min_p = get_number(body, "min_p", 0.0);
  s.repetition_penalty = get_number(body, "repetition_penalty", 1.0);
  s.frequency_penalty = get_number(body, "frequency_penalty", 0.0);
  s.presence_penalty = get_number(body, "presence_penalty", 0.0);
  if (const json* seed = field(body, "seed")) {
    if (!seed->is_number_integer()) api_fail(400, "invalid_type", "\"seed\" must be an integer");
    s.seed = seed->is_number_unsigned() ? seed->get<uint64_t>() : static_cast<uint64_t>(seed->get<int64_t>());
  } else {
    s.seed = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  }
  try {
    infer::validate(s);
  } catch (const Error& e) {
    api_fail(400, "invalid_value", "{}", e.what());
  }
  if (const json* stop = field(body, "stop")) {
    if (stop->is_string()) {
      r.stop.push_back(stop->get<std::string>());
    } else if (stop->is_array() && stop->size() <= 16) {
      for (const auto& x : *stop) {
        if (!x.is_string()) api_fail(400, "invalid_type", "\"stop\" must be a string or a list of up to 16 strings");
        r.stop.push_back(x.get<std::string>());
      }
    } else {
      api_fail(400, "invalid_type", "\"stop\" must be a string or a list of up to 16 strings");
    }
    for (const auto& x : r.stop)
      if (x.empty()) api_fail(400, "invalid_value", "a stop string must not be empty");
  }
  if (const json* user = field(body, "user"); user && !user->is_string())
    api_fail(400, "invalid_type", "\"user\" must be a string");
  r.stop_tokens = m.stop_tokens;
  return r;
}

std::vector<int32_t> token_list(const json& v, const Served& m, size_t which) {
  std::vector<int32_t> ids;
  for (const auto& t : v) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= m.vocab_size)
      api_fail(400, "invalid_value", "prompt {}: token ids must be integers in [0, {})", which, m.vocab_size);
    ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  return ids;
}

void check_prompt_length(const std::vector<int32_t>& p, const Served& m, size_t which) {
  if (p.empty()) api_fail(400, "invalid_value", "prompt {} is empty (it needs at least one token)", which);
  if (static_cast<int64_t>(p.size()) > m.context)
    api_fail(400, "context_length_exceeded", "prompt {} has {} tokens, more than the context of {} tokens", which,
             p.size(), m.context);
}

// Each choice draws from its own stream, so n > 1 gives different continuations that
// are reproducible for a given seed.
void add_choices(std::vector<infer::Request>& out, const infer::Request& base, int64_t n, uint64_t first) {
  for (int64_t j = 0; j < n; ++j) {
    infer::Request r = base;
    r.sampling.seed = base.sampling.seed + 0x9e3779b97f4a7c15ull * (first + static_cast<uint64_t>(j));
    out.push_back(std::move(r));
  }
}

}  // namespace

CompletionCall parse_completion(const json& body, const Served& m) {
  auto known = kSamplingFields;
  known.insert({"prompt", "logprobs", "echo"});
  check_fields(body, known);
  check_model(body, m);
  CompletionCall call;
  const json* prompt = field(body, "prompt");
  if (!prompt) api_fail(400, "missing_field", "\"prompt\" is required (a string, a token-id list, or a list of either)");
  // A string, a list of token ids, or a batch (list) of strings or token lists.
  auto one = [&](const json& p, size_t which) {
    if (p.is_string()) return m.tok->encode(p.get<std::string>());
    if (p.is_array()) return token_list(p, m, which);
    api_fail(400, "invalid_type", "prompt {}: expected a string or a list of token ids", which);
  };
  if (prompt->is_string() || (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_number())) {
    call.prompts.push_back(one(*prompt, 0));
  } else if (prompt->is_array() && !prompt->empty()) {
    for (size_t i = 0; i < prompt->size(); ++i) call.prompts.push_back(one((*prompt)[i], i));
  } else {
    api_fail(400, "invalid_type", "\"prompt\" must be a string, a token-id list, or a non-empty list of either");
  }
  for (size_t i = 0; i < call.prompts.size(); ++i) check_prompt_length(call.prompts[i], m, i);
  call.n = get_int(body, "n", 1, 1, 16);
  call.logprobs = get_int(body, "logprobs", -1, 0, 20);
  call.echo = get_bool(body, "echo", false);
  call.stream = get_bool(body, "stream", false);
  if (call.stream && call.logprobs >= 0) api_fail(400, "unsupported", "\"logprobs\" with \"stream\" is not supported");
  infer::Request base = base_request(body, m, 16);
  base.logprobs = call.logprobs;
  base.prompt_logprobs = call.echo && call.logprobs >= 0;
  for (size_t i = 0; i < call.prompts.size(); ++i) {
    base.prompt = call.prompts[i];
    add_choices(call.requests, base, call.n, i * static_cast<uint64_t>(call.n));
  }
  return call;
}

json completion_choice(const Served& m, size_t index, const std::vector<int32_t>& prompt, const infer::Completion& c,
                       const CompletionCall& call) {
  json choice = {{"index", index}, {"finish_reason", c.finish_reason}};
  std::string text = call.echo ? m.tok->decode(prompt) : std::string();
  text += c.text;
  choice["text"] = text;
  if (call.logprobs < 0) {
    choice["logprobs"] = nullptr;
    return choice;
  }
  json tokens = json::array(), token_logprobs = json::array(), top = json::array(), offsets = json::array();
  size_t offset = 0;
  auto entry = [&](int32_t id, const infer::TokenLogprob* lp) {
    const std::string s = infer::token_text(*m.tok, id);
    tokens.push_back(s);
    offsets.push_back(offset);
    offset += s.size();
    if (!lp) {
      token_logprobs.push_back(nullptr);
      top.push_back(nullptr);
      return;
    }
    token_logprobs.push_back(lp->logprob);
    json alts = json::object();
    for (const auto& [alt, l] : lp->top) alts[infer::token_text(*m.tok, alt)] = l;
    top.push_back(std::move(alts));
  };
  if (call.echo) {
    entry(prompt[0], nullptr);
    for (size_t j = 1; j < prompt.size(); ++j) entry(prompt[j], &c.prompt_logprobs[j - 1]);
  }
  for (size_t j = 0; j < c.tokens.size() && j < c.logprobs.size(); ++j) entry(c.tokens[j], &c.logprobs[j]);
  choice["logprobs"] = {{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top},
                        {"text_offset", offsets}};
  return choice;
}

ChatCall parse_chat(const json& body, const Served& m,
                    const std::function<std::string(const json&, const json&)>& render) {
  auto known = kSamplingFields;
  known.insert({"messages", "chat_template_kwargs", "max_completion_tokens"});
  check_fields(body, known);
  check_model(body, m);
  const json* messages = field(body, "messages");
  if (!messages || !messages->is_array() || messages->empty())
    api_fail(400, "missing_field", "\"messages\" must be a non-empty list of {{\"role\", \"content\"}} objects");
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& msg = (*messages)[i];
    if (!msg.is_object() || !msg.contains("role") || !msg["role"].is_string() || !msg.contains("content") ||
        !msg["content"].is_string())
      api_fail(400, "invalid_value", "messages[{}]: expected {{\"role\": string, \"content\": string}}", i);
  }
  json kwargs = json::object();
  if (const json* k = field(body, "chat_template_kwargs")) {
    if (!k->is_object()) api_fail(400, "invalid_type", "\"chat_template_kwargs\" must be an object");
    kwargs = *k;
  }
  std::string text;
  try {
    text = render(*messages, kwargs);
  } catch (const Error& e) {
    api_fail(400, "template_error", "the chat template refused the messages: {}", e.what());
  }
  ChatCall call;
  call.stream = get_bool(body, "stream", false);
  const int64_t n = get_int(body, "n", 1, 1, 16);
  // An explicit think-open at the end of the prompt: the reply starts inside reasoning.
  const std::string_view trimmed = std::string_view(text).substr(0, text.find_last_not_of(" \n") + 1);
  call.opens_thinking = trimmed.size() >= 7 && trimmed.substr(trimmed.size() - 7) == "<think>";
  json fields = body;
  if (const json* mct = field(body, "max_completion_tokens")) fields["max_tokens"] = *mct;
  infer::Request base = base_request(fields, m, m.max_tokens_limit);
  base.prompt = m.tok->encode(text, {.allow_special = true});
  check_prompt_length(base.prompt, m, 0);
  add_choices(call.requests, base, n, 0);
  return call;
}

Reply split_reasoning(std::string_view text, bool opened) {
  constexpr std::string_view kOpen = "<think>", kClose = "</think>";
  auto lstrip = [](std::string_view s) { return s.substr(std::min(s.size(), s.find_first_not_of(" \n"))); };
  std::string_view t = lstrip(text);
  if (!opened && t.substr(0, kOpen.size()) == kOpen) opened = true, t.remove_prefix(kOpen.size());
  if (!opened) return {{}, std::string(text)};
  const size_t close = t.find(kClose);
  if (close == std::string_view::npos) return {std::string(t), {}};
  std::string_view reasoning = t.substr(0, close);
  while (!reasoning.empty() && (reasoning.back() == '\n' || reasoning.back() == ' ')) reasoning.remove_suffix(1);
  return {std::string(lstrip(reasoning)), std::string(lstrip(t.substr(close + kClose.size())))};
}

size_t stream_safe_length(std::string_view text, size_t holdback) {
  const size_t n = text.size() > holdback ? text.size() - holdback : 0;
  // The last character before the cut starts at its lead byte; a cut inside it moves
  // back to that byte.
  size_t lead = n;
  while (lead > 0 && n - lead < 3 && (static_cast<unsigned char>(text[lead - 1]) & 0xC0) == 0x80) --lead;
  if (lead == 0) return n;
  const auto c = static_cast<unsigned char>(text[lead - 1]);
  const size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  return n - (lead - 1) < len ? lead - 1 : n;
}

size_t holdback_for(const infer::Request& r, bool think_tags) {
  size_t h = think_tags ? std::string_view("</think>").size() - 1 : 0;
  for (const auto& s : r.stop) h = std::max(h, s.size() - 1);
  return h;
}

json usage_json(int64_t prompt_tokens, int64_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

}  // namespace kormo::serve
