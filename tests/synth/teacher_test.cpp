// Teacher programs: the config and plan, the reply parser and backoff, the post-filters
// (refusals, language, dedup) and the diversity report, on real Korean and English text
// from ../shared/data.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "../temp_dir.h"
#include "kormo/synth/diversity.h"
#include "kormo/synth/postfilter.h"
#include "kormo/synth/program.h"
#include "kormo/synth/teacher_client.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"

namespace kormo::synth {
namespace teacher_test {

const std::string kData = KORMO_SHARED_DATA;

// The first n distinct petition texts (Korean prose written by many people; some were
// posted twice), cut at the first full stop from byte `cut_from` on, only those whose title
// has `title_word` when it is given.
std::vector<std::string> petitions(size_t n, const std::string& title_word = "", size_t cut_from = 250) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  LineReader r(kData + "/corpora/ko/petitions/petitions_2017-08.jsonl");
  std::string_view line;
  while (out.size() < n && r.next(line)) {
    const auto j = parse_json_or_discarded(line);
    const std::string t = j.value("content", "");
    if (j.value("title", "").find(title_word) == std::string::npos) continue;
    if (t.size() <= 300 || !seen.insert(t.substr(0, 100)).second) continue;
    const size_t end = t.find('.', cut_from);  // else 300 bytes, cut at a character boundary
    size_t cut = end == std::string::npos ? std::max<size_t>(300, std::min(cut_from, t.size())) : end + 1;
    while (cut < t.size() && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;
    out.push_back(t.substr(0, cut));
  }
  return out;
}

class TeacherProgram : public TempDirTest {
 protected:
  std::string write_config(const std::string& body) {
    const std::string path = (dir_ / "p.toml").string();
    std::ofstream(path) << body;
    return path;
  }
};

const char* kConfig = R"(
[program]
name = "t"
seed = 3
items_per_seed = 2
output = "out"
[seeds]
topics = ["광합성", "조선의 과거 제도", "삼각함수"]
[mix]
tasks = ["explainer", "qa", "reasoning"]
personas = ["과학 교사", "역사학자"]
styles = ["설명문", "대화체"]
[teachers.a]
url = "http://127.0.0.1:1/v1"
model = "m"
weight = 3
[teachers.a.sampling]
temperature = 0.7
max_tokens = 64
[teachers.b]
url = "http://127.0.0.1:2/v1"
model = "n"
)";

TEST_F(TeacherProgram, PlanIsDeterministicAndKeysAreStable) {
  const Program p = load_program(write_config(kConfig));
  ASSERT_EQ(p.seeds.size(), 3u);
  const auto a = make_plan(p), b = make_plan(p);
  ASSERT_EQ(a.size(), 6u);
  std::set<std::string> keys, teachers;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].key, b[i].key);
    EXPECT_EQ(a[i].prompt, b[i].prompt);
    EXPECT_EQ(a[i].seed, i / 2);
    EXPECT_NE(a[i].prompt.find(p.seeds[a[i].seed].text), std::string::npos) << a[i].prompt;
    EXPECT_NE(a[i].prompt.find(a[i].persona), std::string::npos) << a[i].prompt;
    keys.insert(a[i].key);
    teachers.insert(p.teachers[a[i].teacher].name);
  }
  EXPECT_EQ(keys.size(), 6u) << "replicas of one seed must have distinct keys";
  // Another seed changes the draws, not the item → seed mapping.
  std::string other = kConfig;
  other.replace(other.find("seed = 3"), 8, "seed = 4");
  const auto c = make_plan(load_program(write_config(other)));
  size_t same = 0;
  for (size_t i = 0; i < c.size(); ++i) same += c[i].key == a[i].key;
  EXPECT_LT(same, c.size());
  const auto body = request_body(p, a[0]);
  EXPECT_EQ(body["user"], a[0].key);
  EXPECT_EQ(body["messages"][0]["content"], a[0].prompt);
  EXPECT_TRUE(body.contains("seed"));
}

