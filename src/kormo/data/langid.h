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
//
// The alternative is a user's fastText language-ID model (lid.176.bin-style,
// labels __label__ko, __label__en, ...): the language is the model's best label
// as the model spells it, the score its probability, exactly as
// `fasttext predict-prob` gives them on the same text (classifier.h).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kormo::data {

class FastTextModel;  // classifier.h

struct LangScore {
  std::string lang;  // "ko", "en" or "other"; with a model, its label ("fr", "xx", ...)
  double score = 0;  // in [0, 1] (a model's certain label: 1.00001, as fastText prints it)
  double ko = 0, en = 0, other = 0;
};

LangScore identify_language(std::string_view text);
LangScore identify_language(const FastTextModel& model, std::string_view text);

// Loads a language-ID model; throws naming the file when it is missing, not a
// supervised fastText model, or lacks a label of `keep` (a language it can
// never output would silently remove everything in it).
std::shared_ptr<const FastTextModel> load_language_model(const std::string& path, const std::vector<std::string>& keep);

}  // namespace kormo::data
