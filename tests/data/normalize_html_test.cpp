#include <gtest/gtest.h>

#include "kormo/data/debian.h"
#include "kormo/data/document.h"
#include "kormo/data/html.h"
#include "kormo/data/normalize.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

namespace kormo::data {
namespace normalize_html_test {

TEST(Normalize, NfcControlsWhitespace) {
  // Decomposed Hangul jamo compose to the syllable under NFC.
  std::string decomposed = "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB";  // 한 as L V T jamo
  EXPECT_EQ(normalize_text(decomposed, text::NormForm::kNFC), "한");
  EXPECT_EQ(normalize_text("\xEF\xBB\xBFline one  \r\nline\x01 two\r\n\r\n\r\n\r\nend\x7f", text::NormForm::kNFC),
            "line one\nline two\n\nend");
  // Full-width forms stay under NFC and fold under NFKC.
  EXPECT_EQ(normalize_text("ＡＢＣ１２３", text::NormForm::kNFC), "ＡＢＣ１２３");
  EXPECT_EQ(normalize_text("ＡＢＣ１２３", text::NormForm::kNFKC), "ABC123");
  EXPECT_EQ(normalize_text("a\u3000b\u00a0c", text::NormForm::kNFC), "a b c");
  EXPECT_THROW(normalize_text("bad \xff byte", text::NormForm::kNFC), Error);
}

TEST(Normalize, GutenbergBoilerplateFromRealFile) {
  std::string book = read_file(std::string(KORMO_SHARED_DATA) + "/corpora/en/gutenberg/Alice-s-Adventures-in-Wonderland_11.txt");
  std::string t = normalize_text(book, text::NormForm::kNFC);
  ASSERT_NE(t.find("Project Gutenberg"), std::string::npos);
  auto fired = strip_boilerplate(t, default_boilerplate_rules());
  EXPECT_EQ(fired.size(), 2u);
  EXPECT_EQ(t.find("START OF THIS PROJECT GUTENBERG"), std::string::npos);
  EXPECT_EQ(t.find("END OF THIS PROJECT GUTENBERG"), std::string::npos);
  EXPECT_NE(t.find("Alice was beginning to get very tired"), std::string::npos);
}

TEST(Normalize, UserRules) {
  auto rules = parse_boilerplate_rules("# comment\ndrop_line Subscribe now\ncut_after -- footer --\n", "r.txt");
  std::string t = "Title\nSubscribe NOW for more\nBody text\n-- footer --\ncopyright";
  strip_boilerplate(t, rules);
  EXPECT_EQ(t, "Title\nBody text");
  EXPECT_THROW(parse_boilerplate_rules("remove_all x\n", "r.txt"), Error);
}

TEST(Html, StripsBoilerplateKeepsParagraphs) {
  std::string html = R"(<?xml version="1.0" encoding="UTF-8"?><html><head><title>T &amp; A</title><style>p{color:red}</style></head>
<body><nav><a href="/">Home</a> | <a>About</a></nav><script>var x = "<p>no</p>";</script>
<h1>제목</h1><p>첫 번째   문단입니다.<br>둘째 줄&#44; &#xAC00; &lt;ok&gt;</p>
<div class="toc">Contents 1. 2. 3.</div><div>Second <b>paragraph</b></div><!-- comment <p>hidden</p> --><footer>(c) 2024</footer>
<p>unclosed <i>tags and a stray < sign</body></html>)";
  EXPECT_EQ(html_to_text(html),
            "제목\n\n첫 번째 문단입니다.\n둘째 줄, 가 <ok>\n\nSecond paragraph\n\nunclosed tags and a stray < sign");
  EXPECT_EQ(html_title(html), "T & A");
}

TEST(Html, LibreOfficeParagraphIdsAndHiddenVariants) {
  std::string html = R"(<p id="par_id1" class="paragraph">Use <span class="switchinline"><span hidden="true" id="MACx" class="MAC">Command</span><span hidden="true" id="defaultx">Ctrl</span></span> + F.</p>
<h2 id="hd_id2">Heading</h2><p id="other">skip</p><div id="par_id3"><p>nested <p>deep</p></p></div>)";
  auto ps = html_paragraphs_by_id(html, {"par_id", "hd_id"});
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(ps[0].id, "par_id1");
  EXPECT_EQ(ps[0].text, "Use Ctrl + F.");
  EXPECT_EQ(ps[1].text, "Heading");
  EXPECT_EQ(ps[2].id, "par_id3");
}

TEST(Mo, ParsesCatalogAndRejectsGarbage) {
  // A two-entry catalog (header + one pair) built by hand, little-endian.
  auto u32 = [](std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); };
  std::string ids[] = {"", "File not found"}, strs[] = {"Content-Type: text/plain; charset=UTF-8\n", "파일이 없습니다"};
  std::string mo;
  u32(mo, 0x950412de); u32(mo, 0); u32(mo, 2); u32(mo, 28); u32(mo, 44); u32(mo, 0); u32(mo, 0);
  uint32_t off = 60;
  std::string blob;
  std::string tables;
  for (auto* group : {ids, strs})
    for (int i = 0; i < 2; ++i) {
      u32(tables, static_cast<uint32_t>(group[i].size()));
      u32(tables, off + static_cast<uint32_t>(blob.size()));
      blob += group[i];
      blob += '\0';
    }
  mo += tables + blob;
  auto pairs = parse_mo(mo, "t.mo");
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].first, "File not found");
  EXPECT_EQ(pairs[0].second, "파일이 없습니다");
  EXPECT_THROW(parse_mo("not a catalog", "bad.mo"), Error);
  EXPECT_THROW(parse_mo(mo.substr(0, 40), "cut.mo"), Error);
}

TEST(Document, ParsesAndReportsBadLines) {
  Document d;
  std::string rule, why;
  ASSERT_TRUE(parse_document(R"({"id":"a","text":"한국어","lang":"ko","source":"s","synthetic":true,"meta":{"k":1},"added":"x"})",
                             d, rule, why));
  EXPECT_EQ(d.text, "한국어");
  EXPECT_TRUE(d.synthetic);
  EXPECT_EQ(d.meta["added"], "x");
  EXPECT_EQ(to_json_line(d),
            R"({"id":"a","text":"한국어","lang":"ko","source":"s","synthetic":true,"meta":{"added":"x","k":1}})");
  EXPECT_FALSE(parse_document("{\"text\":\"bad \xff\"}", d, rule, why));
  EXPECT_EQ(rule, "bad_input.invalid_utf8");
  EXPECT_FALSE(parse_document("{\"text\": \"unterminated", d, rule, why));
  EXPECT_EQ(rule, "bad_input.malformed_json");
  EXPECT_FALSE(parse_document("{\"body\": \"x\"}", d, rule, why));
  EXPECT_EQ(rule, "bad_input.missing_text");
  EXPECT_FALSE(parse_document("[1,2]", d, rule, why));
  EXPECT_EQ(rule, "bad_input.not_an_object");
}

}  // namespace normalize_html_test

}  // namespace kormo::data
