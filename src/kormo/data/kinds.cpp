#include "kormo/data/kinds.h"

#include <algorithm>

#include "kormo/data/document.h"
#include "kormo/data/words.h"
#include "kormo/util/config.h"
#include "kormo/util/error.h"

namespace kormo::data {

const std::vector<std::string>& builtin_kinds() {
  static const std::vector<std::string> kinds = {"comment", "qa", "chat", "title"};
  return kinds;
}

void apply_kind_defaults(const std::string& kind, Thresholds& t) {
  if (std::find(builtin_kinds().begin(), builtin_kinds().end(), kind) == builtin_kinds().end()) return;
  // What every short kind relaxes: the rules that measure a page, not a text.
  t.min_words = 1;
  t.min_stop_words = 0;
  t.min_avg_word_length = 1;
  t.c4_min_words_per_line = 1;
  t.c4_min_sentences = 1;
  t.line_punct_thr = 0;
  t.short_line_thr = 1;
  t.max_ellipsis_lines_ratio = 1;
  t.new_line_ratio = 1;
  t.max_avg_word_length = 12;
  t.max_symbol_word_ratio = 0.5;
  t.max_non_alpha_words_ratio = 0.5;
  if (kind == "title") t.max_words = 40;
  else if (kind == "comment") t.max_words = 1000;
}

RuleResult short_text_boilerplate(std::string_view text) {
  static const std::string_view kLegal[] = {"all rights reserved", "무단 전재", "무단전재", "재배포 금지",
                                            "재배포금지", "재배포를 금지", "저작권자 ©", "저작권자(c)", "copyright ©"};
  // Words of site chrome: menus, buttons, counters' labels.
  static const std::string_view kChrome[] = {
      "로그인", "로그아웃", "회원가입", "고객센터", "이전글", "다음글", "목록", "목록으로", "더보기", "공유하기", "공유",
      "좋아요", "댓글", "구독", "구독하기", "알림설정", "바로가기", "맨위로", "메뉴", "검색", "닫기", "홈", "이전", "다음",
      "전체보기", "사이트맵", "신고", "신고하기", "스크랩", "인쇄", "답글", "추천", "비추천", "조회", "조회수",
      "login", "logout", "sign", "in", "up", "register", "menu", "home", "search", "share", "like", "reply",
      "next", "previous", "prev", "more", "read", "close", "subscribe", "print", "top", "back", "to", "skip",
      "content", "main", "navigation"};
  std::string lower = ascii_lower(text);
  for (auto p : kLegal)
    if (lower.find(p) != std::string::npos) return {"short_text.legal", 1};
  // Words with a letter or digit; a run of symbols holding one of these
  // separates items, as in a menu or a breadcrumb trail.
  static const std::string_view kSeparators[] = {"|", ">", "/", "»", "›", "▶", "◀", "▷", "◁", "·", "•", "∙"};
  size_t words = 0, chrome = 0, separators = 0, item = 0, longest_item = 0;
  for (const Word& w : split_words(lower)) {
    bool digits = std::all_of(w.text.begin(), w.text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!w.has_letter && !digits) {
      bool sep = false;
      for (auto m : kSeparators) sep = sep || w.text.find(m) != std::string_view::npos;
      separators += sep;
      if (sep) item = 0;
      continue;
    }
    ++words;
    longest_item = std::max(longest_item, ++item);
    if (digits || std::find(std::begin(kChrome), std::end(kChrome), w.text) != std::end(kChrome)) ++chrome;
  }
  if (words > 0 && chrome == words) return {"short_text.chrome", double(words)};
  // Three or more items of at most three words: a menu or a trail, not a sentence.
  if (separators >= 2 && longest_item <= 3 && words <= 12) return {"short_text.chrome", double(words)};
  return {};
}

TextKinds::TextKinds(const std::map<std::string, Thresholds>& base, ConfigSection& top, std::string default_kind)
    : default_kind_(std::move(default_kind)) {
  ConfigSection sec = top.section("kind");
  std::vector<std::string> kinds = builtin_kinds();
  if (const toml::table* t = sec.table())
    for (const auto& [key, node] : *t) {
      std::string name(key.str());
      if (!node.is_table()) sec.bad_value(name, "expected a table [kind." + name + "] of sources and thresholds");
      if (std::find(kinds.begin(), kinds.end(), name) == kinds.end()) kinds.push_back(name);
    }
  if (!default_kind_.empty() && std::find(kinds.begin(), kinds.end(), default_kind_) == kinds.end())
    fail_usage("unknown kind \"{}\" (built in: comment, qa, chat, title; others need a [kind.{}] table)",
               default_kind_, default_kind_);
  for (const auto& kind : kinds) {
    ConfigSection ks = sec.section(kind);
    for (const auto& [lang, lt] : base) {
      Thresholds t = lt;
      apply_kind_defaults(kind, t);
      read_thresholds(ks, t);
      table_[kind][lang] = std::move(t);
    }
    for (const auto& src : ks.get_strings("sources", {})) {
      auto [it, fresh] = source_kind_.emplace(src, kind);
      if (!fresh && it->second != kind)
        ks.bad_value("sources", "source \"" + src + "\" is already of kind \"" + it->second + "\"");
    }
    ks.check_unused();
  }
  sec.check_unused();
}

std::string TextKinds::kind_of(const Document& doc) const {
  auto m = doc.meta.find("kind");
  if (m != doc.meta.end() && m->is_string()) return m->get<std::string>();
  auto s = source_kind_.find(doc.source);
  return s != source_kind_.end() ? s->second : default_kind_;
}

const Thresholds* TextKinds::thresholds(const std::string& kind, const std::string& lang) const {
  if (kind.empty()) return nullptr;
  auto k = table_.find(kind);
  if (k == table_.end()) return nullptr;
  auto l = k->second.find(lang);
  if (l == k->second.end()) l = k->second.find("default");
  return l == k->second.end() ? nullptr : &l->second;
}

}  // namespace kormo::data
