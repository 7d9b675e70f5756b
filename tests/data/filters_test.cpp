#include "kormo/data/filters.h"

#include <gtest/gtest.h>

#include "kormo/data/words.h"
#include "kormo/util/config.h"
#include "kormo/util/io.h"

namespace kormo::data {
namespace filters_test {

// A plain English paragraph of ordinary prose (~70 words).
const std::string kEnglish =
    "The river runs through the old town and past the mill where the farmers bring their grain in autumn. "
    "In the evening the light falls on the water, and children walk with their parents along the bank to "
    "watch the boats. Most of the houses were built with stone from the hills, and many of them have stood "
    "for more than two hundred years. Visitors often say that the town feels calm and friendly.";

// Korean prose (~60 eojeol) with particles that the stop-word rule finds.
const std::string kKorean =
    "오늘은 아침부터 비가 내려서 우리는 집에서 책을 읽으며 시간을 보냈다. 어머니는 부엌에서 따뜻한 국을 끓이셨고 "
    "동생은 창가에 앉아 빗소리를 들었다. 점심을 먹은 뒤에 우리는 우산을 들고 동네 도서관에 갔다. 도서관에는 "
    "생각보다 많은 사람들이 있었고 모두 조용히 책을 읽고 있었다. 나는 역사에 관한 책을 두 권 빌렸고 동생은 "
    "그림책을 골랐다. 집으로 돌아오는 길에 비가 그치고 하늘이 맑아졌다. 저녁에는 가족이 함께 모여 하루 동안 "
    "있었던 일을 이야기했다.";

TEST(Words, KoreanEojeolAndPunctuationRuns) {
  auto w = split_words("한국어는 재미있다... 정말?! 漢字와 ㅋㅋ 😀ok");
  ASSERT_EQ(w.size(), 8u);
  EXPECT_EQ(w[0].text, "한국어는");
  EXPECT_EQ(w[0].chars, 4u);
  EXPECT_EQ(w[2].text, "...");
  EXPECT_TRUE(w[2].punct);
  EXPECT_EQ(w[4].text, "?!");
  EXPECT_EQ(w[5].text, "漢字와");
  EXPECT_TRUE(w[6].has_letter);  // compatibility jamo are letters
  EXPECT_EQ(w[7].text, "😀ok");   // emoji stays inside its run
}

TEST(GopherQuality, KeepsOrdinaryProse) {
  EXPECT_EQ(gopher_quality(kEnglish, default_thresholds("en")).rule, "");
  EXPECT_EQ(gopher_quality(kKorean, default_thresholds("ko")).rule, "");
}

TEST(GopherQuality, TooFewAndTooManyWords) {
  EXPECT_EQ(gopher_quality("The cat sat on the mat.", default_thresholds("en")).rule, "gopher_quality.min_words");
  EXPECT_EQ(gopher_quality("안녕하세요 반갑습니다.", default_thresholds("ko")).rule, "gopher_quality.min_words");
  Thresholds t = default_thresholds("en");
  t.max_words = 60;
  EXPECT_EQ(gopher_quality(kEnglish, t).rule, "gopher_quality.max_words");
}

TEST(GopherQuality, AverageWordLength) {
  // Korean thresholds are 1..6 characters per eojeol; a run of long Hanja
  // compounds without spaces exceeds it.
  std::string longwords;
  for (int i = 0; i < 60; ++i) longwords += "大韓民國憲法前文第一條에서는 ";
  EXPECT_EQ(gopher_quality(longwords, default_thresholds("ko")).rule, "gopher_quality.max_avg_word_length");
  std::string shortwords;
  for (int i = 0; i < 60; ++i) shortwords += "a b of to ";
  EXPECT_EQ(gopher_quality(shortwords, default_thresholds("en")).rule, "gopher_quality.min_avg_word_length");
}

TEST(GopherQuality, SymbolsBulletsEllipses) {
  std::string hashes = kEnglish;
  for (int i = 0; i < 10; ++i) hashes += " #tag";
  EXPECT_EQ(gopher_quality(hashes, default_thresholds("en")).rule, "gopher_quality.symbol_word_ratio");
  std::string bullets;
  for (int i = 0; i < 12; ++i) bullets += "• the town and the river with their boats and mills\n";
  EXPECT_EQ(gopher_quality(bullets, default_thresholds("en")).rule, "gopher_quality.bullet_lines_ratio");
  std::string ell;
  for (int i = 0; i < 12; ++i) ell += "the town and the river with their boats and the mill…\n";
  // '…' counts as a symbol too, so the symbol rule or the ellipsis-line rule fires.
  std::string r = gopher_quality(ell, default_thresholds("en")).rule;
  EXPECT_TRUE(r == "gopher_quality.ellipsis_lines_ratio" || r == "gopher_quality.symbol_word_ratio") << r;
}

TEST(GopherQuality, NonAlphaWordsAndFullWidthDigits) {
  std::string nums = kEnglish;
  for (int i = 0; i < 40; ++i) nums += " １２３ 2024";  // full-width digits are numbers, not letters
  EXPECT_EQ(gopher_quality(nums, default_thresholds("en")).rule, "gopher_quality.non_alpha_words_ratio");
}

TEST(GopherQuality, StopWordsKoreanSuffixes) {
  // Korean nouns without particles: no stop words, even as suffixes.
  std::string nouns;
  for (int i = 0; i < 20; ++i) nouns += "사과 바나나 포도 ";
  nouns += "딸기.";
  EXPECT_EQ(gopher_quality(nouns, default_thresholds("ko")).rule, "gopher_quality.stop_words");
  std::string en;
  for (int i = 0; i < 20; ++i) en += "apples bananas grapes ";
  EXPECT_EQ(gopher_quality(en, default_thresholds("en")).rule, "gopher_quality.stop_words");
}

TEST(GopherRepetition, DuplicateLinesAndParagraphs) {
  EXPECT_EQ(gopher_repetition(kEnglish, default_thresholds("en")).rule, "");
  EXPECT_EQ(gopher_repetition(kKorean, default_thresholds("ko")).rule, "");
  std::string lines = "첫 번째 줄입니다\n같은 줄이 반복됩니다\n같은 줄이 반복됩니다\n같은 줄이 반복됩니다\n마지막 줄";
  // Paragraph split first: one paragraph here, so the line rules decide.
  EXPECT_EQ(gopher_repetition(lines, default_thresholds("ko")).rule, "gopher_repetition.dup_line_frac");
  // Korean allows 0.374 duplicate lines; 1 of 3 (0.33) passes for ko, fails for en's 0.3.
  std::string third = "가나다라 마바사 아자차카 타파하\n가나다라 마바사 아자차카 타파하\n전혀 다른 내용의 세 번째 줄은 조금 더 길게 씁니다 길게 길게";
  EXPECT_EQ(gopher_repetition(third, default_thresholds("en")).rule, "gopher_repetition.dup_line_frac");
  EXPECT_NE(gopher_repetition(third, default_thresholds("ko")).rule, "gopher_repetition.dup_line_frac");
  std::string paras = kEnglish + "\n\n" + kEnglish + "\n\n" + kEnglish;
  EXPECT_EQ(gopher_repetition(paras, default_thresholds("en")).rule, "gopher_repetition.dup_para_frac");
}

TEST(GopherRepetition, TopAndDuplicatedNgrams) {
  std::string spam = kEnglish + " ";
  for (int i = 0; i < 30; ++i) spam += "buy now ";
  EXPECT_EQ(gopher_repetition(spam, default_thresholds("en")).rule, "gopher_repetition.top_2_gram");
  std::string dup = kEnglish + " " + kEnglish.substr(0, kEnglish.size() / 2);
  std::string r = gopher_repetition(dup, default_thresholds("en")).rule;
  EXPECT_EQ(r.rfind("gopher_repetition.dup_", 0), 0u) << r;
}

TEST(C4, DropsLinesAndRejectsDocuments) {
  Thresholds t = default_thresholds("en");
  size_t removed = 0;
  std::string doc = kEnglish + "\nPlease enable JavaScript to view this page.\nRead our privacy policy here.\nShort line\n" +
                    kEnglish;
  EXPECT_EQ(c4_quality(doc, t, removed).rule, "");
  EXPECT_EQ(removed, 3u);  // javascript, policy, fewer than 3 words
  EXPECT_EQ(doc.find("JavaScript"), std::string::npos);
  std::string lorem = kEnglish + "\nLorem ipsum dolor sit amet.";
  EXPECT_EQ(c4_quality(lorem, t, removed).rule, "c4.lorem_ipsum");
  std::string code = kEnglish + "\nint main() { return 0; }";
  EXPECT_EQ(c4_quality(code, t, removed).rule, "c4.curly_bracket");
  std::string few = "한 문장만 있는 짧은 글입니다.";
  EXPECT_EQ(c4_quality(few, default_thresholds("ko"), removed).rule, "c4.too_few_sentences");
  std::string ko = kKorean;
  EXPECT_EQ(c4_quality(ko, default_thresholds("ko"), removed).rule, "");
}

TEST(FineWeb, LinePunctuationShortLinesDuplicatesNewlines) {
  EXPECT_EQ(fineweb_quality(kEnglish, default_thresholds("en")).rule, "");
  EXPECT_EQ(fineweb_quality(kKorean, default_thresholds("ko")).rule, "");
  std::string nopunct;
  for (int i = 0; i < 10; ++i) nopunct += "a heading line without any final punctuation mark at all here\n";
  EXPECT_EQ(fineweb_quality(nopunct, default_thresholds("en")).rule, "fineweb.line_punct_ratio");
  std::string menu;
  for (int i = 0; i < 10; ++i) menu += "Home " + std::to_string(i) + ".\n";
  EXPECT_EQ(fineweb_quality(menu, default_thresholds("en")).rule, "fineweb.short_line_ratio");
  std::string dup = kEnglish + "\n" + kEnglish;
  EXPECT_EQ(fineweb_quality(dup, default_thresholds("en")).rule, "fineweb.char_dup_ratio");
  // Korean newline ratio 0.196: one line break per 4 eojeol is a list.
  std::string list;
  for (int i = 0; i < 20; ++i) list += "대한민국헌법제일조제이항에따른 국민주권원리를다시확인하는 조항" + std::to_string(i) + "입니다.\n";
  EXPECT_EQ(fineweb_quality(list, default_thresholds("ko")).rule, "fineweb.list_ratio");
  EXPECT_EQ(fineweb_quality("", default_thresholds("ko")).rule, "fineweb.empty");
}

TEST(Filters, VeryLongDocumentIsHandled) {
  std::string big;
  for (int i = 0; i < 3000; ++i) big += "Sentence number " + std::to_string(i) + " tells a different story of the town.\n";
  EXPECT_EQ(gopher_quality(big, default_thresholds("en")).rule, "");
  Thresholds t = default_thresholds("en");
  EXPECT_EQ(gopher_repetition(big, t).rule.rfind("gopher_repetition.", 0), 0u);  // the template repeats
}

// The defaults are written once (default_thresholds); their TOML form must read
// back to the same values, and docs/data.md must quote it unchanged.
TEST(Thresholds, DefaultsTomlReadsBackToTheDefaults) {
  toml::table t = load_toml("", default_thresholds_toml());
  ConfigSection top(&t, "<default thresholds>");
  ConfigSection filter = top.section("filter");
  for (const char* lang : {"en", "ko", "default"}) {
    Thresholds got = default_thresholds("en");  // ko and default list only what differs from en
    ConfigSection sec = filter.section(lang);
    read_thresholds(sec, got);
    sec.check_unused();
    const Thresholds want = default_thresholds(lang);
    for_each_threshold([&](const char* key, auto field) { EXPECT_EQ(got.*field, want.*field) << lang << " " << key; });
  }
}

TEST(Thresholds, DocsQuoteTheDefaults) {
  const std::string doc = read_file(std::string(KORMO_TEST_DIR) + "/../docs/data.md");
  const std::string open = "<!-- default_thresholds_toml() -->\n```toml\n";
  size_t b = doc.find(open);
  ASSERT_NE(b, std::string::npos) << "docs/data.md lost the marker " << open;
  b += open.size();
  size_t e = doc.find("```", b);
  ASSERT_NE(e, std::string::npos);
  EXPECT_EQ(doc.substr(b, e - b), default_thresholds_toml())
      << "docs/data.md's default thresholds differ from the code; paste default_thresholds_toml() there";
}

}  // namespace filters_test

}  // namespace kormo::data
