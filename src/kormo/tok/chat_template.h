// Chat templates: the Jinja programs in tokenizer_config.json that turn a conversation
// into the model's prompt text.
//
// The Jinja engine is tok/jinja.h; this adds what transformers' apply_chat_template adds.
//
// Promises:
//  - render() returns what transformers' apply_chat_template(tokenize=False) returns for
//    the same messages and variables: the template in transformers' environment
//    (JinjaOptions' defaults), the special tokens, messages, add_generation_prompt, tools
//    and documents as variables; messages are normalised as transformers does (keys
//    whose value is null dropped; a reasoning under reasoning_content, thinking or
//    reasoning is given under `thinking` and `reasoning_content`).
//  - Errors are the engine's, prefixed "chat template: ".
//  - Dictionaries keep the order of the JSON they came from (render() taking
//    nlohmann::json sees keys sorted, render_ordered() keeps the caller's order).
//  - A ChatTemplate is immutable after construction; render() is thread-safe.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "kormo/tok/jinja.h"

namespace kormo::tok {

class ChatTemplate {
 public:
  // Parses Jinja source. Throws kormo::Error "chat template: line L, column C: <what>"
  // for syntax errors and unsupported constructs. `specials`: an object of the strings
  // (bos_token, eos_token, …) the template may name.
  ChatTemplate(std::string source, nlohmann::json specials);
  // From DIR/tokenizer_config.json: "chat_template" (a string, or a list of
  // {name, template} whose "default" is used), the specials from bos_token, eos_token, …
  // (strings or {"content": …}). Errors name the file.
  static ChatTemplate load(const std::string& tokenizer_dir);

  // apply_chat_template(messages, tokenize=False, add_generation_prompt, **kwargs).
  // messages: an array of objects (role, content, optionally reasoning_content, …);
  // kwargs: further template variables, e.g. {"enable_thinking": false}.
  std::string render(const nlohmann::json& messages, bool add_generation_prompt,
                     const nlohmann::json& kwargs = nlohmann::json::object()) const;
  // The same for key-ordered JSON: what a template iterating a message's items or
  // printing it with tojson sees in the caller's key order, as in Python.
  std::string render_ordered(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                             const nlohmann::ordered_json& kwargs = nlohmann::ordered_json::object()) const;

  const std::string& source() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace kormo::tok
