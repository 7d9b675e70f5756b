#include "kormo/synth/translate.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "kormo/data/langid.h"
#include "kormo/data/words.h"
#include "kormo/text/unicode.h"
#include "kormo/util/hash.h"
#include "kormo/util/rng.h"

namespace kormo::synth {

namespace {

bool is_alnum_ascii(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// printf conversions ("%s", "%1$d", "%-10lu") with the position removed, so a
// Korean "%2$s … %1$s" matches an English "%s … %s"; and "{name}" fields.
std::vector<std::string> placeholders(std::string_view s, std::string* without) {
  std::vector<std::string> found;
  std::string rest;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '%' && i + 1 < s.size()) {
      if (s[i + 1] == '%') {
        rest += '%';
        i += 2;
        continue;
      }
      size_t j = i + 1;
      size_t k = j;
      while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) ++k;
      if (k < s.size() && s[k] == '$' && k > j) j = k + 1;
      size_t spec = j;
      while (j < s.size() && std::strchr("-+ #0123456789.*'", s[j])) ++j;
      while (j < s.size() && std::strchr("hlLqjzt", s[j])) ++j;
      if (j < s.size() && std::strchr("diouxXeEfFgGaAcspn", s[j])) {
        found.push_back("%" + std::string(s.substr(spec, j + 1 - spec)));
        i = j + 1;
        continue;
      }
    } else if (s[i] == '{') {
      size_t e = s.find('}', i);
      if (e != std::string_view::npos && e - i <= 32 &&
          std::all_of(s.begin() + i + 1, s.begin() + e, [](char c) { return is_alnum_ascii(c) || c == '_'; })) {
        found.emplace_back(s.substr(i, e + 1 - i));
        i = e + 1;
        continue;
      }
    }
    rest += s[i++];
  }
  std::sort(found.begin(), found.end());
  if (without) *without = std::move(rest);
  return found;
}

bool has_markup(std::string_view s) {
  for (size_t i = s.find('<'); i != std::string_view::npos; i = s.find('<', i + 1))
    if (i + 1 < s.size() && (std::isalpha(static_cast<unsigned char>(s[i + 1])) || s[i + 1] == '/') &&
        s.find('>', i) != std::string_view::npos)
      return true;
  return false;
}

size_t letter_words(std::string_view s) {
  size_t n = 0;
  for (const auto& w : data::split_words(s)) n += w.has_letter;
  return n;
}

struct Template {
  const char* id;
  const char* text;  // {} = the source text
};
// Per direction: instructions in the answer's language and in the other one.
constexpr std::array<Template, 6> kToEnglish = {{
    {"ko2en.ko.0", "다음 문장을 영어로 번역하세요:\n\n{}"},
    {"ko2en.ko.1", "다음 한국어 텍스트를 영어로 옮겨 주세요.\n\n{}"},
    {"ko2en.ko.2", "영어로 번역해 주세요: {}"},
    {"ko2en.en.0", "Translate the following Korean text into English:\n\n{}"},
    {"ko2en.en.1", "What is the English for this Korean text?\n\n{}"},
    {"ko2en.en.2", "Korean: {}\nEnglish:"},
}};
constexpr std::array<Template, 6> kToKorean = {{
    {"en2ko.ko.0", "다음 문장을 한국어로 번역하세요:\n\n{}"},
    {"en2ko.ko.1", "다음 영어 텍스트를 자연스러운 한국어로 옮겨 주세요.\n\n{}"},
    {"en2ko.ko.2", "한국어로 번역해 주세요: {}"},
    {"en2ko.en.0", "Translate the following English text into Korean:\n\n{}"},
    {"en2ko.en.1", "How would you say this in Korean?\n\n{}"},
    {"en2ko.en.2", "English: {}\nKorean:"},
}};

// A catalog side's entries: meta.pairs entries, each meta.entry_lines[i] lines
// (1 when the document has no entry_lines), each line ending in '\n'.
bool catalog_entries(const data::Document& d, std::vector<std::string_view>& out) {
  // Counts as JSON integers: signed or unsigned (nlohmann keeps what it was given), never below `least`.
  auto count = [](const nlohmann::json& v, int64_t least) {
    return v.is_number_integer() && v.get<int64_t>() >= least ? v.get<int64_t>() : int64_t{-1};
  };
  auto pairs = d.meta.find("pairs");
  if (pairs == d.meta.end() || count(*pairs, 0) < 0) return false;
  size_t n = static_cast<size_t>(pairs->get<int64_t>());
  auto lines = d.meta.find("entry_lines");
  if (lines != d.meta.end() && (!lines->is_array() || lines->size() != n)) return false;
  std::string_view t = d.text;
  size_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t k = 1;
    if (lines != d.meta.end()) {
      int64_t v = count((*lines)[i], 1);
      if (v < 0) return false;
      k = static_cast<size_t>(v);
    }
    size_t end = pos;
    for (size_t j = 0; j < k; ++j, ++end)
      if ((end = t.find('\n', end)) == std::string_view::npos) return false;
    out.push_back(t.substr(pos, end - 1 - pos));
    pos = end;
  }
  return pos == t.size();
}

}  // namespace

bool PairCollector::add(const data::Document& doc) {
  if ((doc.lang != "en" && doc.lang != "ko") || !doc.meta.is_object()) return false;
  auto pair = doc.meta.find("pair");
  if (pair == doc.meta.end() || !pair->is_string()) return false;
  bool paragraphs = doc.meta.contains("paragraph_ids"), catalog = doc.meta.contains("catalog_side");
  if (!paragraphs && !catalog) return false;
  by_pair_[pair->get<std::string>()].push_back(docs_.size());
  docs_.push_back(doc);
  return true;
}

