#include "kormo/tok/pretokenizer.h"

#include <cstdint>

#include "kormo/text/unicode.h"
#include "kormo/text/utf8.h"

namespace kormo::tok {
namespace {

// Character classes the regex distinguishes. kOther is "none of L, N, \s".
enum : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 4 };

// Letters and numbers new in Unicode 16.0. HF tokenizers' Oniguruma knows
// Unicode 16 while utf8proc 2.8 stops at 15.0; listing them keeps the split
// identical (checked code point by code point in test_tokenizer_pretokenizer.py).
struct Range {
  char32_t lo, hi;
  uint8_t cls;
};
constexpr Range kUnicode16[] = {
    {0x1C89, 0x1C8A, kLetter},   {0xA7CB, 0xA7CD, kLetter},   {0xA7DA, 0xA7DC, kLetter},   {0x105C0, 0x105F3, kLetter},
    {0x10D40, 0x10D49, kNumber}, {0x10D4A, 0x10D65, kLetter}, {0x10D6F, 0x10D85, kLetter}, {0x10EC2, 0x10EC4, kLetter},
    {0x11380, 0x11389, kLetter}, {0x1138B, 0x1138B, kLetter}, {0x1138E, 0x1138E, kLetter}, {0x11390, 0x113B5, kLetter},
    {0x113B7, 0x113B7, kLetter}, {0x113D1, 0x113D1, kLetter}, {0x113D3, 0x113D3, kLetter}, {0x116D0, 0x116E3, kNumber},
    {0x11BC0, 0x11BE0, kLetter}, {0x11BF0, 0x11BF9, kNumber}, {0x13460, 0x143FA, kLetter}, {0x16100, 0x1611D, kLetter},
    {0x16130, 0x16139, kNumber}, {0x16D40, 0x16D6C, kLetter}, {0x16D70, 0x16D79, kNumber}, {0x18CFF, 0x18CFF, kLetter},
    {0x1CCF0, 0x1CCF9, kNumber}, {0x1E5D0, 0x1E5ED, kLetter}, {0x1E5F0, 0x1E5F0, kLetter}, {0x1E5F1, 0x1E5FA, kNumber},
    {0x2EBF0, 0x2EE5D, kLetter},
};

uint8_t classify(char32_t cp) {
  for (const Range& r : kUnicode16)
    if (cp >= r.lo && cp <= r.hi) return r.cls;
  if (text::is_white_space(cp)) return kSpace;
  switch (text::general_class(cp)) {
    case text::CharClass::kLetter: return kLetter;
    case text::CharClass::kNumber: return kNumber;
    default: return kOther;
  }
}

struct ClassTable {
  uint8_t bmp[0x10000];
  ClassTable() {
    for (char32_t cp = 0; cp < 0x10000; ++cp) bmp[cp] = classify(cp);
  }
};
const ClassTable& class_table() {
  static const ClassTable table;
  return table;
}

struct Char {
  char32_t cp;
  uint8_t len;  // bytes; 0 at end of text
  uint8_t cls;
};

// Decodes the character at pos; invalid bytes read as one-byte kOther.
inline Char char_at(std::string_view s, size_t pos, const ClassTable& t) {
  if (pos >= s.size()) return {0, 0, kOther};
  unsigned char b = static_cast<unsigned char>(s[pos]);
  if (b < 0x80) return {b, 1, t.bmp[b]};
  size_t p = pos;
  char32_t cp;
  if (!text::decode_next(s, p, cp)) return {0xFFFD, 1, kOther};
  uint8_t cls = cp < 0x10000 ? t.bmp[cp] : classify(cp);
  return {cp, static_cast<uint8_t>(p - pos), cls};
}

inline bool is_newline(char32_t cp) { return cp == '\r' || cp == '\n'; }

// Case-insensitive match of one ASCII letter as Oniguruma's Unicode case
// folding sees it (U+017F LATIN SMALL LETTER LONG S folds to 's').
inline bool folds_to(char32_t cp, char lower) {
  if (cp < 0x80) return (cp | 0x20) == static_cast<char32_t>(lower);
  return lower == 's' && cp == 0x17F;
}

inline size_t letters_end(std::string_view s, size_t pos, const ClassTable& t) {
  while (true) {
    Char c = char_at(s, pos, t);
    if (c.len == 0 || c.cls != kLetter) return pos;
    pos += c.len;
  }
}

// Length of a contraction ('s 't 're 've 'm 'll 'd, any case) at pos, or 0.
size_t contraction_len(std::string_view s, size_t pos, const ClassTable& t) {
  Char c1 = char_at(s, pos + 1, t);
  if (c1.len == 0) return 0;
  if (folds_to(c1.cp, 's') || folds_to(c1.cp, 't') || folds_to(c1.cp, 'm') || folds_to(c1.cp, 'd'))
    return 1 + c1.len;
  char second = folds_to(c1.cp, 'r') || folds_to(c1.cp, 'v') ? 'e' : folds_to(c1.cp, 'l') ? 'l' : 0;
  if (!second) return 0;
  Char c2 = char_at(s, pos + 1 + c1.len, t);
  if (c2.len && folds_to(c2.cp, second)) return 1 + c1.len + c2.len;
  return 0;
}

}  // namespace

