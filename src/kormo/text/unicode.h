// Unicode properties and normalisation (backed by utf8proc).
//
// Promises: normalize() is the Unicode NFC/NFKC of utf8proc's Unicode version;
// general_class() follows the Unicode general category (what regex \p{L},
// \p{N} mean); script_of() groups the code points that matter for a
// Korean–English corpus.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kormo::text {

enum class NormForm { kNFC, kNFKC };

// Input must be valid UTF-8 (throws kormo::Error otherwise).
std::string normalize(std::string_view s, NormForm form);

// True when s is certainly NFC already: every code point is a starter that maps
// to itself and never composes with a neighbour (ASCII, Hangul syllables, most
// CJK and punctuation). False means "ask normalize()". One table lookup per code
// point, so normalising mostly-NFC corpora costs a scan instead of utf8proc.
bool is_nfc_quick(std::string_view s);

// Coarse general category: the classes a pre-tokenizer or word splitter needs.
enum class CharClass : uint8_t { kLetter, kNumber, kMark, kPunct, kSymbol, kSpace, kControl, kOther };
CharClass general_class(char32_t cp);

inline bool is_letter(char32_t cp) { return general_class(cp) == CharClass::kLetter; }
inline bool is_number(char32_t cp) { return general_class(cp) == CharClass::kNumber; }
// White_Space as regex engines use for \s (Oniguruma/PCRE Unicode mode).
bool is_white_space(char32_t cp);

enum class Script : uint8_t { kHangul, kHan, kLatin, kDigit, kKana, kOther };
Script script_of(char32_t cp);
// Hangul syllables, jamo and compatibility jamo.
inline bool is_hangul(char32_t cp) {
  return (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0x3130 && cp <= 0x318F) ||
         (cp >= 0xA960 && cp <= 0xA97F) || (cp >= 0xD7B0 && cp <= 0xD7FF);
}

// Counts of letters by script in a string (invalid bytes are skipped).
struct ScriptCounts {
  size_t hangul = 0, han = 0, latin = 0, kana = 0, other_letters = 0, digits = 0;
  size_t letters() const { return hangul + han + latin + kana + other_letters; }
};
ScriptCounts count_scripts(std::string_view s);

// "ko" when Hangul dominates the letters, "en" when Latin does, else "other".
// A script-based guess for places that need no model (tokenizer mixing); the
// data stage's language identifier is the measured one.
std::string guess_language_by_script(std::string_view s);

}  // namespace kormo::text