std::vector<TextPair> PairCollector::pairs(data::Counts& counts) const {
  std::vector<TextPair> out;
  for (const auto& [key, idx] : by_pair_) {
    const data::Document *en = nullptr, *ko = nullptr;
    for (size_t i : idx) (docs_[i].lang == "en" ? en : ko) = &docs_[i];
    if (!en || !ko) {
      ++counts["translate.group.one_language"];
      continue;
    }
    std::string path = meta_string(ko->meta, "path");
    auto emit = [&](std::string_view e, std::string_view k, std::string item) {
      out.push_back({std::string(e), std::string(k), ko->id, path, std::move(item)});
    };
    const auto& en_ids = en->meta.find("paragraph_ids");
    const auto& ko_ids = ko->meta.find("paragraph_ids");
    if (en_ids != en->meta.end() && ko_ids != ko->meta.end() && en_ids->is_array() && ko_ids->is_array()) {
      // Paragraphs never contain a blank line (the ingest joins them with one).
      auto split = [](const std::string& text) {
        std::vector<std::string_view> parts;
        std::string_view t = text;
        for (size_t p; (p = t.find("\n\n")) != std::string_view::npos; t.remove_prefix(p + 2))
          parts.push_back(t.substr(0, p));
        parts.push_back(t);
        return parts;
      };
      auto en_parts = split(en->text), ko_parts = split(ko->text);
      if (en_parts.size() != en_ids->size() || ko_parts.size() != ko_ids->size()) {
        ++counts["translate.group.misaligned"];
        continue;
      }
      std::map<std::string, std::string_view> en_by_id;
      for (size_t i = 0; i < en_parts.size(); ++i)
        if ((*en_ids)[i].is_string()) en_by_id.emplace((*en_ids)[i].get<std::string>(), en_parts[i]);
      for (size_t i = 0; i < ko_parts.size(); ++i) {
        if (!(*ko_ids)[i].is_string()) continue;
        std::string id = (*ko_ids)[i].get<std::string>();
        auto it = en_by_id.find(id);
        if (it == en_by_id.end()) {
          ++counts["translate.paragraph_without_english"];
          continue;
        }
        emit(it->second, ko_parts[i], id);
      }
    } else {
      std::vector<std::string_view> en_entries, ko_entries;
      if (!catalog_entries(*en, en_entries) || !catalog_entries(*ko, ko_entries) ||
          en_entries.size() != ko_entries.size()) {
        ++counts["translate.group.misaligned"];
        continue;
      }
      for (size_t i = 0; i < en_entries.size(); ++i)
        emit(en_entries[i], ko_entries[i], fmt::format("entry {}", i + 1));
    }
  }
  return out;
}

std::string strip_accelerators(std::string_view in) {
  std::string s;
  // Korean labels keep the English key in parentheses: "파일(_F)", "열기 (&O)".
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '(' && i + 3 < in.size() && std::strchr("_~&", in[i + 1]) && is_alnum_ascii(in[i + 2]) &&
        in[i + 3] == ')') {
      while (!s.empty() && s.back() == ' ') s.pop_back();
      i += 3;
      continue;
    }
    s += in[i];
  }
  // One marker before a letter is an accelerator ("_File", "E_xit", "Save ~As");
  // several are not ("snake_case_name", "~/.config").
  for (char mark : {'_', '~'}) {
    size_t n = std::count(s.begin(), s.end(), mark), p = s.find(mark);
    if (n != 1 || p + 1 >= s.size()) continue;
    unsigned char next = static_cast<unsigned char>(s[p + 1]);
    if (std::isalnum(next) || next >= 0x80) s.erase(p, 1);
  }
  return s;
}

std::string clean_pair(TextPair& p) {
  if (has_markup(p.en) || has_markup(p.ko)) return "translate.markup";
  p.en = std::string(data::trim(strip_accelerators(p.en)));
  p.ko = std::string(data::trim(strip_accelerators(p.ko)));
  if (p.en == p.ko) return "translate.identical";
  std::string en_rest, ko_rest;
  auto en_ph = placeholders(p.en, &en_rest), ko_ph = placeholders(p.ko, &ko_rest);
  if (text::count_scripts(en_rest).letters() < 2 || text::count_scripts(ko_rest).letters() < 1)
    return "translate.placeholder_only";
  if (en_ph != ko_ph) return "translate.placeholder_mismatch";
  if (text::count_scripts(p.en).hangul > 0) return "translate.en_not_english";
  // An untranslated string left in the Korean side (the English fallback).
  if (text::count_scripts(p.ko).hangul == 0 || data::identify_language(ko_rest).lang != "ko")
    return "translate.ko_not_korean";
  if (letter_words(en_rest) < 2) return "translate.too_short";
  return "";
}

std::vector<Conversation> translate_conversations(const std::vector<TextPair>& pairs, uint64_t seed) {
  std::vector<Conversation> out;
  out.reserve(2 * pairs.size());
  for (const auto& p : pairs) {
    for (bool to_english : {true, false}) {
      const auto& templates = to_english ? kToEnglish : kToKorean;
      const std::string& src = to_english ? p.ko : p.en;
      const std::string& dst = to_english ? p.en : p.ko;
      Rng r(xxh3_64(fmt::format("translate/{}/{}", to_english ? "ko2en" : "en2ko", src), seed));
      const Template& t = templates[r.below(templates.size())];
      Conversation c = question_answer(fmt::format(fmt::runtime(t.text), src), dst);
      c.lang = to_english ? "en" : "ko";
      c.source = "translate";
      c.meta = {{"program", "translate"}, {"template", t.id},   {"seed_id", p.seed_id},
                {"path", p.path},         {"item", p.item}};
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace kormo::synth
