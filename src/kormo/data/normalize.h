// Text normalisation and boilerplate stripping.
//
// normalize_text(): Unicode NFC (or NFKC), then: BOM and control characters
// removed (tab and newline kept), CRLF/CR -> LF, Unicode spaces -> ' ',
// trailing spaces per line removed, runs of 3+ newlines -> 2, leading and
// trailing blank space removed. Input must be valid UTF-8.
//
// Boilerplate rules (a small text format users can extend, docs/data.md):
//   cut_before <text>   drop everything up to and including the first line containing <text>
//   cut_after <text>    drop the last line containing <text> and everything after it
//   drop_line <text>    drop every line containing <text>
// Matching is ASCII case-insensitive substring. The built-in rules remove the
// Project Gutenberg header and licence footer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kormo/text/unicode.h"

namespace kormo::data {

struct BoilerplateRule {
  enum Kind { kCutBefore, kCutAfter, kDropLine } kind;
  std::string needle;  // lower-cased
  std::string name;    // "boilerplate.<kind>:<line in rules file>"
};

std::vector<BoilerplateRule> default_boilerplate_rules();
// Parses a rules file; errors name path:line.
std::vector<BoilerplateRule> parse_boilerplate_rules(std::string_view text, const std::string& path);

std::string normalize_text(std::string_view s, text::NormForm form);

// Applies rules; returns the names of rules that changed the text.
std::vector<std::string> strip_boilerplate(std::string& text, const std::vector<BoilerplateRule>& rules);

}  // namespace kormo::data