TEST_F(TeacherProgram, RefusesSecretsUnknownKeysAndTasks) {
  for (const auto& [edit, expect] : std::vector<std::pair<std::string, std::string>>{
           {"api_key = \"sk-123\"\n", "api_key_env"},
           {"concurency = 3\n", "concurency"},
       }) {
    std::string cfg = kConfig;
    cfg.insert(cfg.find("model = \"n\""), edit);
    try {
      load_program(write_config(cfg));
      FAIL() << edit;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
    }
  }
  std::string cfg = kConfig;
  cfg.replace(cfg.find("\"explainer\", "), 13, "\"rewrite-ko\", ");
  cfg.replace(cfg.find("\"qa\", \"reasoning\""), 17, "\"rewrite-ko\"");
  // Topics cannot be rewritten: the seed would never be asked.
  EXPECT_THROW(load_program(write_config(cfg)), Error);
}

// Pairs from the parallel news corpus and documents in both languages: each seed goes only
// to tasks that accept it, and a bad pairs line is named by file:line.
TEST_F(TeacherProgram, SeedKindsChooseTheirTasks) {
  const std::string pairs = (dir_ / "pairs.jsonl").string(), docs = (dir_ / "docs.jsonl").string();
  {
    LineReader en(kData + "/corpora/parallel/news/korean-english-park.dev.en");
    LineReader ko(kData + "/corpora/parallel/news/korean-english-park.dev.ko");
    std::ofstream p(pairs), d(docs);
    std::string_view e, k;
    for (int i = 0; i < 6 && en.next(e) && ko.next(k); ++i) {
      p << nlohmann::json{{"en", e}, {"ko", k}, {"id", "news/" + std::to_string(i)}}.dump() << "\n";
      d << nlohmann::json{{"id", "en/" + std::to_string(i)}, {"text", e}, {"lang", "en"}}.dump() << "\n";
      d << nlohmann::json{{"id", "ko/" + std::to_string(i)}, {"text", k}, {"lang", "ko"}}.dump() << "\n";
    }
  }
  std::string cfg = kConfig;
  cfg.replace(cfg.find("topics = "), cfg.find("\n[mix]") - cfg.find("topics = "),
              "documents = [\"" + docs + "\"]\npairs = [\"" + pairs + "\"]");
  cfg.replace(cfg.find("tasks = "), cfg.find("\npersonas") - cfg.find("tasks = "),
              "tasks = [\"rewrite-ko\", \"translate\"]");
  const Program p = load_program(write_config(cfg));
  ASSERT_EQ(p.seeds.size(), 18u);
  size_t translated = 0;
  for (const auto& it : make_plan(p)) {
    const Seed& s = p.seeds[it.seed];
    if (s.kind == "pair") {
      EXPECT_EQ(it.task, "translate") << s.id;
    }
    if (s.kind == "document" && s.lang == "ko") {
      EXPECT_EQ(it.task, "rewrite-ko") << s.id;
    }
    translated += it.task == "translate";
    EXPECT_NE(it.prompt.find(s.text), std::string::npos);
  }
  EXPECT_GE(translated, 12u);  // 12 pair items, plus English documents that drew translate
  std::ofstream(pairs, std::ios::app) << "{\"ko\": \"영어 없음\"}\n";
  try {
    load_program(write_config(cfg));
    FAIL() << "a pair without \"en\" was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(pairs + ":7"), std::string::npos) << e.what();
  }
}