size_t next_piece(std::string_view s, size_t pos) {
  const ClassTable& t = class_table();
  Char c = char_at(s, pos, t);
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
  if (c.cp == '\'') {
    if (size_t n = contraction_len(s, pos, t)) return pos + n;
  }
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c.cls == kLetter) return letters_end(s, pos + c.len, t);
  if (c.cls != kNumber && !is_newline(c.cp)) {
    Char next = char_at(s, pos + c.len, t);
    if (next.cls == kLetter) return letters_end(s, pos + c.len + next.len, t);
  }
  // \p{N}
  if (c.cls == kNumber) return pos + c.len;
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  size_t p = pos;
  if (c.cp == ' ' && char_at(s, pos + 1, t).cls == kOther && pos + 1 < s.size()) p = pos + 1;
  if (p > pos || c.cls == kOther) {
    while (true) {
      Char o = char_at(s, p, t);
      if (o.len == 0 || o.cls != kOther) break;
      p += o.len;
    }
    while (p < s.size() && (s[p] == '\r' || s[p] == '\n')) ++p;
    return p;
  }
  // c is white space: find the run [pos, end) and its last newline and last char.
  size_t end = pos, last_nl = SIZE_MAX, last_start = pos;
  while (true) {
    Char w = char_at(s, end, t);
    if (w.len == 0 || w.cls != kSpace) break;
    if (is_newline(w.cp)) last_nl = end;
    last_start = end;
    end += w.len;
  }
  // \s*[\r\n]+ : the longest prefix of the run that ends in a newline.
  if (last_nl != SIZE_MAX) return last_nl + 1;
  // \s+(?!\S) : the whole run at end of text, else all but its last character.
  if (end == s.size() || last_start == pos) return end;  // (\s+ for a single char)
  return last_start;
}

size_t next_piece_gpt2(std::string_view s, size_t pos) {
  const ClassTable& t = class_table();
  Char c = char_at(s, pos, t);
  // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive)
  if (c.cp == '\'' && pos + 1 < s.size()) {
    char a = s[pos + 1], b = pos + 2 < s.size() ? s[pos + 2] : 0;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return pos + 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return pos + 3;
  }
  // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+': one class run, optionally after one space.
  size_t p = pos;
  Char first = c;
  if (c.cp == ' ' && pos + 1 < s.size()) {
    Char next = char_at(s, pos + 1, t);
    if (next.cls != kSpace) {
      p = pos + 1;
      first = next;
    }
  }
  if (first.cls != kSpace) {
    while (true) {
      Char o = char_at(s, p, t);
      if (o.len == 0 || o.cls != first.cls) return p;
      p += o.len;
    }
  }
  // \s+(?!\S)|\s+
  size_t end = pos, last_start = pos;
  while (true) {
    Char w = char_at(s, end, t);
    if (w.len == 0 || w.cls != kSpace) break;
    last_start = end;
    end += w.len;
  }
  if (end == s.size() || last_start == pos) return end;
  return last_start;
}

std::vector<std::string_view> split_pieces(std::string_view text, SplitRule rule) {
  std::vector<std::string_view> out;
  for_each_piece(text, [&](std::string_view p) { out.push_back(p); }, rule);
  return out;
}

}  // namespace kormo::tok
