// Word splitting shared by filters, langid, dedup and decontamination.
//
// Korean-aware and dictionary-free: a word is a maximal run of non-space,
// non-punctuation code points (for Korean this is the eojeol, a content word
// with its particles attached: "한국어는"), and every run of punctuation is a
// word of its own (as the Gopher/FineWeb tokenizers split "end..." into
// "end" "..."). Hanja, kana and Hangul jamo are letters; emoji and other symbols
// stay inside the run they touch. No morpheme analysis: docs/data.md explains
// how the Korean stop-word rule compensates (particle suffixes).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kormo::data {

struct Word {
  std::string_view text;
  bool punct = false;     // a run of punctuation code points
  bool has_letter = false;
  size_t chars = 0;       // code points
};

// Invalid UTF-8 bytes count as one "other" code point each.
std::vector<Word> split_words(std::string_view text);

// Lines without their '\n' (a trailing '\r' is dropped too).
std::vector<std::string_view> split_lines(std::string_view text);

// Lower-cases ASCII letters (Hangul has no case; other scripts are left as is).
std::string ascii_lower(std::string_view s);

inline std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return s.substr(b, e - b);
}

}  // namespace kormo::data