TEST(TeacherClient, ParsesRepliesAndClassifiesFailures) {
  auto ok = parse_chat_reply(
      200,
      R"({"model":"kormo","choices":[{"message":{"role":"assistant","content":"안녕","reasoning_content":"생각"},)"
      R"("finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2}})",
      "");
  ASSERT_TRUE(ok.ok) << ok.detail;
  EXPECT_EQ(ok.content, "안녕");
  EXPECT_EQ(ok.reasoning, "생각");
  EXPECT_EQ(ok.finish_reason, "stop");
  EXPECT_EQ(ok.model, "kormo");
  EXPECT_EQ(ok.prompt_tokens, 5);
  EXPECT_EQ(ok.completion_tokens, 2);

  auto r429 = parse_chat_reply(429, R"({"error":{"message":"slow down"}})", "3");
  EXPECT_FALSE(r429.ok);
  EXPECT_EQ(r429.reason, "http_429");
  EXPECT_TRUE(r429.retry);
  EXPECT_DOUBLE_EQ(r429.retry_after, 3);
  EXPECT_NE(r429.detail.find("slow down"), std::string::npos);
  EXPECT_EQ(parse_chat_reply(429, "", "Wed, 21 Oct 2015 07:28:00 GMT").retry_after, -1);

  auto r503 = parse_chat_reply(503, "busy", "");
  EXPECT_EQ(r503.reason, "http_5xx");
  EXPECT_TRUE(r503.retry);
  auto r400 = parse_chat_reply(400, R"({"error":{"message":"bad"}})", "");
  EXPECT_EQ(r400.reason, "http_4xx");
  EXPECT_FALSE(r400.retry);

  for (const auto& [body, reason] : std::vector<std::pair<std::string, std::string>>{
           {"{\"choices\": [", "malformed_json"},
           {"<html>oops</html>", "malformed_json"},
           {R"({"choices":[]})", "empty_choices"},
           {R"({"object":"chat.completion"})", "empty_choices"},
           {R"({"choices":[{"message":{"role":"assistant"}}]})", "no_content"},
           {R"({"choices":[{"message":{"content":null}}]})", "no_content"},
       }) {
    auto r = parse_chat_reply(200, body, "");
    EXPECT_FALSE(r.ok) << body;
    EXPECT_EQ(r.reason, reason) << body;
    EXPECT_TRUE(r.retry) << body;
  }
}

TEST(TeacherClient, BackoffGrowsIsCappedJitteredAndHonoursRetryAfter) {
  EXPECT_DOUBLE_EQ(backoff_seconds(1, 1, 60, -1, 1.0), 1);
  EXPECT_DOUBLE_EQ(backoff_seconds(1, 1, 60, -1, 0.0), 0.5);
  EXPECT_DOUBLE_EQ(backoff_seconds(4, 1, 60, -1, 1.0), 8);
  EXPECT_DOUBLE_EQ(backoff_seconds(30, 1, 60, -1, 1.0), 60);
  EXPECT_DOUBLE_EQ(backoff_seconds(1000, 1, 60, -1, 1.0), 60);
  EXPECT_DOUBLE_EQ(backoff_seconds(1, 1, 60, 7, 0.0), 7);
}

TEST(TeacherFilters, RefusalsAndMetaCommentary) {
  for (const char* t : {"As an AI language model, I cannot write this.",
                        "I'm sorry, but I can't help with that request.",
                        "죄송하지만 요청하신 글은 작성할 수 없습니다.",
                        "저는 AI 언어 모델로서 개인적인 의견을 가질 수 없습니다."})
    EXPECT_EQ(refusal_rule(t), "refusal") << t;
  for (const char* t : {"다음은 영어 원문을 한국어로 번역한 글입니다:\n\n광합성은 빛 에너지를 이용한다.",
                        "Here is the rewritten text:\n\n광합성은 빛 에너지를 이용한다.",
                        "물론입니다! 광합성에 대해 설명하겠습니다.\n\n광합성은 빛 에너지를 이용한다.",
                        "광합성은 빛 에너지를 이용한다.\n\n도움이 되었기를 바랍니다."})
    EXPECT_EQ(refusal_rule(t), "meta_commentary") << t;
  for (const auto& t : petitions(20)) EXPECT_EQ(refusal_rule(t), "") << t;
  // An apology late in a story is not a refusal.
  std::string story = petitions(1)[0] + " 그는 \"죄송하지만 오늘은 갈 수 없습니다\"라고 말했다.";
  EXPECT_EQ(refusal_rule(story), "");
  EXPECT_EQ(refusal_rule("광합성 이야기", {"광합성"}), "refusal");
}

