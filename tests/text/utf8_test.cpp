#include "kormo/text/utf8.h"

#include <gtest/gtest.h>

#include "kormo/text/unicode.h"

using namespace kormo::text;

TEST(Utf8, RejectsOverlongsSurrogatesAndOutOfRange) {
  EXPECT_TRUE(is_valid_utf8("한국어 text 😀"));
  EXPECT_EQ(find_invalid_utf8("ab\xC0\x80"), 2u);          // overlong NUL
  EXPECT_EQ(find_invalid_utf8("\xED\xA0\x80"), 0u);        // surrogate
  EXPECT_EQ(find_invalid_utf8("xx\xF4\x90\x80\x80"), 2u);  // > U+10FFFF
  EXPECT_EQ(find_invalid_utf8("abcdefghij\xE2\x82"), 10u); // truncated after ASCII fast path
}

TEST(Utf8, EncodeDecodeAllScalarValues) {
  for (char32_t cp = 0; cp <= 0x10FFFF; cp += (cp < 0x3000 ? 1 : 97)) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string s;
    append_utf8(s, cp);
    size_t pos = 0;
    char32_t back = 0;
    ASSERT_TRUE(decode_next(s, pos, back)) << static_cast<uint32_t>(cp);
    ASSERT_EQ(static_cast<uint32_t>(back), static_cast<uint32_t>(cp));
    ASSERT_EQ(pos, s.size());
  }
}

TEST(Unicode, NfcComposesHangulJamo) {
  // ᄒ + ᅡ + ᆫ (conjoining jamo) composes to 한 under NFC.
  EXPECT_EQ(normalize("\u1112\u1161\u11AB", NormForm::kNFC), "한");
  // NFKC folds full-width Latin; NFC keeps it.
  EXPECT_EQ(normalize("ＡＢ１", NormForm::kNFKC), "AB1");
  EXPECT_EQ(normalize("ＡＢ１", NormForm::kNFC), "ＡＢ１");
}

TEST(Unicode, ClassesAndScripts) {
  EXPECT_TRUE(is_letter(U'한'));
  EXPECT_TRUE(is_letter(U'漢'));
  EXPECT_TRUE(is_number(U'٣'));
  EXPECT_FALSE(is_letter(U'😀'));
  EXPECT_TRUE(is_white_space(0x3000));
  EXPECT_EQ(guess_language_by_script("오늘 날씨가 좋다. API를 썼다."), "ko");
  EXPECT_EQ(guess_language_by_script("The weather is nice today."), "en");
  EXPECT_EQ(guess_language_by_script("12345 !!!"), "other");
}

TEST(Unicode, NfcQuickCheckIsConservative) {
  EXPECT_TRUE(is_nfc_quick("plain ASCII"));
  EXPECT_TRUE(is_nfc_quick("한국어 漢字 😀 — “quotes”"));
  EXPECT_FALSE(is_nfc_quick("e\u0301"));             // combining mark
  EXPECT_FALSE(is_nfc_quick("\u1100\u1161"));        // conjoining jamo compose
  EXPECT_FALSE(is_nfc_quick("\u212B"));              // Angstrom sign: singleton decomposition
  // Whenever the quick check says yes, NFC really is the identity.
  for (char32_t cp = 0x80; cp < 0x30000; cp += 7) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string s;
    append_utf8(s, cp);
    if (is_nfc_quick(s)) {
      ASSERT_EQ(normalize(s, NormForm::kNFC), s) << static_cast<uint32_t>(cp);
    }
  }
}
