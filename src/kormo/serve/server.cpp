#include "kormo/serve/server.h"

#include <httplib.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>

#include "kormo/infer/generator.h"
#include "kormo/model/checkpoint.h"
#include "kormo/serve/chat_page.h"
#include "kormo/serve/metrics.h"
#include "kormo/serve/openai.h"
#include "kormo/serve/scheduler.h"
#include "kormo/tok/chat_template.h"
#include "kormo/util/error.h"
#include "kormo/util/log.h"
#include "kormo/util/signals.h"

namespace kormo::serve {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

thread_local Clock::time_point t_arrival;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string request_id(const char* prefix) {
  static std::atomic<uint64_t> next{0};
  return fmt::format("{}-{:x}-{}", prefix, unix_now(), next++);
}

void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  res.status = status;
  res.set_content(error_json(status, code, message), "application/json");
}

// Every route answers errors as JSON: ours as 500, the client's as 4xx.
httplib::Server::Handler guarded(std::function<void(const httplib::Request&, httplib::Response&)> f) {
  return [f = std::move(f)](const httplib::Request& req, httplib::Response& res) {
    try {
      f(req, res);
    } catch (const ApiError& e) {
      send_error(res, e.status(), e.code(), e.what());
    } catch (const Error& e) {
      const bool client = e.kind() == ErrorKind::kUsage || e.kind() == ErrorKind::kBadInput;
      send_error(res, client ? 400 : 500, client ? "invalid_request" : "internal_error", e.what());
    } catch (const std::exception& e) {
      send_error(res, 500, "internal_error", e.what());
    }
  };
}

// Requests being answered; a drain waits for none. Streams hold theirs until sent.
struct InFlight {
  std::atomic<int64_t> n{0};
  struct Hold {
    explicit Hold(InFlight& f) : f_(f) { ++f_.n; }
    ~Hold() { --f_.n; }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    InFlight& f_;
  };
};

// What one job of a stream has sent so far, per part (text; or reasoning and content).
struct Sent {
  std::vector<size_t> bytes;
  bool final = false;
};

class Server {
 public:
  explicit Server(const Options& o);
  void run();

 private:
  void routes();
  void completions(const httplib::Request& req, httplib::Response& res);
  void chat(const httplib::Request& req, httplib::Response& res);
  // Submits, waits for all, cancels them if the handler leaves early.
  std::vector<infer::Completion> run_jobs(std::vector<infer::Request> reqs);
  // Streams `jobs` as SSE: `parts` splits a job's sendable text into the streamed
  // fields, `chunk` builds one event from a job index, the new bytes of each part and
  // the finish reason ("" while running).
  using Parts = std::function<std::vector<std::string>(size_t job, std::string_view text)>;
  using Chunk = std::function<json(size_t job, const std::vector<std::string>& delta, const std::string& finish)>;
  void stream(httplib::Response& res, std::vector<infer::Request> reqs, std::vector<size_t> holdback, Parts parts,
              Chunk chunk);
  json checked_body(const httplib::Request& req);

  Options o_;
  std::optional<tok::Tokenizer> tok_;
  std::optional<model::Weights> weights_;
  std::optional<tok::ChatTemplate> template_;
  Served served_;
  Metrics metrics_;
  std::optional<Scheduler> sched_;
  httplib::Server http_;
  InFlight inflight_;
  std::atomic<bool> draining_{false};
};