TEST(TeacherFilters, LanguageLengthAndTruncation) {
  FilterOptions o;
  o.min_chars = 20;
  o.max_chars = 2000;
  OutputFilter f(o, "ko");
  const std::string ko = petitions(1)[0];
  EXPECT_EQ(f.check(ko, "stop"), "");
  EXPECT_EQ(f.check(ko, "length"), "truncated");
  EXPECT_EQ(f.check("짧은 글", "stop"), "length.too_short");
  std::string english;
  LineReader r(kData + "/corpora/parallel/news/korean-english-park.dev.en");
  std::string_view line;
  while (english.size() < 400 && r.next(line)) english += std::string(line) + " ";
  EXPECT_EQ(f.check(english, "stop"), "lang.mismatch");
  o.min_lang_score = 0;
  EXPECT_EQ(OutputFilter(o, "ko").check(english, "stop"), "");
}

TEST(TeacherFilters, DedupAgainstSeedsAndEarlierOutputs) {
  const auto texts = petitions(6);
  ASSERT_EQ(texts.size(), 6u);
  std::string near = texts[2];
  near.replace(near.rfind(' '), 1, "  그리고 ");  // one word added near the end
  const std::vector<std::string_view> seeds = {texts[0]};
  const std::vector<std::string_view> outs = {texts[0], texts[1], texts[2], texts[1], near, texts[3]};
  const auto rules = dedup_outputs(seeds, outs, 0.7);
  EXPECT_EQ(rules, (std::vector<std::string>{"dedup.seed", "", "", "dedup.exact", "dedup.near", ""}));
}

// The qa template's form, as teachers write it (plain, or with markdown emphasis, the
// answer over several lines), is split into a question and an answer for SFT; anything
// else (no markers, a marker missing, an empty part) is left whole.
TEST(TeacherQa, SplitsTheQuestionAndAnswerForm) {
  const auto plain = split_question_answer("질문: 광합성은 어디에서 일어나나요?\n답: 엽록체에서 일어납니다.");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->first, "광합성은 어디에서 일어나나요?");
  EXPECT_EQ(plain->second, "엽록체에서 일어납니다.");
  const auto md = split_question_answer(
      "머리말은 버립니다.\n\n**질문:** 조선의 과거 제도는\n무엇인가요?\n\n**답:** 관리를 뽑는 시험입니다.\n\n문과와 무과가 있었습니다.");
  ASSERT_TRUE(md);
  EXPECT_EQ(md->first, "조선의 과거 제도는\n무엇인가요?");
  EXPECT_EQ(md->second, "관리를 뽑는 시험입니다.\n\n문과와 무과가 있었습니다.");
  EXPECT_FALSE(split_question_answer("광합성은 엽록체에서 일어납니다."));
  EXPECT_FALSE(split_question_answer("질문: 광합성은 어디에서 일어나나요?"));
  EXPECT_FALSE(split_question_answer("답: 엽록체입니다.\n질문: 어디인가요?"));
  EXPECT_FALSE(split_question_answer("질문: \n답: 엽록체입니다."));
  // "대답:" inside a line is not the marker: the answer begins at its own line.
  const auto inner = split_question_answer("질문: 그의 대답: 무엇이었나?\n답: 침묵.");
  ASSERT_TRUE(inner);
  EXPECT_EQ(inner->first, "그의 대답: 무엇이었나?");
}

