// Pre-tokenizer cases where a hand-written scanner most easily drifts from the
// Qwen2 regex (the expected splits are what HF tokenizers/Oniguruma produce;
// tests/python/test_tokenizer_pretokenizer.py checks the same on real text).
#include "kormo/tok/pretokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using kormo::tok::split_pieces;
using Pieces = std::vector<std::string>;

static Pieces split(const std::string& s) {
  Pieces out;
  for (auto p : split_pieces(s)) out.emplace_back(p);
  return out;
}

TEST(Pretokenizer, ContractionsAreCaseInsensitive) {
  EXPECT_EQ(split("it's"), (Pieces{"it", "'s"}));
  EXPECT_EQ(split("IT'S"), (Pieces{"IT", "'S"}));
  EXPECT_EQ(split("we'Re they'LL I'd"), (Pieces{"we", "'Re", " they", "'LL", " I", "'d"}));
  // Long s folds to 's' under Unicode case folding.
  EXPECT_EQ(split("x'\u017F"), (Pieces{"x", "'\u017F"}));
  // Not a contraction: the apostrophe prefixes the letters instead.
  EXPECT_EQ(split("'hello"), (Pieces{"'hello"}));
  EXPECT_EQ(split("'sdf"), (Pieces{"'s", "df"}));
}

TEST(Pretokenizer, DigitsAreSinglePieces) {
  EXPECT_EQ(split("2024년"), (Pieces{"2", "0", "2", "4", "년"}));
  EXPECT_EQ(split(" 42"), (Pieces{" ", "4", "2"}));
  EXPECT_EQ(split("\u00BD\u2167"), (Pieces{"\u00BD", "\u2167"}));  // No and Nl are numbers too
}

TEST(Pretokenizer, TrailingSpaceLookahead) {
  // \s+(?!\S): a space run leaves its last space to prefix the next word.
  EXPECT_EQ(split("a   b"), (Pieces{"a", "  ", " b"}));
  EXPECT_EQ(split("a b"), (Pieces{"a", " b"}));
  // At the end of text the whole run is one piece.
  EXPECT_EQ(split("end   "), (Pieces{"end", "   "}));
  // A single space before punctuation joins it; a tab does not.
  EXPECT_EQ(split("x !!"), (Pieces{"x", " !!"}));
  EXPECT_EQ(split("x\t!!"), (Pieces{"x", "\t", "!!"}));
  EXPECT_EQ(split("\tx"), (Pieces{"\tx"}));
}

TEST(Pretokenizer, NewlinesAndCrlf) {
  EXPECT_EQ(split("a\r\nb"), (Pieces{"a", "\r\n", "b"}));
  EXPECT_EQ(split("a  \n\n  b"), (Pieces{"a", "  \n\n", " ", " b"}));
  EXPECT_EQ(split("!!!\r\n\r\nfoo"), (Pieces{"!!!\r\n\r\n", "foo"}));
  EXPECT_EQ(split("\n\nx"), (Pieces{"\n\n", "x"}));
  // The prefix character of a word is never a newline.
  EXPECT_EQ(split("\nword"), (Pieces{"\n", "word"}));
}

TEST(Pretokenizer, HangulLatinHanjaMixes) {
  EXPECT_EQ(split("한국어 text 漢字 mixed한자"), (Pieces{"한국어", " text", " 漢字", " mixed한자"}));
  EXPECT_EQ(split("GPT-4는"), (Pieces{"GPT", "-", "4", "는"}));
  // Compatibility jamo and conjoining jamo are letters.
  EXPECT_EQ(split("ㅋㅋㅋ 각"), (Pieces{"ㅋㅋㅋ", " 각"}));
}

TEST(Pretokenizer, EmojiAndCombiningMarks) {
  EXPECT_EQ(split("😀😀 hi"), (Pieces{"😀😀", " hi"}));
  EXPECT_EQ(split("hi😀there"), (Pieces{"hi", "😀there"}));
  // A combining mark is not a letter: it ends a word and may prefix the next.
  EXPECT_EQ(split("e\u0301t"), (Pieces{"e", "\u0301t"}));
  EXPECT_EQ(split("e\u0301 x"), (Pieces{"e", "\u0301", " x"}));
}

TEST(Pretokenizer, UnicodeWhiteSpace) {
  // U+3000 and NBSP are \s; U+200B (Cf) is not.
  EXPECT_EQ(split("a\u3000b"), (Pieces{"a", "\u3000b"}));
  EXPECT_EQ(split("a\u00A0\u00A0b"), (Pieces{"a", "\u00A0", "\u00A0b"}));
  EXPECT_EQ(split("a\u200Bb"), (Pieces{"a", "\u200Bb"}));
}

TEST(Pretokenizer, PiecesCoverInputIncludingInvalidBytes) {
  std::string s = "ok \xFF\xFE broken \xE2\x82 tail  ";
  std::string joined;
  for (auto p : split_pieces(s)) {
    EXPECT_FALSE(p.empty());
    joined += p;
  }
  EXPECT_EQ(joined, s);
}

TEST(Pretokenizer, Gpt2RuleForGpt2StyleFiles) {
  using kormo::tok::SplitRule;
  auto gpt2 = [](const std::string& s) {
    Pieces out;
    for (auto p : split_pieces(s, SplitRule::kGpt2)) out.emplace_back(p);
    return out;
  };
  EXPECT_EQ(gpt2("it's IT'S"), (Pieces{"it", "'s", " IT", "'", "S"}));  // case-sensitive
  EXPECT_EQ(gpt2("2024 years"), (Pieces{"2024", " years"}));           // digit runs
  EXPECT_EQ(gpt2("a  b\n\nc"), (Pieces{"a", " ", " b", "\n", "\n", "c"}));  // no newline rule
  EXPECT_EQ(gpt2("x ?!y"), (Pieces{"x", " ?!", "y"}));
}
