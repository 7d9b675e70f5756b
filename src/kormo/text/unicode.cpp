#include "kormo/text/unicode.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "kormo/text/utf8.h"
#include "kormo/util/error.h"

namespace kormo::text {

namespace {

// A code point is NFC-inert when NFC leaves it alone in any context: it has no
// canonical decomposition, combining class 0, and is not a mark or conjoining
// jamo (the only code points that compose with a preceding starter).
bool nfc_inert(char32_t cp) {
  if (cp >= 0xAC00 && cp <= 0xD7A3) return true;  // precomposed Hangul syllables
  if ((cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0xA960 && cp <= 0xA97F) || (cp >= 0xD7B0 && cp <= 0xD7FF))
    return false;
  const utf8proc_property_t* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
  if (p->combining_class != 0) return false;
  if (p->category == UTF8PROC_CATEGORY_MN || p->category == UTF8PROC_CATEGORY_MC ||
      p->category == UTF8PROC_CATEGORY_ME || p->category == UTF8PROC_CATEGORY_CN)
    return false;
  utf8proc_int32_t buf[4];
  utf8proc_int32_t last = 0;
  utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf, 4, UTF8PROC_DECOMPOSE, &last);
  return n == 1 && buf[0] == static_cast<utf8proc_int32_t>(cp);
}

struct NfcInertTable {
  uint64_t bits[0x10000 / 64] = {};
  NfcInertTable() {
    for (char32_t cp = 0; cp < 0x10000; ++cp)
      if (!(cp >= 0xD800 && cp <= 0xDFFF) && nfc_inert(cp)) bits[cp >> 6] |= uint64_t{1} << (cp & 63);
  }
};

}  // namespace

bool is_nfc_quick(std::string_view s) {
  static const NfcInertTable table;
  size_t pos = 0;
  char32_t cp;
  while (pos < s.size()) {
    pos = skip_ascii_blocks(s, pos);
    if (pos >= s.size()) break;
    if (static_cast<unsigned char>(s[pos]) < 0x80) {
      ++pos;
      continue;
    }
    if (!decode_next(s, pos, cp)) return false;
    bool inert = cp < 0x10000 ? (table.bits[cp >> 6] >> (cp & 63)) & 1 : nfc_inert(cp);
    if (!inert) return false;
  }
  return true;
}

std::string normalize(std::string_view s, NormForm form) {
  // Pure ASCII is invariant under NFC and NFKC; mostly-NFC text skips utf8proc's
  // decompose/compose round trip and allocation.
  bool ascii = true;
  for (unsigned char c : s)
    if (c >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii) return std::string(s);
  if (form == NormForm::kNFC && is_nfc_quick(s)) return std::string(s);
  int options = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
  if (form == NormForm::kNFKC) options |= UTF8PROC_COMPAT;
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                    static_cast<utf8proc_ssize_t>(s.size()), &out,
                                    static_cast<utf8proc_option_t>(options));
  if (n < 0) {
    size_t bad = find_invalid_utf8(s);
    fail("cannot normalise text: {} (at byte {})", utf8proc_errmsg(n), bad == kValid ? 0 : bad);
  }
  std::unique_ptr<utf8proc_uint8_t, void (*)(void*)> holder(out, &std::free);
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

CharClass general_class(char32_t cp) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
      return CharClass::kLetter;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return CharClass::kNumber;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
      return CharClass::kMark;
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return CharClass::kPunct;
    case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC: case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
      return CharClass::kSymbol;
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
      return CharClass::kSpace;
    case UTF8PROC_CATEGORY_CC:
      return CharClass::kControl;
    default:
      return CharClass::kOther;
  }
}

bool is_white_space(char32_t cp) {
  // The Unicode White_Space property (PropList.txt), which is what \s matches.
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

Script script_of(char32_t cp) {
  if (cp < 0x80) {
    if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return Script::kLatin;
    if (cp >= '0' && cp <= '9') return Script::kDigit;
    return Script::kOther;
  }
  if (is_hangul(cp)) return Script::kHangul;
  if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
      (cp >= 0x20000 && cp <= 0x3FFFF))
    return Script::kHan;
  if ((cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0x31F0 && cp <= 0x31FF)) return Script::kKana;
  if ((cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) || (cp >= 0x1E00 && cp <= 0x1EFF) ||
      (cp >= 0xFF21 && cp <= 0xFF3A) || (cp >= 0xFF41 && cp <= 0xFF5A))
    return Script::kLatin;
  if (cp >= 0xFF10 && cp <= 0xFF19) return Script::kDigit;
  return Script::kOther;
}

ScriptCounts count_scripts(std::string_view s) {
  ScriptCounts c;
  size_t pos = 0;
  char32_t cp;
  while (pos < s.size()) {
    if (!decode_next(s, pos, cp)) {
      ++pos;
      continue;
    }
    switch (script_of(cp)) {
      case Script::kHangul: ++c.hangul; break;
      case Script::kHan: ++c.han; break;
      case Script::kLatin: ++c.latin; break;
      case Script::kKana: ++c.kana; break;
      case Script::kDigit: ++c.digits; break;
      case Script::kOther:
        if (cp >= 0x80 && is_letter(cp)) ++c.other_letters;
        break;
    }
  }
  return c;
}

std::string guess_language_by_script(std::string_view s) {
  ScriptCounts c = count_scripts(s);
  size_t letters = c.letters();
  if (letters == 0) return "other";
  // Korean text routinely carries English words and Hanja; a modest Hangul
  // share already marks it Korean, while English needs Latin to dominate.
  if (c.hangul * 10 >= letters * 3) return "ko";
  if (c.latin * 10 >= letters * 7) return "en";
  return "other";
}

}  // namespace kormo::text
