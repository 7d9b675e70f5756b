// Jinja templates: the language of chat templates (tokenizer_config.json) and of
// lm-evaluation-harness's prompts (eval task files).
//
// Why our own interpreter: no Debian package offers a Jinja engine for C++ (`apt-cache
// search jinja` lists only Python, Rust, R and editor packages), and these templates use
// a small, well-defined part of the language. This is that part: a lexer, a parser to an
// AST and an evaluator over JSON values.
//
// Promises:
//  - render() returns what jinja2 3.1 renders for the same source, variables and
//    environment options (JinjaOptions): whitespace control (`{%-`/`-%}`, trim_blocks,
//    lstrip_blocks, keep_trailing_newline), loop controls, the sandbox's globals
//    (raise_exception, strftime_now, namespace, range, dict), tojson as transformers
//    defines it (json.dumps, ensure_ascii=False). Values print as Python prints them
//    (True, None, ['a', 1]).
//  - Anything outside the supported subset (an unknown tag, filter or test, a method we
//    do not implement) is an error, never a silently different rendering. Syntax errors
//    name "line L, column C"; runtime errors (raise_exception, type errors, an undefined
//    value used as Jinja refuses) name the line and column of the expression.
//  - Known differences: upper/lower/title/capitalize change ASCII letters only; a tuple
//    prints as a list; with strict_undefined only printing and `~` of an undefined value
//    are errors (jinja2's StrictUndefined also refuses comparisons and arithmetic).
//  - Filters a user adds (JinjaOptions::filters) are known to the parser as the built-in
//    ones are, and callable through map('name', …) too; an error one throws is reported
//    with the expression's line and column.
//  - A template is immutable after construction; render() is thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kormo::tok {

// A filter beyond jinja2's own (e.g. eval's regex_replace, which needs Python's `re`
// semantics that live in eval): the filtered value and the positional arguments, all
// defined. Keyword arguments are refused before it is called. Must be thread-safe.
using JinjaFilter = std::function<nlohmann::ordered_json(const nlohmann::ordered_json& value,
                                                         const std::vector<nlohmann::ordered_json>& args)>;

// The jinja2.Environment settings that differ between the template's users. The
// defaults are transformers' chat-template environment.
struct JinjaOptions {
  bool trim_blocks = true;             // the newline after a block tag is dropped
  bool lstrip_blocks = true;           // whitespace before a block tag on its line is dropped
  bool keep_trailing_newline = false;  // else one trailing newline of the source is dropped
  bool strict_undefined = false;       // printing an undefined value is an error
  std::map<std::string, JinjaFilter> filters = {};  // added filters, by name (a built-in name is refused)
};

class JinjaTemplate {
 public:
  // Throws kormo::Error "line L, column C: <what>" for syntax errors and unsupported
  // constructs.
  explicit JinjaTemplate(std::string source, JinjaOptions opt = {});
  // Renders with `variables` (a JSON object) as the template's globals; dictionaries
  // keep the key order they have there, as Python dicts do.
  std::string render(const nlohmann::ordered_json& variables) const;
  const std::string& source() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace kormo::tok
