// Short text: filter thresholds by kind of document (comments, Q&A turns,
// chat turns, titles) instead of one global rule set.
//
// The web-page rules (50 words, 5 sentences, 3 words a line, terminal
// punctuation, short-line share) remove nearly every ordinary comment or
// question. A document of a kind is judged by that kind's thresholds: the
// language's, changed by the kind's built-in defaults (measured on the Korean
// comment, Q&A and title data in ../shared/data: docs/data.md "Short text"),
// then by the config's [kind.<name>] keys. The rules that catch boilerplate
// and junk stay on: repetition, symbol and non-alphabetic ratios, C4's
// javascript/policy/lorem-ipsum/curly-bracket rules; and short_text_boilerplate()
// catches what a page's rules caught by length: site chrome and legal footers.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "kormo/data/filters.h"

namespace kormo {
class ConfigSection;
}

namespace kormo::data {

struct Document;

// comment, qa, chat, title.
const std::vector<std::string>& builtin_kinds();
// Changes `t` (a language's thresholds) into the kind's; other kinds: unchanged.
void apply_kind_defaults(const std::string& kind, Thresholds& t);

// For documents of a kind: "short_text.chrome" when every word is site
// navigation (로그인, 회원가입, 더보기, 공유하기, menu, login, ... and numbers)
// or the text is a menu or breadcrumb trail (3+ items of at most three words
// between separators such as | > » ▶, at most 12 words),
// "short_text.legal" for a copyright or reprint notice (all rights reserved,
// 무단 전재, 재배포 금지, ...); "" otherwise.
RuleResult short_text_boilerplate(std::string_view text);

class TextKinds {
 public:
  // `base`: thresholds by language (StageConfig::thresholds, "default" for the
  // rest). Reads [kind.<name>] tables from `top`: `sources` (documents of these
  // sources are of this kind) and any threshold key. `default_kind`: the kind of
  // documents that name none ("" = none).
  TextKinds(const std::map<std::string, Thresholds>& base, ConfigSection& top, std::string default_kind = "");

  // meta.kind when it is a string, else the kind of the document's source,
  // else the default kind; "" = none.
  std::string kind_of(const Document& doc) const;
  // The thresholds for a kind and language; nullptr for no kind or an unknown one.
  const Thresholds* thresholds(const std::string& kind, const std::string& lang) const;

  const std::map<std::string, std::map<std::string, Thresholds>>& table() const { return table_; }
  const std::map<std::string, std::string>& source_kinds() const { return source_kind_; }
  const std::string& default_kind() const { return default_kind_; }

 private:
  std::map<std::string, std::map<std::string, Thresholds>> table_;  // kind -> language -> thresholds
  std::map<std::string, std::string> source_kind_;
  std::string default_kind_;
};

}  // namespace kormo::data