TEST(TeacherDiversity, WarnsOnCollapseOnly) {
  const auto texts = petitions(30);
  std::vector<DiversityInput> varied, collapsed;
  // The seed id is a view into the text (DiversityInput holds views, not strings).
  for (const auto& t : texts) varied.push_back({t, std::string_view(t).substr(0, 10), "p"});
  const std::string form = texts[0];
  std::vector<std::string> copies;
  for (size_t i = 0; i < 30; ++i) copies.push_back(form + " " + std::to_string(i));
  for (const auto& t : copies) collapsed.push_back({t, "s", "p"});
  const auto v = diversity_stats(varied), c = diversity_stats(collapsed);
  EXPECT_TRUE(v["warnings"].empty()) << v.dump();
  EXPECT_FALSE(c["warnings"].empty()) << c.dump();
  EXPECT_GT(v["distinct_2"].get<double>(), c["distinct_2"].get<double>());
  EXPECT_GT(v["compression_ratio"].get<double>(), c["compression_ratio"].get<double>());
  EXPECT_LT(v["nn_similarity_mean"].get<double>(), 0.3);
  EXPECT_GT(c["nn_similarity_mean"].get<double>(), 0.8);
  EXPECT_EQ(c["near_duplicate_share"].get<double>(), 1.0);
  EXPECT_EQ(v["texts"], 30);
}

// Thirty petitions about daycare centres (어린이집 in the title: pay of daycare teachers,
// fees, subsidies), each written by someone else, are neither near duplicates nor
// repetitive, but they are one topic: only the topic measure sees it. Thirty petitions in
// the order they were posted cover many. About 300 characters each, a short teacher answer
// (at 100 the daycare set's largest group is 37%, under the warning's 40%).
TEST(TeacherDiversity, TopicSpreadWarnsWhenOneTopicDominates) {
  const auto spread = petitions(30, "", 600), daycare = petitions(30, "어린이집", 600);
  ASSERT_EQ(daycare.size(), 30u);
  std::vector<DiversityInput> s, d;
  for (const auto& t : spread) s.push_back({t, t, "p"});
  for (const auto& t : daycare) d.push_back({t, t, "p"});
  const auto vs = diversity_stats(s), vd = diversity_stats(d);
  EXPECT_TRUE(vs["warnings"].empty()) << vs.dump();
  ASSERT_EQ(vd["warnings"].size(), 1u) << vd.dump();
  EXPECT_NE(vd["warnings"][0].get<std::string>().find("on one topic"), std::string::npos) << vd.dump();
  EXPECT_LT(vd["near_duplicate_share"].get<double>(), 0.3);  // not what the other measures catch
  EXPECT_GE(vd["topics"]["largest_share"].get<double>(), 0.4);
  EXPECT_LT(vs["topics"]["largest_share"].get<double>(), 0.2);
  EXPECT_GT(vs["topics"]["effective"].get<double>(), 3 * vd["topics"]["effective"].get<double>());
  // The largest group's keywords name its topic: the stem of 보육 (childcare) or 어린이집.
  const auto kw = vd["topics"]["largest_keywords"];
  EXPECT_TRUE(std::find(kw.begin(), kw.end(), "보육") != kw.end() || std::find(kw.begin(), kw.end(), "어린") != kw.end())
      << kw.dump();
  EXPECT_EQ(diversity_stats({})["topics"]["groups"], 0);
}

// One text is one topic whatever its words; a text with no topic words (numbers only)
// shares no keywords, so it is a group of its own.
TEST(TeacherDiversity, TopicSpreadOfDegenerateSets) {
  const auto one = diversity_stats({{"광합성은 식물이 빛으로 양분을 만드는 과정이다.", "s", "p"}});
  EXPECT_EQ(one["topics"]["groups"], 1);
  EXPECT_DOUBLE_EQ(one["topics"]["effective"].get<double>(), 1.0);
  const auto digits = diversity_stats({{"123 456", "a", "p"}, {"789", "b", "p"}});
  EXPECT_EQ(digits["topics"]["groups"], 2);
  EXPECT_DOUBLE_EQ(digits["topics"]["largest_share"].get<double>(), 0.5);
}

}  // namespace teacher_test

}  // namespace kormo::synth
