#include "kormo/data/filters.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "kormo/data/words.h"
#include "kormo/text/utf8.h"
#include "kormo/util/config.h"
#include "kormo/util/hash.h"

namespace kormo::data {

namespace {

size_t chars_of(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool starts_with_any(std::string_view s, std::initializer_list<std::string_view> p) {
  for (auto x : p)
    if (s.substr(0, x.size()) == x) return true;
  return false;
}
bool ends_with_any(std::string_view s, std::initializer_list<std::string_view> p) {
  for (auto x : p)
    if (s.size() >= x.size() && s.substr(s.size() - x.size()) == x) return true;
  return false;
}

// Terminal punctuation for the FineWeb line rule and C4 sentence ends.
bool ends_with_terminal(std::string_view line) {
  return ends_with_any(line, {".", "!", "?", "\"", "'", "\xE2\x80\xA6" /*…*/, "\xE3\x80\x82" /*。*/,
                              "\xEF\xBC\x81" /*！*/, "\xEF\xBC\x9F" /*？*/, "\xE2\x80\x9D" /*”*/,
                              "\xE2\x80\x99" /*’*/, "\xE3\x80\x8D" /*」*/, "\xE3\x80\x8F" /*』*/});
}

// Elements seen before (exact match): counts and their characters.
std::pair<size_t, size_t> find_duplicates(const std::vector<std::string_view>& xs) {
  std::unordered_set<std::string_view> seen;
  seen.reserve(xs.size() * 2);
  size_t dup = 0, dup_chars = 0;
  for (auto x : xs)
    if (!seen.insert(x).second) ++dup, dup_chars += chars_of(x);
  return {dup, dup_chars};
}

std::vector<std::string_view> split_paragraphs(std::string_view text) {
  std::vector<std::string_view> out;
  size_t b = 0;
  while (b < text.size()) {
    size_t e = text.find("\n\n", b);
    if (e == std::string_view::npos) e = text.size();
    if (e > b) out.push_back(text.substr(b, e - b));
    b = e;
    while (b < text.size() && text[b] == '\n') ++b;
  }
  return out;
}

std::vector<std::string_view> nonempty_lines(std::string_view text) {
  std::vector<std::string_view> out;
  for (auto l : split_lines(text))
    if (!trim(l).empty()) out.push_back(l);
  return out;
}

}  // namespace

Thresholds default_thresholds(const std::string& lang) {
  Thresholds t;
  if (lang == "ko") {
    t.min_avg_word_length = 1;
    t.max_avg_word_length = 6;
    t.max_non_alpha_words_ratio = 0.791;
    t.dup_line_frac = 0.374;
    t.line_punct_thr = 0.062;
    t.new_line_ratio = 0.196;
    t.lang_score = 0.842;
    t.stop_words = {"의", "다", "이", "는", "에", "을", "한", "년", "하", "은", "를",
                    "했", "고", "에서", "가", "있", "으로", "인", "월", "로", "되"};
    t.stop_word_suffix = true;
  } else if (lang != "en") {
    t.min_stop_words = 0;
    t.stop_words.clear();
  }
  return t;
}

void read_thresholds(ConfigSection& s, Thresholds& t) {
  for_each_threshold([&](const char* key, auto field) {
    auto& v = t.*field;
    using V = std::remove_cvref_t<decltype(v)>;
    if constexpr (std::is_same_v<V, int64_t>) v = s.get_int(key, v);
    else if constexpr (std::is_same_v<V, double>) v = s.get_double(key, v);
    else if constexpr (std::is_same_v<V, bool>) v = s.get_bool(key, v);
    else v = s.get_strings(key, v);
  });
}

namespace {
std::string toml_value(int64_t v) { return std::to_string(v); }
std::string toml_value(bool v) { return v ? "true" : "false"; }
std::string toml_value(double v) {
  std::string s = fmt::format("{}", v);
  // TOML reads "3" as an integer; keep floats recognisable.
  return s.find_first_of(".e") == std::string::npos ? s + ".0" : s;
}
std::string toml_value(const std::vector<std::string>& v) {
  std::string s = "[";
  // JSON string escapes are valid in TOML basic strings.
  for (const auto& x : v) s += (s.size() > 1 ? ", " : "") + nlohmann::json(x).dump();
  return s + "]";
}
std::string toml_value(const std::vector<std::pair<int, double>>& v) {
  std::string s = "[";
  for (const auto& [n, frac] : v) s += fmt::format("{}[{}, {}]", s.size() > 1 ? ", " : "", n, toml_value(frac));
  return s + "]";
}

// `key = value` lines for the thresholds of t that differ from *base (all when null).
std::string thresholds_toml(const Thresholds& t, const Thresholds* base) {
  std::string out;
  for_each_threshold([&](const char* key, auto field) {
    if (!base || t.*field != base->*field) out += fmt::format("{} = {}\n", key, toml_value(t.*field));
  });
  return out;
}
}  // namespace

std::string default_thresholds_toml() {
  const Thresholds en = default_thresholds("en");
  return "[filter.en]        # datatrove's / FineWeb's English settings\n" + thresholds_toml(en, nullptr) +
         "# fixed for every language (datatrove's), not configurable:\n" +
         "#   top_n_grams = " + toml_value(en.top_n_grams) + "\n#   dup_n_grams = " + toml_value(en.dup_n_grams) +
         "\n\n[filter.ko]        # FineWeb-2's Korean settings: what differs from en\n" +
         thresholds_toml(default_thresholds("ko"), &en) +
         "\n[filter.default]   # any other language: what differs from en\n" +
         thresholds_toml(default_thresholds("default"), &en);
}

RuleResult gopher_quality(const std::string& text, const Thresholds& t) {
  std::vector<Word> words = split_words(text);
  size_t n_words = 0, word_chars = 0, alpha_words = 0;
  for (const Word& w : words) {
    if (!w.punct) ++n_words, word_chars += w.chars;
    if (w.has_letter) ++alpha_words;
  }
  if (static_cast<int64_t>(n_words) < t.min_words) return {"gopher_quality.min_words", double(n_words)};
  if (static_cast<int64_t>(n_words) > t.max_words) return {"gopher_quality.max_words", double(n_words)};
  double avg = n_words ? double(word_chars) / n_words : 0;
  if (avg < t.min_avg_word_length) return {"gopher_quality.min_avg_word_length", avg};
  if (avg > t.max_avg_word_length) return {"gopher_quality.max_avg_word_length", avg};
  // Symbols: '#' and ellipses ("..." or "…") per word.
  size_t hashes = std::count(text.begin(), text.end(), '#'), ellipses = 0;
  for (size_t p = text.find("..."); p != std::string::npos; p = text.find("...", p + 3)) ++ellipses;
  for (size_t p = text.find("\xE2\x80\xA6"); p != std::string::npos; p = text.find("\xE2\x80\xA6", p + 3)) ++ellipses;
  double sym = n_words ? double(hashes + ellipses) / n_words : 0;
  if (sym > t.max_symbol_word_ratio) return {"gopher_quality.symbol_word_ratio", sym};
  std::vector<std::string_view> lines = split_lines(text);
  size_t bullets = 0, ellipsis_lines = 0;
  for (auto l : lines) {
    std::string_view s = trim(l);
    if (starts_with_any(s, {"\xE2\x80\xA2" /*•*/, "\xE2\x80\xA3", "\xE2\x97\xA6", "\xE2\x81\x83", "-", "*"}))
      ++bullets;
    if (ends_with_any(s, {"...", "\xE2\x80\xA6"})) ++ellipsis_lines;
  }
  double bl = double(bullets) / lines.size();
  if (bl > t.max_bullet_lines_ratio) return {"gopher_quality.bullet_lines_ratio", bl};
  double el = double(ellipsis_lines) / lines.size();
  if (el > t.max_ellipsis_lines_ratio) return {"gopher_quality.ellipsis_lines_ratio", el};
  double alpha = words.empty() ? 0 : double(alpha_words) / words.size();
  if (alpha < t.max_non_alpha_words_ratio) return {"gopher_quality.non_alpha_words_ratio", alpha};
  if (t.min_stop_words > 0) {
    std::unordered_set<std::string> stop(t.stop_words.begin(), t.stop_words.end());
    int64_t hits = 0;
    for (const Word& w : words) {
      if (w.punct) continue;
      std::string lw = ascii_lower(w.text);
      bool hit = stop.count(lw) > 0;
      if (!hit && t.stop_word_suffix && w.chars >= 2)
        for (const auto& sw : t.stop_words)
          if (lw.size() > sw.size() && lw.compare(lw.size() - sw.size(), sw.size(), sw) == 0) {
            hit = true;
            break;
          }
      if (hit && ++hits >= t.min_stop_words) break;
    }
    if (hits < t.min_stop_words) return {"gopher_quality.stop_words", double(hits)};
  }
  return {};
}

RuleResult gopher_repetition(const std::string& text, const Thresholds& t) {
  double total_chars = double(chars_of(text));
  if (total_chars == 0) return {};
  std::vector<std::string_view> paras = split_paragraphs(text);
  if (!paras.empty()) {
    auto [dup, dup_chars] = find_duplicates(paras);
    if (double(dup) / paras.size() > t.dup_para_frac) return {"gopher_repetition.dup_para_frac", double(dup) / paras.size()};
    if (dup_chars / total_chars > t.dup_para_char_frac) return {"gopher_repetition.dup_para_char_frac", dup_chars / total_chars};
  }
  std::vector<std::string_view> lines;
  for (auto l : split_lines(text))
    if (!l.empty()) lines.push_back(l);
  if (!lines.empty()) {
    auto [dup, dup_chars] = find_duplicates(lines);
    if (double(dup) / lines.size() > t.dup_line_frac) return {"gopher_repetition.dup_line_frac", double(dup) / lines.size()};
    if (dup_chars / total_chars > t.dup_line_char_frac) return {"gopher_repetition.dup_line_char_frac", dup_chars / total_chars};
  }
  // n-grams over non-punctuation words, identified by hashes of their words.
  std::vector<uint64_t> wh;
  std::vector<size_t> wc;
  for (const Word& w : split_words(text))
    if (!w.punct) wh.push_back(xxh3_64(w.text)), wc.push_back(w.chars);
  auto gram_hash = [&](size_t i, int n) {
    uint64_t h = 0x9e3779b97f4a7c15ull * n;
    for (int k = 0; k < n; ++k) h = (h ^ wh[i + k]) * 0x100000001b3ull + (h >> 29);
    return h;
  };
  auto gram_chars = [&](size_t i, int n) {
    size_t c = n - 1;  // the joining spaces
    for (int k = 0; k < n; ++k) c += wc[i + k];
    return c;
  };
  for (auto [n, frac] : t.top_n_grams) {
    if (wh.size() < size_t(n)) continue;
    std::unordered_map<uint64_t, std::pair<size_t, size_t>> counts;  // hash -> (count, first index)
    counts.reserve(wh.size());
    for (size_t i = 0; i + n <= wh.size(); ++i) {
      auto& e = counts.try_emplace(gram_hash(i, n), 0, i).first->second;
      ++e.first;
    }
    // Top n-gram: the most frequent one's characters times its count.
    size_t top_count = 0, top_chars = 0;
    for (auto& [h, e] : counts)
      if (e.first > top_count || (e.first == top_count && gram_chars(e.second, n) > top_chars))
        top_count = e.first, top_chars = gram_chars(e.second, n);
    double f = double(top_count * top_chars) / total_chars;
    if (top_count > 1 && f > frac) return {fmt::format("gopher_repetition.top_{}_gram", n), f};
  }
  for (auto [n, frac] : t.dup_n_grams) {
    if (wh.size() < size_t(n)) continue;
    std::unordered_set<uint64_t> seen;
    seen.reserve(wh.size());
    size_t dup_chars = 0;
    for (size_t i = 0; i + n <= wh.size();) {
      if (!seen.insert(gram_hash(i, n)).second) {
        dup_chars += gram_chars(i, n);
        i += n;
      } else {
        ++i;
      }
    }
    double f = dup_chars / total_chars;
    if (f > frac) return {fmt::format("gopher_repetition.dup_{}_gram", n), f};
  }
  return {};
}

RuleResult c4_quality(std::string& text, const Thresholds& t, size_t& lines_removed) {
  static const std::string_view kPolicy[] = {"terms of use", "privacy policy", "cookie policy", "uses cookies",
                                             "use of cookies", "use cookies"};
  lines_removed = 0;
  std::string kept;
  size_t sentences = 0;
  for (std::string_view raw : split_lines(text)) {
    std::string_view line = trim(raw);
    if (line.empty()) continue;
    std::vector<Word> words = split_words(line);
    size_t n_words = 0;
    bool too_long = false;
    for (const Word& w : words)
      if (!w.punct) ++n_words, too_long = too_long || int64_t(w.chars) > t.c4_max_word_length;
    std::string lower = ascii_lower(line);
    if (lower.find("lorem ipsum") != std::string::npos) return {"c4.lorem_ipsum", 1};
    if (line.find('{') != std::string_view::npos) return {"c4.curly_bracket", 1};
    bool drop = too_long || int64_t(n_words) < t.c4_min_words_per_line ||
                lower.find("javascript") != std::string::npos ||
                (t.c4_terminal_punct && (!ends_with_terminal(line) || ends_with_any(line, {"...", "\xE2\x80\xA6"})));
    for (auto p : kPolicy) drop = drop || lower.find(p) != std::string::npos;
    if (drop) {
      ++lines_removed;
      continue;
    }
    // Sentences: terminal marks followed by space or line end; at least one per line.
    size_t s = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if ((c == '.' || c == '!' || c == '?') && (i + 1 == line.size() || line[i + 1] == ' ')) ++s;
    }
    sentences += std::max<size_t>(s, 1);
    if (!kept.empty()) kept += '\n';
    kept.append(line);
  }
  if (int64_t(sentences) < t.c4_min_sentences) return {"c4.too_few_sentences", double(sentences)};
  if (lines_removed > 0) text = std::move(kept);
  return {};
}

RuleResult fineweb_quality(const std::string& text, const Thresholds& t) {
  std::vector<std::string_view> lines = nonempty_lines(text);
  if (lines.empty()) return {"fineweb.empty", 0};
  size_t punct = 0, short_lines = 0;
  for (auto l : lines) {
    if (ends_with_terminal(l)) ++punct;
    if (int64_t(chars_of(l)) <= t.short_line_length) ++short_lines;
  }
  double r = double(punct) / lines.size();
  if (r < t.line_punct_thr) return {"fineweb.line_punct_ratio", r};
  r = double(short_lines) / lines.size();
  if (r > t.short_line_thr) return {"fineweb.short_line_ratio", r};
  size_t non_newline = 0;
  for (unsigned char c : text) non_newline += (c != '\n') && (c & 0xC0) != 0x80;
  r = non_newline ? double(find_duplicates(lines).second) / non_newline : 0;
  if (r > t.char_duplicates_ratio) return {"fineweb.char_dup_ratio", r};
  size_t n_words = 0;
  for (const Word& w : split_words(text)) n_words += !w.punct;
  r = n_words ? double(std::count(text.begin(), text.end(), '\n')) / n_words : 0;
  if (r > t.new_line_ratio) return {"fineweb.list_ratio", r};
  return {};
}

}  // namespace kormo::data
