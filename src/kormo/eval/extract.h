// Turning generated text into a scored answer, with lm-evaluation-harness's rules: its
// regex filter, its exact_match (Hugging Face evaluate's), Python's str.strip and
// Python's regular expressions as far as its task files use them.
//
// Promises:
//  - PyRegex compiles a Python `re` pattern to std::regex (ECMAScript) with Python's
//    meaning for what differs: a leading "(?s)" (dot matches newline) or "(?i)", `.`
//    without DOTALL (any character but "\n"), `$` (end, or before a final "\n").
//    Other inline flags and named groups are refused with the pattern in the message.
//    Matching is bytewise: \d, \w, \s are ASCII (Python's are Unicode) — the task files'
//    patterns (digits, "$", ",", ".") mean the same either way.
//    sub() is re.sub with Python's replacement syntax (group references, escapes).
//  - regex_filter() is lm-eval's RegexFilter on one response: re.findall, the match
//    numbered group_select (negative from the end), the first non-empty group when the
//    pattern has several, the fallback when nothing matched, then str.strip().
//  - exact_match() is lm-eval's exact_match_hf_evaluate for one pair: each of
//    regexes_to_ignore removed (re.sub) from both, then lower case (Unicode simple case
//    mapping), ASCII punctuation and digits removed when asked, then equality.
//  - korquad_exact_match() and korquad_f1() are KorQuAD 1.0's official evaluation for one
//    pair: normalize_answer (' " 《 》 < > 〈 〉 ( ) ‘ ’ become spaces, lower case, ASCII
//    punctuation dropped, whitespace runs collapsed as str.split), then equality, or the F1
//    of the characters (code points, spaces excluded) the two share, as a multiset.
//  - cut_at_stop() cuts at the first occurrence of any stop string (lm-eval's
//    postprocess: text.split(term)[0] for each term in turn).
//  - utf8_lossy() decodes bytes as Python's bytes.decode(errors="replace") and Hugging
//    Face tokenizers do: one U+FFFD per maximal ill-formed subpart.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kormo::eval {

class PyRegex {
 public:
  // `what` names the pattern's place in errors (e.g. "task.toml [task.filters.strict-match] regex").
  PyRegex(const std::string& pattern, const std::string& what);
  ~PyRegex();
  PyRegex(PyRegex&&) noexcept;
  PyRegex& operator=(PyRegex&&) noexcept;

  // re.findall: per match, the groups (empty when one did not take part), or the whole
  // match as the only entry when the pattern has no groups.
  std::vector<std::vector<std::string>> findall(std::string_view text) const;
  // re.sub(pattern, "", text).
  std::string remove_all(std::string_view text) const;
  // re.sub(pattern, repl, text, count): repl's group references \N and \g<N>, its escapes
  // \\ \n \r \t \a \b \f \v, and other escapes of non-letters kept as written, as
  // Python's; an escape of another ASCII letter, \0 (octal) or a group the pattern lacks
  // is an error naming `what`. count ≤ 0: every match.
  std::string sub(std::string_view text, std::string_view repl, int64_t count, const std::string& what) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct RegexFilterSpec {
  std::string name;   // the filter's name in results ("strict-match")
  std::string regex;
  int64_t group_select = 0;
  std::string fallback = "[invalid]";
};

std::string regex_filter(std::string_view response, const PyRegex& re, int64_t group_select,
                         const std::string& fallback);

struct ExactMatchOptions {
  bool ignore_case = false, ignore_punctuation = false, ignore_numbers = false;
  std::vector<std::string> regexes_to_ignore;
};

class ExactMatch {
 public:
  ExactMatch(const ExactMatchOptions& opt, const std::string& what);
  bool operator()(std::string_view prediction, std::string_view reference) const;

 private:
  std::string normalise(std::string_view s) const;
  ExactMatchOptions opt_;
  std::vector<PyRegex> ignore_;
};

std::string korquad_normalize(std::string_view s);
bool korquad_exact_match(std::string_view prediction, std::string_view reference);
double korquad_f1(std::string_view prediction, std::string_view reference);

std::string cut_at_stop(std::string_view text, const std::vector<std::string>& stop);
std::string utf8_lossy(std::string_view bytes);

// Python's str.isspace characters at the end / both ends of s.
size_t trailing_whitespace(std::string_view s);
std::string python_strip(std::string_view s);

}  // namespace kormo::eval