Server::Server(const Options& o) : o_(o) {
  if (!std::filesystem::is_directory(o.model)) fail("{}: not a model directory (config.json + model.safetensors)", o.model);
  const std::string tok_path = o.model + "/tokenizer.json";
  if (!std::filesystem::exists(tok_path)) fail("{}: no tokenizer.json", tok_path);
  tok_.emplace(tok::Tokenizer::load(tok_path));
  weights_.emplace(model::load_model_dir(o.model, backend::get(o.backend)));
  const auto& cfg = weights_->config();
  if (static_cast<int64_t>(tok_->vocab_size()) > cfg.vocab_size)
    fail("{}: tokenizer has {} tokens, more than the model's vocabulary of {}", tok_path, tok_->vocab_size(),
         cfg.vocab_size);
  if (o.context < 0 || o.context > cfg.max_seq_len)
    fail_usage("--context must be between 1 and the model's max_seq_len {} (got {})", cfg.max_seq_len, o.context);
  if (o.max_sequences < 1) fail_usage("--max-sequences must be ≥ 1 (got {})", o.max_sequences);
  if (o.max_tokens_limit < 1) fail_usage("--max-tokens-limit must be ≥ 1 (got {})", o.max_tokens_limit);
  if (o.http_threads < 1) fail_usage("--http-threads must be ≥ 1 (got {})", o.http_threads);
  if (o.max_body < 1) fail_usage("--max-body must be ≥ 1 (got {})", o.max_body);
  if (std::filesystem::exists(o.model + "/tokenizer_config.json")) {
    try {
      template_.emplace(tok::ChatTemplate::load(o.model));
    } catch (const Error& e) {
      log_warn("no chat template, /v1/chat/completions answers 400: {}", e.what());
    }
  }
  served_.name = o.name.empty() ? std::filesystem::path(o.model).lexically_normal().filename().string() : o.name;
  if (served_.name.empty()) served_.name = std::filesystem::path(o.model).lexically_normal().parent_path().filename().string();
  served_.tok = &*tok_;
  served_.context = o.context > 0 ? o.context : cfg.max_seq_len;
  served_.vocab_size = cfg.vocab_size;
  served_.max_tokens_limit = o.max_tokens_limit;
  if (cfg.eos_token_id >= 0) served_.stop_tokens.push_back(static_cast<int32_t>(cfg.eos_token_id));
  const int32_t eot = tok_->special_ids().eot;
  if (eot >= 0 && eot != cfg.eos_token_id) served_.stop_tokens.push_back(eot);
  sched_.emplace(*weights_, *tok_, o.max_sequences, served_.context, model::parse_precision(o.precision, "--precision"),
                 metrics_);
  routes();
}

json Server::checked_body(const httplib::Request& req) { return parse_body(req.body); }

std::vector<infer::Completion> Server::run_jobs(std::vector<infer::Request> reqs) {
  std::vector<std::shared_ptr<Job>> jobs;
  for (auto& r : reqs) jobs.push_back(sched_->submit(std::move(r)));
  auto all_done = [&] { return std::all_of(jobs.begin(), jobs.end(), [](const auto& j) { return j->done; }); };
  while (!sched_->wait(all_done, std::chrono::milliseconds(1000))) {
  }
  std::vector<infer::Completion> out;
  std::string error;
  bool client = true;
  sched_->with_lock([&] {
    for (auto& j : jobs) {
      if (!j->error.empty() && error.empty()) error = j->error, client = j->error_is_client;
      out.push_back(std::move(j->out));
    }
  });
  if (!error.empty()) api_fail(client ? 400 : 500, client ? "invalid_request" : "internal_error", "{}", error);
  return out;
}

