// faq: sections of a DocBook page (fixture written after the Debian FAQ's real
// markup: navigation header and footer, table of contents, h1 chapter, h2/h3
// sections numbered with a no-break space) through the ingest's html_to_text.
#include <gtest/gtest.h>

#include "kormo/data/html.h"
#include "kormo/synth/faq.h"
#include "kormo/util/io.h"

namespace kormo::synth {
namespace faq_test {

std::string fixture_text() { return data::html_to_text(read_file(std::string(KORMO_TEST_DIR) + "/fixtures/synth/faq.ko.html")); }

TEST(FaqSections, FromDocBookPage) {
  auto s = faq_sections(fixture_text());
  // 3.2.3 has no text of its own; the table of contents and navigation are not sections.
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].number, "3.1");
  EXPECT_EQ(s[0].title, "데비안 패키지는 무엇인가요?");
  EXPECT_TRUE(s[0].question);
  EXPECT_EQ(s[0].answer.rfind("패키지에는 관련된 명령이나", 0), 0u) << s[0].answer;
  EXPECT_NE(s[0].answer.find("바이너리 패키지: 실행 파일"), std::string::npos) << s[0].answer;
  EXPECT_NE(s[0].answer.find("4.1절. “dpkg”을 참조하십시오."), std::string::npos) << s[0].answer;
  EXPECT_EQ(s[0].answer.find('<'), std::string::npos) << s[0].answer;
  // A section's answer stops at its first subsection.
  EXPECT_EQ(s[1].number, "3.2");
  EXPECT_EQ(s[1].title, "데비안 바이너리 패키지 형식");
  EXPECT_FALSE(s[1].question);
  EXPECT_EQ(s[1].answer, "데비안 바이너리 패키지는 ar 아카이브이며 세 개의 파일이 들어 있습니다.");
  EXPECT_EQ(s[2].number, "3.2.1");
  EXPECT_EQ(s[2].answer, "control 파일에는 패키지 이름, 버전, 의존성 같은 정보가 들어 있습니다.\n\nPackage: hello\nVersion: 2.10-3");
  EXPECT_EQ(s[3].title, "What is a conffile?");
  for (const auto& x : s) {
    EXPECT_EQ(x.answer.find("차례"), std::string::npos);  // table of contents
    EXPECT_EQ(x.answer.find("4장. 패키지 관리 도구"), std::string::npos);  // navigation footer
  }
}

TEST(FaqSections, ChapterEndsASectionAndListsAreNotHeadings) {
  auto s = faq_sections(
      "1.1. What is this FAQ?\n\nThis document answers questions.\n\n"
      "Chapter 2. Getting Debian\n\nIntroduction of chapter 2.\n\n"
      "2.1. Where can I get it?\n\n1. From a mirror.\n\n2. From a DVD.\n\n"
      "2.6.32 kernels are old.\n\n부록 A. 기타\n\nAppendix text.");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].answer, "This document answers questions.");
  EXPECT_EQ(s[1].number, "2.1");
  EXPECT_EQ(s[1].answer, "1. From a mirror.\n\n2. From a DVD.\n\n2.6.32 kernels are old.");
}

TEST(FaqConversations, LanguageProvenanceAndSeededTemplates) {
  data::Document d;
  d.id = "debian/debian-faq-ko/pkg-basics.ko.html#ko";
  d.lang = "ko";
  d.text = fixture_text();
  d.meta = {{"path", "/usr/share/doc/debian/FAQ/ko/pkg-basics.ko.html"}};
  data::Counts counts;
  auto c = faq_conversations(d, 5, counts);
  // The English section left in the Korean page is not a Korean answer.
  EXPECT_EQ(counts["faq.wrong_language"], 1u);
  ASSERT_EQ(c.size(), 3u);
  for (const auto& x : c) {
    EXPECT_EQ(x.lang, "ko");
    EXPECT_EQ(x.source, "faq");
    EXPECT_EQ(x.meta.at("seed_id"), d.id);
    EXPECT_EQ(x.meta.at("path"), "/usr/share/doc/debian/FAQ/ko/pkg-basics.ko.html");
    ASSERT_EQ(x.messages.size(), 2u);
    EXPECT_TRUE(x.messages[1].reasoning.empty());
  }
  EXPECT_EQ(c[0].meta.at("item"), "3.1");
  EXPECT_EQ(c[0].meta.at("template").get<std::string>().rfind("question.ko.", 0), 0u);
  EXPECT_NE(c[0].messages[0].content.find("데비안 패키지는 무엇인가요?"), std::string::npos);
  EXPECT_EQ(c[1].meta.at("template").get<std::string>().rfind("heading.ko.", 0), 0u);
  EXPECT_NE(c[1].messages[0].content.find("\"데비안 바이너리 패키지 형식\""), std::string::npos);
  auto again = faq_conversations(d, 5, counts);
  for (size_t i = 0; i < c.size(); ++i) EXPECT_EQ(to_json_line(c[i]), to_json_line(again[i]));
}

}  // namespace faq_test

}  // namespace kormo::synth
