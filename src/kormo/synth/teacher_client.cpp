#include "kormo/synth/teacher_client.h"

#include <httplib.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "kormo/util/http_client.h"
#include "kormo/util/json.h"

namespace kormo::synth {

namespace {

time_t whole_seconds(double s) { return static_cast<time_t>(s); }
time_t micro_part(double s) { return static_cast<time_t>((s - std::floor(s)) * 1e6); }

// Retry-After as delta-seconds; an HTTP date (also allowed) gives -1 and the backoff rules.
double parse_retry_after(const std::string& v) {
  if (v.empty()) return -1;
  size_t used = 0;
  try {
    const double s = std::stod(v, &used);
    return used == v.size() && s >= 0 ? s : -1;
  } catch (const std::exception&) {
    return -1;
  }
}

ChatReply failure(std::string reason, std::string detail, bool retry) {
  ChatReply r;
  r.reason = std::move(reason);
  r.detail = std::move(detail);
  r.retry = retry;
  return r;
}

}  // namespace

ChatReply parse_chat_reply(int status, const std::string& body, const std::string& retry_after) {
  const nlohmann::json j = parse_json_or_discarded(body);
  if (status != 200) {
    std::string why = body.substr(0, 200);
    if (j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("message") &&
        j["error"]["message"].is_string())
      why = j["error"]["message"].get<std::string>();
    const bool server_side = status >= 500 || status == 429 || status == 408;
    ChatReply r = failure(status == 429 ? "http_429" : status >= 500 ? "http_5xx" : "http_4xx",
                          fmt::format("HTTP {}: {}", status, why), server_side);
    r.retry_after = parse_retry_after(retry_after);
    return r;
  }
  if (!j.is_object()) return failure("malformed_json", "the body is not a JSON object: " + body.substr(0, 120), true);
  if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty())
    return failure("empty_choices", "the reply has no choices", true);
  const auto& c = j["choices"][0];
  if (!c.is_object() || !c.contains("message") || !c["message"].is_object() || !c["message"].contains("content") ||
      !c["message"]["content"].is_string())
    return failure("no_content", "choices[0].message.content is missing or not a string", true);
  ChatReply r;
  r.ok = true;
  r.content = c["message"]["content"].get<std::string>();
  if (c["message"].contains("reasoning_content") && c["message"]["reasoning_content"].is_string())
    r.reasoning = c["message"]["reasoning_content"].get<std::string>();
  if (c.contains("finish_reason") && c["finish_reason"].is_string()) r.finish_reason = c["finish_reason"];
  if (j.contains("model") && j["model"].is_string()) r.model = j["model"];
  if (j.contains("usage") && j["usage"].is_object()) {
    const auto& u = j["usage"];
    if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number_integer()) r.prompt_tokens = u["prompt_tokens"];
    if (u.contains("completion_tokens") && u["completion_tokens"].is_number_integer())
      r.completion_tokens = u["completion_tokens"];
  }
  return r;
}

double backoff_seconds(int attempt, double base_s, double max_s, double retry_after, double uniform01) {
  const double exp = std::min(max_s, base_s * std::ldexp(1.0, std::min(attempt - 1, 60)));
  return std::max(exp * (0.5 + 0.5 * uniform01), retry_after);
}

struct ChatClient::Impl {
  std::unique_ptr<httplib::Client> client;
  std::string path, ca_file;
};

ChatClient::ChatClient(const Teacher& t, std::string api_key) : impl_(std::make_unique<Impl>()) {
  // load_program checked the URL.
  const HttpUrl url = split_http_url(t.url).value();
  impl_->client = make_http_client(url, t.ca_file);
  impl_->path = url.path + "/chat/completions";
  impl_->ca_file = t.ca_file;
  auto& c = *impl_->client;
  c.set_keep_alive(true);
  c.set_connection_timeout(whole_seconds(t.connect_timeout_s), micro_part(t.connect_timeout_s));
  c.set_read_timeout(whole_seconds(t.timeout_s), micro_part(t.timeout_s));
  c.set_write_timeout(whole_seconds(t.timeout_s), micro_part(t.timeout_s));
  if (!api_key.empty()) c.set_bearer_token_auth(api_key);
}

ChatClient::~ChatClient() = default;

ChatReply ChatClient::send(const nlohmann::json& body) {
  auto res = impl_->client->Post(impl_->path, body.dump(), "application/json");
  if (!res) {
    const auto e = res.error();
    // A certificate the client rejects stays rejected: retrying only burns the attempts.
    if (is_tls_error(e)) return failure("tls", describe_http_error(*impl_->client, e, impl_->ca_file), false);
    const bool connect = e == httplib::Error::Connection || e == httplib::Error::ConnectionTimeout;
    // Read covers both a read timeout and a body cut short: httplib does not tell them apart.
    return failure(connect ? "connection" : "read", "no answer: " + httplib::to_string(e), true);
  }
  return parse_chat_reply(res->status, res->body, res->get_header_value("Retry-After"));
}

}  // namespace kormo::synth
