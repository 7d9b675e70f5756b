// Chat templates: the Jinja programs in tokenizer_config.json that turn a conversation
// into the model's prompt text.
//
// Why our own interpreter: no Debian package offers a Jinja engine for C++ (`apt-cache
// search jinja` lists only Python, Rust, R and editor packages), and a chat template uses
// a small, well-defined part of the language. This module is that part: a lexer, a parser
// to an AST and an evaluator over JSON values.
//
// Promises:
//  - render() returns what transformers' apply_chat_template(tokenize=False) returns for
//    the same messages and variables: Jinja with trim_blocks, lstrip_blocks, `{%-`/`-%}`,
//    loop controls, the sandbox's globals (raise_exception, strftime_now, namespace,
//    range, dict) and transformers' tojson (json.dumps, ensure_ascii=False); messages are
//    normalised as transformers does (keys whose value is null dropped; a reasoning under
//    reasoning_content, thinking or reasoning is given under `thinking` and
//    `reasoning_content`). Strings print as Python prints them (True, None, ['a', 1]).
//  - Anything outside the supported subset (an unknown tag, filter or test, a method we
//    do not implement) is an error, never a silently different rendering. Syntax errors
//    name "line L, column C"; runtime errors (raise_exception, type errors, an undefined
//    value used as Jinja refuses) name the line and column of the expression.
//  - Known differences: upper/lower/title/capitalize change ASCII letters only;
//    dictionaries keep the order of the JSON they came from (render() taking
//    nlohmann::json sees keys sorted, render_ordered() keeps the caller's order).
//  - A ChatTemplate is immutable after construction; render() is thread-safe.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

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