void Server::stream(httplib::Response& res, std::vector<infer::Request> reqs, std::vector<size_t> holdback, Parts parts,
                    Chunk chunk) {
  struct State {
    std::vector<std::shared_ptr<Job>> jobs;
    std::vector<Sent> sent;
    std::vector<size_t> holdback;
    std::unique_ptr<InFlight::Hold> hold;
    bool closed = false;
  };
  auto st = std::make_shared<State>();
  for (auto& r : reqs) st->jobs.push_back(sched_->submit(std::move(r)));
  st->sent.resize(st->jobs.size());
  st->holdback = std::move(holdback);
  st->hold = std::make_unique<InFlight::Hold>(inflight_);
  Scheduler& sched = *sched_;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [st, &sched, parts, chunk](size_t, httplib::DataSink& sink) {
        // Something to send: a job finished, or its sendable text grew.
        auto ready = [&] {
          for (size_t i = 0; i < st->jobs.size(); ++i) {
            const Job& j = *st->jobs[i];
            if (st->sent[i].final) continue;
            if (j.done) return true;
            size_t total = 0;
            for (size_t b : st->sent[i].bytes) total += b;
            if (stream_safe_length(j.out.text, st->holdback[i]) > total) return true;
          }
          return false;
        };
        std::string out;
        if (sched.wait(ready, std::chrono::milliseconds(1000))) {
          sched.with_lock([&] {
            for (size_t i = 0; i < st->jobs.size(); ++i) {
              const Job& j = *st->jobs[i];
              Sent& s = st->sent[i];
              if (s.final) continue;
              if (!j.error.empty()) {
                out += "data: " + error_json(j.error_is_client ? 400 : 500, "generation_failed", j.error) + "\n\n";
                s.final = true;
                continue;
              }
              const std::string_view text = j.out.text;
              const size_t n = j.done ? text.size() : stream_safe_length(text, st->holdback[i]);
              auto now = parts(i, text.substr(0, n));
              s.bytes.resize(now.size(), 0);
              std::vector<std::string> delta(now.size());
              bool any = false;
              for (size_t p = 0; p < now.size(); ++p) {
                if (now[p].size() > s.bytes[p]) delta[p] = now[p].substr(s.bytes[p]), s.bytes[p] = now[p].size(), any = true;
              }
              if (any) out += "data: " + dump(chunk(i, delta, "")) + "\n\n";
              if (j.done) {
                out += "data: " + dump(chunk(i, std::vector<std::string>(now.size()), j.out.finish_reason)) + "\n\n";
                s.final = true;
              }
            }
          });
        }
        const bool all_final = std::all_of(st->sent.begin(), st->sent.end(), [](const Sent& s) { return s.final; });
        if (all_final) out += "data: [DONE]\n\n";
        // A failed write is a client that went away: the releaser cancels its jobs.
        if (!out.empty() && !sink.write(out.data(), out.size())) return false;
        if (all_final) sink.done();
        return true;
      },
      [st, &sched](bool success) {
        if (success) return;
        for (auto& j : st->jobs) sched.cancel(j);
        log_info("client went away: {} generation(s) cancelled", st->jobs.size());
      });
}

void Server::completions(const httplib::Request& req, httplib::Response& res) {
  InFlight::Hold hold(inflight_);
  const json body = checked_body(req);
  CompletionCall call = parse_completion(body, served_);
  const std::string id = request_id("cmpl");
  const int64_t created = unix_now();
  if (call.stream) {
    std::vector<size_t> holdback;
    for (const auto& r : call.requests) holdback.push_back(holdback_for(r, false));
    auto prefix = std::make_shared<std::vector<std::string>>();
    for (const auto& r : call.requests) prefix->push_back(call.echo ? tok_->decode(r.prompt) : "");
    auto model = served_.name;
    stream(
        res, call.requests, std::move(holdback),
        [prefix](size_t i, std::string_view text) { return std::vector<std::string>{(*prefix)[i] + std::string(text)}; },
        [id, created, model](size_t i, const std::vector<std::string>& delta, const std::string& finish) {
          json c = {{"index", i}, {"text", delta[0]}, {"logprobs", nullptr}};
          c["finish_reason"] = finish.empty() ? json(nullptr) : json(finish);
          return json{{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model},
                      {"choices", json::array({c})}};
        });
    return;
  }
  auto results = run_jobs(call.requests);
  json choices = json::array();
  int64_t prompt_tokens = 0, completion_tokens = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& prompt = call.prompts[i / static_cast<size_t>(call.n)];
    if (i % static_cast<size_t>(call.n) == 0) prompt_tokens += static_cast<int64_t>(prompt.size());
    completion_tokens += static_cast<int64_t>(results[i].tokens.size());
    choices.push_back(completion_choice(served_, i, prompt, results[i], call));
  }
  json out = {{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", served_.name},
              {"choices", choices}, {"usage", usage_json(prompt_tokens, completion_tokens)}};
  res.set_content(dump(out), "application/json");
}

