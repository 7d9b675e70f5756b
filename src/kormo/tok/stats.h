// How well a tokenizer fits some held-out text, and what its vocabulary holds.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kormo/tok/tokenizer.h"
#include "kormo/tok/trainer.h"

namespace kormo::tok {

struct LanguageFit {
  std::string lang;  // from the document's lang field, else guessed by script
  uint64_t documents = 0, bytes = 0, chars = 0, tokens = 0;
  double bytes_per_token() const { return tokens ? double(bytes) / double(tokens) : 0; }
  double chars_per_token() const { return tokens ? double(chars) / double(tokens) : 0; }
};

// Vocabulary composition: each non-special token falls in exactly one class.
struct VocabComposition {
  uint64_t hangul = 0;   // holds Hangul (possibly with other characters)
  uint64_t han = 0;      // holds Hanja/CJK ideographs but no Hangul
  uint64_t latin = 0;    // Latin letters only (with an optional leading space)
  uint64_t digit = 0;    // digits
  uint64_t space = 0;    // white space only
  uint64_t other = 0;    // punctuation, symbols, other scripts, mixtures
  uint64_t partial = 0;  // not valid UTF-8 alone (a byte or part of a character: byte fallback)
  uint64_t total() const { return hangul + han + latin + digit + space + other + partial; }
};

struct TokenizerStats {
  std::vector<LanguageFit> languages;  // sorted by name; "all" last
  VocabComposition vocab;
  std::vector<int32_t> longest;        // longest tokens by bytes
  uint64_t unused_count = 0;           // non-special tokens never produced on the text
  std::vector<int32_t> unused_examples;
};

struct StatsOptions {
  InputFormat format = InputFormat::kAuto;
  std::string text_field = "text", lang_field = "lang";
  size_t top = 20;
  uint64_t max_input_bytes = 0;
};

TokenizerStats compute_stats(const Tokenizer& tok, const std::vector<std::string>& files, const StatsOptions& opt);
std::string stats_to_json(const Tokenizer& tok, const TokenizerStats& s);
std::string stats_to_text(const Tokenizer& tok, const TokenizerStats& s);

}  // namespace kormo::tok
