// Language identification: Korean / English / other, with a confidence score.
//
// Rule-based on purpose (docs/data.md, "Language identification"): the product
// cannot ship a corpus, and Korean vs English is decided by script far more
// reliably than by n-gram statistics, which mislabel code-mixed text. What the
// script cannot tell (English vs other Latin-script languages, Chinese vs
// Korean Hanja, Japanese kanji) is settled with small embedded function-word
// lists and kana/Hangul context.
//
// The score is the share of letter-bearing words that belong to the winning
// language, with Latin words inside Hangul-majority text counted at half weight
// (loanwords and code-mixing are normal in Korean prose), so a threshold like
// FineWeb-2's 0.842 keeps Korean text with some English in it.
#pragma once

#include <string>
#include <string_view>

namespace kormo::data {

struct LangScore {
  std::string lang;  // "ko", "en" or "other"
  double score = 0;  // in [0, 1]
  double ko = 0, en = 0, other = 0;
};

LangScore identify_language(std::string_view text);

}  // namespace kormo::data
