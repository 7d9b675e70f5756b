// The OpenAI-compatible API's request parsing and response JSON, apart from HTTP.
//
// Promises:
//  - Every client mistake is an ApiError with an HTTP status (400 malformed or invalid,
//    401 bad key, 404 unknown model, 413 too large) and a message naming the field and
//    what was expected; error_json() renders it as {"error": {"message", "type", "code"}}.
//  - Unknown fields are refused (400 naming the field), so a misspelt or unsupported
//    option never silently changes nothing.
//  - Request bodies must be valid UTF-8 (400 naming the byte offset).
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kormo/infer/generator.h"
#include "kormo/tok/tokenizer.h"

namespace kormo::serve {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }

 private:
  int status_;
  std::string code_;
};

template <class... Args>
[[noreturn]] void api_fail(int status, std::string code, fmt::format_string<Args...> f, Args&&... args) {
  throw ApiError(status, std::move(code), fmt::format(f, std::forward<Args>(args)...));
}

// {"error": {"message", "type", "code"}}; type from the status as OpenAI names it.
std::string error_json(int status, const std::string& code, const std::string& message);
// JSON text for responses: bytes that are not UTF-8 (a token ending mid-character)
// become U+FFFD.
std::string dump(const nlohmann::json& j);

// What requests are checked against.
struct Served {
  std::string name;  // the model id clients send
  const tok::Tokenizer* tok = nullptr;
  int64_t context = 0;           // tokens per sequence
  int64_t vocab_size = 0;        // the model's
  int64_t max_tokens_limit = 0;  // the most max_tokens a request may ask for
  std::vector<int32_t> stop_tokens;  // end-of-text ids every generation stops at
};

// The body as a JSON object: 400 for invalid UTF-8, malformed JSON or a non-object.
nlohmann::json parse_body(const std::string& body);
// "model", when given, must be the served one (404).
void check_model(const nlohmann::json& body, const Served& m);

// A /v1/completions call: prompts × n generations, in choice order
// (choice index = prompt index × n + j).
struct CompletionCall {
  std::vector<std::vector<int32_t>> prompts;
  std::vector<infer::Request> requests;
  int64_t n = 1, logprobs = -1;
  bool echo = false, stream = false;
};
CompletionCall parse_completion(const nlohmann::json& body, const Served& m);
// One entry of "choices" (the whole completion, not a stream chunk).
nlohmann::json completion_choice(const Served& m, size_t index, const std::vector<int32_t>& prompt,
                                 const infer::Completion& c, const CompletionCall& call);

// A /v1/chat/completions call.
struct ChatCall {
  std::vector<infer::Request> requests;  // n of them, one prompt
  bool stream = false;
  bool opens_thinking = false;  // the rendered prompt ends inside <think>
};
// Parses fields; `render` turns the messages + template kwargs into prompt text.
ChatCall parse_chat(const nlohmann::json& body, const Served& m,
                    const std::function<std::string(const nlohmann::json&, const nlohmann::json&)>& render);

// A reply split at </think>: the reasoning before it (without <think>), the answer after.
// `opened`: the prompt already opened the thinking block.
struct Reply {
  std::string reasoning, content;
};
Reply split_reasoning(std::string_view text, bool opened);

// How much of a growing `text` can be sent now: all but `holdback` bytes (a stop
// string or tag still forming there), never ending inside a UTF-8 character.
size_t stream_safe_length(std::string_view text, size_t holdback);
// The bytes a stream must hold back for this request's stop strings and think tags.
size_t holdback_for(const infer::Request& r, bool think_tags);

nlohmann::json usage_json(int64_t prompt_tokens, int64_t completion_tokens);

}  // namespace kormo::serve