void Server::chat(const httplib::Request& req, httplib::Response& res) {
  InFlight::Hold hold(inflight_);
  const json body = checked_body(req);
  if (!template_) api_fail(400, "no_chat_template", "this model has no chat template (tokenizer_config.json)");
  const tok::ChatTemplate& tmpl = *template_;
  ChatCall call = parse_chat(body, served_, [&](const json& messages, const json& kwargs) {
    return tmpl.render(messages, true, kwargs);
  });
  const std::string id = request_id("chatcmpl");
  const int64_t created = unix_now();
  const bool opened = call.opens_thinking;
  if (call.stream) {
    std::vector<size_t> holdback;
    for (const auto& r : call.requests) holdback.push_back(holdback_for(r, true));
    auto model = served_.name;
    auto started = std::make_shared<std::vector<bool>>(call.requests.size(), false);
    stream(
        res, call.requests, std::move(holdback),
        [opened](size_t, std::string_view text) {
          Reply r = split_reasoning(text, opened);
          return std::vector<std::string>{std::move(r.reasoning), std::move(r.content)};
        },
        [id, created, model, started](size_t i, const std::vector<std::string>& delta, const std::string& finish) {
          json d = json::object();
          if (!(*started)[i]) d["role"] = "assistant", (*started)[i] = true;
          if (!delta[0].empty()) d["reasoning_content"] = delta[0];
          if (!delta[1].empty()) d["content"] = delta[1];
          json c = {{"index", i}, {"delta", d}};
          c["finish_reason"] = finish.empty() ? json(nullptr) : json(finish);
          return json{{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model},
                      {"choices", json::array({c})}};
        });
    return;
  }
  const int64_t prompt_tokens = static_cast<int64_t>(call.requests[0].prompt.size());
  auto results = run_jobs(call.requests);
  json choices = json::array();
  int64_t completion_tokens = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    Reply r = split_reasoning(results[i].text, opened);
    json msg = {{"role", "assistant"}, {"content", r.content}};
    if (!r.reasoning.empty()) msg["reasoning_content"] = r.reasoning;
    choices.push_back({{"index", i}, {"message", msg}, {"finish_reason", results[i].finish_reason}});
    completion_tokens += static_cast<int64_t>(results[i].tokens.size());
  }
  json out = {{"id", id}, {"object", "chat.completion"}, {"created", created}, {"model", served_.name},
              {"choices", choices}, {"usage", usage_json(prompt_tokens, completion_tokens)}};
  res.set_content(dump(out), "application/json");
}

