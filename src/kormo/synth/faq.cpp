#include "kormo/synth/faq.h"

#include <fmt/format.h>

#include <array>
#include <cctype>

#include "kormo/data/langid.h"
#include "kormo/data/words.h"
#include "kormo/text/utf8.h"
#include "kormo/util/hash.h"
#include "kormo/util/rng.h"

namespace kormo::synth {

namespace {

// Length of the white space at s[i] (ASCII space/tab or U+00A0), 0 if none.
size_t space_at(std::string_view s, size_t i) {
  if (i < s.size() && (s[i] == ' ' || s[i] == '\t')) return 1;
  if (s.substr(i, 2) == "\xC2\xA0") return 2;
  return 0;
}

// "1.2. Title" → number "1.2", title "Title".
bool section_heading(std::string_view p, std::string& number, std::string& title) {
  if (p.size() > 400 || p.find('\n') != std::string_view::npos) return false;
  size_t i = 0, parts = 0;
  while (i < p.size() && text::is_ascii_digit(p[i])) {
    size_t start = i;
    while (i < p.size() && text::is_ascii_digit(p[i])) ++i;
    if (i >= p.size() || p[i] != '.' || i - start > 3) return false;
    ++i;
    ++parts;
  }
  if (parts < 2) return false;
  if (space_at(p, i) == 0) return false;
  number = std::string(p.substr(0, i - 1));
  while (size_t n = space_at(p, i)) i += n;
  title = std::string(data::trim(p.substr(i)));
  return !title.empty();
}

// "Chapter 3. …", "Appendix A. …", "3장. …", "부록 A. …".
bool chapter_heading(std::string_view p) {
  if (p.size() > 400 || p.find('\n') != std::string_view::npos) return false;
  for (std::string_view lead : {"Chapter", "Appendix", "부록"}) {
    if (!p.starts_with(lead)) continue;
    size_t i = lead.size(), ws = space_at(p, i);
    if (ws == 0) return false;
    i += ws;
    size_t start = i;
    while (i < p.size() && std::isalnum(static_cast<unsigned char>(p[i]))) ++i;
    return i > start && i < p.size() && p[i] == '.';
  }
  size_t i = 0;
  while (i < p.size() && text::is_ascii_digit(p[i])) ++i;
  return i > 0 && p.substr(i).starts_with("장.");
}

struct Template {
  const char* id;
  const char* text;  // {} = the question or title
};
constexpr std::array<Template, 3> kQuestionKo = {
    {{"question.ko.0", "{}"}, {"question.ko.1", "데비안에 관한 질문입니다. {}"}, {"question.ko.2", "데비안 FAQ: {}"}}};
constexpr std::array<Template, 3> kQuestionEn = {
    {{"question.en.0", "{}"}, {"question.en.1", "A question about Debian: {}"}, {"question.en.2", "Debian FAQ: {}"}}};
constexpr std::array<Template, 2> kHeadingKo = {{{"heading.ko.0", "데비안 문서의 \"{}\" 절을 설명해 주세요."},
                                                 {"heading.ko.1", "데비안에서 \"{}\"에 대해 알려 주세요."}}};
constexpr std::array<Template, 2> kHeadingEn = {{{"heading.en.0", "Explain the section \"{}\" of the Debian documentation."},
                                                 {"heading.en.1", "Tell me about \"{}\" in Debian."}}};

}  // namespace

std::vector<FaqSection> faq_sections(std::string_view text) {
  std::vector<FaqSection> out;
  FaqSection cur;
  bool open = false;
  auto close = [&] {
    if (open && !cur.answer.empty()) out.push_back(std::move(cur));
    cur = FaqSection{};
    open = false;
  };
  std::string_view t = text;
  while (!t.empty()) {
    size_t e = t.find("\n\n");
    std::string_view para = data::trim(t.substr(0, e));
    t.remove_prefix(e == std::string_view::npos ? t.size() : e + 2);
    if (para.empty()) continue;
    std::string number, title;
    if (section_heading(para, number, title)) {
      close();
      cur.number = std::move(number);
      cur.title = std::move(title);
      cur.question = cur.title.ends_with("?") || cur.title.ends_with("?!") || cur.title.ends_with("？");
      open = true;
    } else if (chapter_heading(para)) {
      close();
    } else if (open) {
      if (!cur.answer.empty()) cur.answer += "\n\n";
      cur.answer += para;
    }
  }
  close();
  return out;
}

std::vector<Conversation> faq_conversations(const data::Document& doc, uint64_t seed, data::Counts& counts) {
  std::vector<Conversation> out;
  bool ko = doc.lang == "ko";
  if (!ko && doc.lang != "en") return out;
  for (auto& s : faq_sections(doc.text)) {
    if (data::identify_language(s.answer).lang != doc.lang) {
      ++counts["faq.wrong_language"];
      continue;
    }
    Rng r(xxh3_64(fmt::format("faq/{}/{}", doc.lang, s.title), seed));
    const Template& t = s.question ? (ko ? kQuestionKo[r.below(kQuestionKo.size())]
                                         : kQuestionEn[r.below(kQuestionEn.size())])
                                   : (ko ? kHeadingKo[r.below(kHeadingKo.size())]
                                         : kHeadingEn[r.below(kHeadingEn.size())]);
    Conversation c = question_answer(fmt::format(fmt::runtime(t.text), s.title), std::move(s.answer));
    c.lang = doc.lang;
    c.source = "faq";
    c.meta = {{"program", "faq"},
              {"template", t.id},
              {"seed_id", doc.id},
              {"path", meta_string(doc.meta, "path")},
              {"item", s.number}};
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace kormo::synth
