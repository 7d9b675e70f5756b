// One teacher endpoint over HTTP: POST <url>/chat/completions (OpenAI's chat API, as
// vLLM, SGLang, llama.cpp's server, kormo serve and hosted APIs answer it).
//
// Promises:
//  - send() never throws for what a server or the network does: every outcome is a
//    ChatReply with ok, or a reason (a short rule name counted in the summary), a
//    detail for people and whether a retry may help.
//  - Retried: no answer (connection refused or timed out: "connection"; a read timeout or a
//    body cut short: "read"), 408, 429 and
//    5xx, a body that is not the JSON expected, no choices, no message content. Not
//    retried: other 4xx (the request itself is wrong: retrying pays for nothing).
//  - One ChatClient is one keep-alive connection; use one per concurrent request.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "kormo/synth/program.h"

namespace kormo::synth {

struct ChatReply {
  bool ok = false;
  std::string content, reasoning, finish_reason;
  std::string model;  // the reply's "model" (what answered), "" when absent
  int64_t prompt_tokens = -1, completion_tokens = -1;  // -1: the server sent no usage
  std::string reason;   // when !ok: "connection", "read", "http_429", "http_5xx", "http_4xx",
                        // "malformed_json", "empty_choices", "no_content"
  std::string detail;   // for people: status, server message, what was missing
  bool retry = false;   // a retry may succeed
  double retry_after = -1;  // seconds the server asked to wait (Retry-After), -1 = none
};

// The reply to a completed HTTP exchange (status, body, Retry-After header).
ChatReply parse_chat_reply(int status, const std::string& body, const std::string& retry_after);

// Seconds to wait before attempt `attempt` + 1 (attempt ≥ 1 failed): "full jitter"
// exponential backoff, uniform in [0.5, 1] × min(max_s, base_s · 2^(attempt−1)), and never
// less than what the server asked for.
double backoff_seconds(int attempt, double base_s, double max_s, double retry_after, double uniform01);

class ChatClient {
 public:
  ChatClient(const Teacher& t, std::string api_key);
  ~ChatClient();
  ChatClient(const ChatClient&) = delete;
  ChatClient& operator=(const ChatClient&) = delete;
  ChatReply send(const nlohmann::json& body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kormo::synth