void Server::routes() {
  http_.new_task_queue = [n = o_.http_threads] { return new httplib::ThreadPool(static_cast<size_t>(n)); };
  http_.set_payload_max_length(static_cast<size_t>(o_.max_body));
  // httplib writes a response's headers and body separately: with Nagle's algorithm the
  // body waits for the client's delayed ACK of the headers (40 ms a request on Linux).
  http_.set_tcp_nodelay(true);
  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_arrival = Clock::now();
    if (draining_) {
      send_error(res, 503, "shutting_down", "the server is shutting down");
      return httplib::Server::HandlerResponse::Handled;
    }
    const bool open = req.path == "/health" || req.path == "/metrics" || req.path == "/";
    if (!o_.api_key.empty() && !open && req.get_header_value("Authorization") != "Bearer " + o_.api_key) {
      send_error(res, 401, "invalid_api_key", "missing or wrong API key (send 'Authorization: Bearer KEY')");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http_.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 413)
      send_error(res, 413, "body_too_large", fmt::format("the request body is larger than the limit of {} bytes", o_.max_body));
    else if (res.status == 404)
      send_error(res, 404, "not_found", fmt::format("no route {} {} (see docs/serve.md)", req.method, req.path));
    else
      send_error(res, res.status, "bad_request", fmt::format("HTTP error {}", res.status));
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const double secs = t_arrival == Clock::time_point{} ? 0 : std::chrono::duration<double>(Clock::now() - t_arrival).count();
    t_arrival = {};
    static const std::set<std::string> kRoutes = {"/",        "/health",       "/metrics",      "/v1/models",
                                                  "/tokenize", "/detokenize",  "/tokenizer_info", "/v1/completions",
                                                  "/v1/chat/completions"};
    metrics_.request(kRoutes.count(req.path) ? req.path : "other", res.status, secs);
    log_info("{} {} {} {:.1f} ms", req.method, req.path, res.status, secs * 1e3);
  });

  http_.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(chat_page().data(), chat_page().size(), "text/html; charset=utf-8");
  });
  http_.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    auto [waiting, running] = sched_->load();
    res.set_content(metrics_.render(waiting, running), "text/plain; version=0.0.4");
  });
  http_.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json m = {{"id", served_.name}, {"object", "model"}, {"created", unix_now()}, {"owned_by", "kormo"},
              {"max_model_len", served_.context}};
    res.set_content(dump({{"object", "list"}, {"data", json::array({m})}}), "application/json");
  });
  http_.Post("/v1/completions", guarded([this](const auto& req, auto& res) { completions(req, res); }));
  http_.Post("/v1/chat/completions", guarded([this](const auto& req, auto& res) { chat(req, res); }));
  // lm-evaluation-harness's remote tokenizer (vLLM's endpoints): /tokenizer_info,
  // /tokenize {"prompt"} → {"tokens"}, /detokenize {"tokens"} → {"prompt"}.
  http_.Get("/tokenizer_info", guarded([this](const auto&, auto& res) {
              auto name = [&](int32_t id) { return id >= 0 ? json(tok_->id_to_token(id)) : json(nullptr); };
              const auto& sp = tok_->special_ids();
              const auto& cfg = weights_->config();
              json info = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                           {"bos_token", name(cfg.bos_token_id >= 0 ? static_cast<int32_t>(cfg.bos_token_id) : sp.bos)},
                           {"eos_token", name(cfg.eos_token_id >= 0 ? static_cast<int32_t>(cfg.eos_token_id) : sp.eot)},
                           {"pad_token", name(sp.pad)},
                           {"model_max_length", served_.context},
                           {"vocab_size", tok_->vocab_size()}};
              if (template_) info["chat_template"] = template_->source();
              res.set_content(dump(info), "application/json");
            }));
  http_.Post("/tokenize", guarded([this](const auto& req, auto& res) {
               const json body = checked_body(req);
               for (const auto& [key, v] : body.items())
                 if (key != "prompt" && key != "text" && key != "model" && key != "add_special_tokens")
                   api_fail(400, "unknown_field", "unknown field \"{}\" (expected \"prompt\" or \"text\")", key);
               check_model(body, served_);
               const json* text = body.contains("prompt") ? &body["prompt"] : body.contains("text") ? &body["text"] : nullptr;
               if (!text || !text->is_string()) api_fail(400, "missing_field", "\"prompt\" must be a string");
               // As HF tokenizers encode by default: special-token text becomes its id.
               const auto ids = tok_->encode(text->get<std::string>(), {.allow_special = true});
               res.set_content(dump({{"tokens", ids}, {"count", ids.size()}, {"max_model_len", served_.context}}),
                               "application/json");
             }));
  http_.Post("/detokenize", guarded([this](const auto& req, auto& res) {
               const json body = checked_body(req);
               for (const auto& [key, v] : body.items())
                 if (key != "tokens" && key != "model")
                   api_fail(400, "unknown_field", "unknown field \"{}\" (expected \"tokens\")", key);
               check_model(body, served_);
               if (!body.contains("tokens") || !body["tokens"].is_array())
                 api_fail(400, "missing_field", "\"tokens\" must be a list of token ids");
               std::vector<int32_t> ids;
               for (const auto& t : body["tokens"]) {
                 if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= served_.vocab_size)
                   api_fail(400, "invalid_value", "token ids must be integers in [0, {})", served_.vocab_size);
                 ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
               }
               res.set_content(dump({{"prompt", tok_->decode(ids)}}), "application/json");
             }));
}

void Server::run() {
  const int port = o_.port == 0 ? http_.bind_to_any_port(o_.host) : (http_.bind_to_port(o_.host, o_.port) ? o_.port : -1);
  if (port < 0) fail_io("cannot listen on {}:{} (in use, or not an address of this machine)", o_.host, o_.port);
  log_info("serving {} ({} sequences × {} tokens) on http://{}:{}", served_.name, o_.max_sequences, served_.context,
           o_.host, port);
  // A server that drained has finished its work and exits 0 (stop.handled()); a second
  // signal still ends the process at once.
  StopRequest stop;
  std::thread listener([this] { http_.listen_after_bind(); });
  while (!stop.signal()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  draining_ = true;
  log_info("signal {}: draining {} request(s), new ones get 503", stop.signal(), inflight_.n.load());
  while (inflight_.n.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  http_.stop();
  listener.join();
  stop.handled();
  log_info("stopped");
}

}  // namespace

void run(const Options& o) {
  // A client that closes its socket mid-write must not end the process.
  std::signal(SIGPIPE, SIG_IGN);
  Server s(o);
  s.run();
}

}  // namespace kormo::serve
