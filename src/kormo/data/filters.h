// Quality and repetition filters (Gopher, C4, FineWeb) with per-language
// thresholds.
//
// Each rule group is one function that returns the name of the first rule a
// document fails ("gopher_quality.min_words"), or "" when it passes, and fills
// `value` with the measured statistic so rejects say by how much. Formulas follow
// datatrove's GopherQualityFilter, GopherRepetitionFilter, C4QualityFilter and
// FineWebQualityFilter (docs/data.md lists each rule with its formula); words
// come from split_words() (Korean eojeol + punctuation split), lengths are in
// code points.
//
// The default thresholds are written once, in default_thresholds(); docs/data.md
// quotes default_thresholds_toml() and tests/data/filters_test.cpp keeps the two
// equal. "en" = datatrove's/FineWeb's English settings; "ko" = FineWeb-2's
// Korean settings, with stop words matched as eojeol suffixes since particles are
// not split off; any other language = "en" without the stop-word rule.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace kormo {
class ConfigSection;
}

namespace kormo::data {

struct Thresholds {
  // Gopher quality.
  int64_t min_words = 50, max_words = 100000;
  double min_avg_word_length = 3, max_avg_word_length = 10;
  double max_symbol_word_ratio = 0.1;
  double max_bullet_lines_ratio = 0.9, max_ellipsis_lines_ratio = 0.3;
  double max_non_alpha_words_ratio = 0.8;  // fails when (words with a letter)/(all words) < this
  int64_t min_stop_words = 2;
  std::vector<std::string> stop_words = {"the", "be", "to", "of", "and", "that", "have", "with"};
  bool stop_word_suffix = false;  // Korean: an eojeol ending in a stop word counts
  // Gopher repetition.
  double dup_line_frac = 0.3, dup_para_frac = 0.3, dup_line_char_frac = 0.2, dup_para_char_frac = 0.2;
  std::vector<std::pair<int, double>> top_n_grams = {{2, 0.2}, {3, 0.18}, {4, 0.16}};
  std::vector<std::pair<int, double>> dup_n_grams = {{5, 0.15}, {6, 0.14}, {7, 0.13}, {8, 0.12}, {9, 0.11}, {10, 0.10}};
  // C4.
  int64_t c4_min_words_per_line = 3, c4_min_sentences = 5, c4_max_word_length = 1000;
  bool c4_terminal_punct = false;  // FineWeb runs C4 without the terminal-punctuation line rule
  // FineWeb.
  double line_punct_thr = 0.12, short_line_thr = 0.67, char_duplicates_ratio = 0.01, new_line_ratio = 0.3;
  int64_t short_line_length = 30;
  // Language score (langid stage).
  double lang_score = 0.65;
};

Thresholds default_thresholds(const std::string& lang);

// Calls visit(key, &Thresholds::field) for every configurable threshold, in the
// order above: the one list of config keys, walked by read_thresholds(), the
// job fingerprint and default_thresholds_toml(). The n-gram tables are fixed
// (datatrove's).
template <class Visit>
void for_each_threshold(Visit&& visit) {
  visit("min_words", &Thresholds::min_words);
  visit("max_words", &Thresholds::max_words);
  visit("min_avg_word_length", &Thresholds::min_avg_word_length);
  visit("max_avg_word_length", &Thresholds::max_avg_word_length);
  visit("max_symbol_word_ratio", &Thresholds::max_symbol_word_ratio);
  visit("max_bullet_lines_ratio", &Thresholds::max_bullet_lines_ratio);
  visit("max_ellipsis_lines_ratio", &Thresholds::max_ellipsis_lines_ratio);
  visit("max_non_alpha_words_ratio", &Thresholds::max_non_alpha_words_ratio);
  visit("min_stop_words", &Thresholds::min_stop_words);
  visit("stop_words", &Thresholds::stop_words);
  visit("stop_word_suffix", &Thresholds::stop_word_suffix);
  visit("dup_line_frac", &Thresholds::dup_line_frac);
  visit("dup_para_frac", &Thresholds::dup_para_frac);
  visit("dup_line_char_frac", &Thresholds::dup_line_char_frac);
  visit("dup_para_char_frac", &Thresholds::dup_para_char_frac);
  visit("c4_min_words_per_line", &Thresholds::c4_min_words_per_line);
  visit("c4_min_sentences", &Thresholds::c4_min_sentences);
  visit("c4_max_word_length", &Thresholds::c4_max_word_length);
  visit("c4_terminal_punct", &Thresholds::c4_terminal_punct);
  visit("line_punct_thr", &Thresholds::line_punct_thr);
  visit("short_line_thr", &Thresholds::short_line_thr);
  visit("char_duplicates_ratio", &Thresholds::char_duplicates_ratio);
  visit("new_line_ratio", &Thresholds::new_line_ratio);
  visit("short_line_length", &Thresholds::short_line_length);
  visit("lang_score", &Thresholds::lang_score);
}

// Reads overrides from a config section (keys as in for_each_threshold).
void read_thresholds(ConfigSection& sec, Thresholds& t);

// The built-in thresholds as a TOML config: every key of [filter.en] (and, as a
// comment, the fixed n-gram tables), then only the keys [filter.ko] and
// [filter.default] (any other language) change.
std::string default_thresholds_toml();

struct RuleResult {
  std::string rule;  // "" = passed
  double value = 0;
};

RuleResult gopher_quality(const std::string& text, const Thresholds& t);
RuleResult gopher_repetition(const std::string& text, const Thresholds& t);
// Drops lines (javascript, policy, too few words, ...); may reject the whole
// document. Sets lines_removed; text is rewritten only when lines were removed.
RuleResult c4_quality(std::string& text, const Thresholds& t, size_t& lines_removed);
RuleResult fineweb_quality(const std::string& text, const Thresholds& t);

}  // namespace kormo::data
