#include "kormo/eval/task.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "../temp_dir.h"
#include "kormo/eval/metrics.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

using namespace kormo;

namespace task_test {

class EvalTask : public TempDirTest {};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const char* kCopa = R"([task]
name = "c"
text = "{{ q }}"
choices = ["{{ a }}", "{{ b }}"]
target = "{{ gold }}"
)";

TEST_F(EvalTask, CsvQuotingTsvRawAndFileStem) {
  const auto csv = write("anatomy_dev.csv",
                         "\xEF\xBB\xBFq,a,b,gold\n\"Is \"\"x\"\", y\nsplit?\",yes,no,0\n\nplain,1,2,1\n");
  auto docs = eval::read_docs(csv, "");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].fields["q"], "Is \"x\", y\nsplit?");
  EXPECT_EQ(docs[1].where, csv + ":5");  // the quoted newline counts as a line
  EXPECT_EQ(docs[0].file_stem, "anatomy_dev");
  const auto tsv = write("t.tsv", "q\ta\tb\tgold\n\"quoted\"\tx\ty\t1\n");
  auto t = eval::read_docs(tsv, "");
  EXPECT_EQ(t[0].fields["q"], "\"quoted\"");  // TSV has no quoting
  const auto bad = write("bad.tsv", "q\ta\n1\t2\t3\n");
  EXPECT_NE(error_of([&] { eval::read_docs(bad, ""); }).find(bad + ":2: 3 fields"), std::string::npos);
  EXPECT_NE(error_of([&] { eval::read_docs(write("x.xml", "q\n"), ""); }).find("format"), std::string::npos);
}

TEST_F(EvalTask, ItemsAsLmEvalBuildsThem) {
  auto spec = eval::parse_task(kCopa, "copa.toml");
  auto docs = eval::read_docs(write("d.jsonl", "{\"q\": \"Sky?\", \"a\": \"blue\", \"b\": \"red\", \"gold\": 0}\n"
                                                  "{\"q\": \"Grass?\", \"a\": \"red\", \"b\": \"green\", \"gold\": 1}\n"),
                              "");
  spec.num_fewshot = 1;
  spec.fewshot_sampler = "first_n";
  eval::TaskRenderer r(spec);
  // Few-shot from the same file leaves the document itself out.
  auto it = r.item(docs[0], eval::FewshotSampler(spec, docs, true).next(docs[0]));
  EXPECT_EQ(it.contexts, std::vector<std::string>{"Grass? green\n\nSky?"});
  EXPECT_EQ(it.continuations, (std::vector<std::string>{" blue", " red"}));
  EXPECT_EQ(it.gold, 0);
  EXPECT_EQ(r.item(docs[0], eval::FewshotSampler(spec, docs, false).next(docs[0])).contexts[0], "Sky? blue\n\nSky?");
  // multiple_context: a context per choice, one continuation.
  auto wino = eval::parse_task(
      "[task]\nname = \"w\"\nkind = \"multiple_context\"\nchoices_field = \"opts\"\ntext = \"{{ rest }}\"\n"
      "target = \"{{ gold }}\"\n",
      "w.toml");
  auto wd = eval::read_docs(write("w.jsonl", "{\"opts\": [\"A so A\", \"A so B\"], \"rest\": \"won.\", \"gold\": 1}\n"), "");
  auto wi = eval::TaskRenderer(wino).item(wd[0], {});
  EXPECT_EQ(wi.contexts, (std::vector<std::string>{"A so A", "A so B"}));
  EXPECT_EQ(wi.continuations, std::vector<std::string>{" won."});
  EXPECT_EQ(wi.gold, 1);
}

TEST_F(EvalTask, BadTasksAndItemsAreNamed) {
  // A template naming a field the document lacks is an error, not an empty prompt.
  auto docs = eval::read_docs(write("d.jsonl", "{\"x\": 1}\n"), "");
  auto spec = eval::parse_task(kCopa, "copa.toml");
  const std::string e = error_of([&] { eval::TaskRenderer(spec).item(docs[0], {}); });
  EXPECT_NE(e.find(docs[0].where), std::string::npos) << e;
  EXPECT_NE(e.find("' is undefined"), std::string::npos) << e;
  auto dup = eval::read_docs(write("dup.jsonl", "{\"q\": \"?\", \"a\": \"s\", \"b\": \"s\", \"gold\": 0}\n"), "");
  EXPECT_NE(error_of([&] { eval::TaskRenderer(spec).item(dup[0], {}); }).find("the same"), std::string::npos);
  // A repeated wrong option (as in ARC-Easy's published file) is scored, as lm-eval scores it.
  const auto three = eval::parse_task(
      "[task]\nname = \"c3\"\ntext = \"{{ q }}\"\nchoices = [\"{{ a }}\", \"{{ b }}\", \"{{ c }}\"]\n"
      "target = \"{{ gold }}\"\n",
      "c3.toml");
  auto dup_wrong = eval::read_docs(write("dw.jsonl", "{\"q\": \"?\", \"a\": \"s\", \"b\": \"s\", \"c\": \"t\", \"gold\": 2}\n"), "");
  const auto dw = eval::TaskRenderer(three).item(dup_wrong[0], {});
  EXPECT_EQ(dw.gold, 2);
  EXPECT_EQ(dw.continuations.size(), 3u);
  auto range = eval::read_docs(write("r.jsonl", "{\"q\": \"?\", \"a\": \"s\", \"b\": \"t\", \"gold\": 2}\n"), "");
  EXPECT_NE(error_of([&] { eval::TaskRenderer(spec).item(range[0], {}); }).find("out of range"), std::string::npos);
  EXPECT_NE(error_of([&] { eval::parse_task(std::string(kCopa) + "bogus = 1\n", "t.toml"); }).find("bogus"),
            std::string::npos);
  EXPECT_NE(error_of([&] { eval::parse_task("[task]\nname = \"t\"\ntext = \"{{ x\"\nchoices = [\"a\"]\ntarget = \"0\"\n",
                                            "t.toml"); })
                .find("t.toml [task] text"),
            std::string::npos);
  EXPECT_THROW(eval::load_task("no_such_task"), Error);
  EXPECT_EQ(eval::load_task("kobest_copa").name, "kobest_copa");
}

TEST_F(EvalTask, RandomFewshotSamplerAsLmEval) {
  // 24 documents d0..d23; lm-eval's ContextSampler with Random(1234): the first document
  // draws sample(range(24), 4) = [14, 3, 0, 2] and, being in the pool itself (d0), drops
  // index 0; the next draws [18, 1, 21, 22] (printed by CPython 3.11, as pyrandom_test).
  std::string text;
  for (int i = 0; i < 24; ++i) text += fmt::format("{{\"q\": \"d{}\", \"a\": \"x\", \"b\": \"y\", \"gold\": 0}}\n", i);
  auto docs = eval::read_docs(write("d.jsonl", text), "");
  auto spec = eval::parse_task(kCopa, "copa.toml");
  spec.num_fewshot = 3;
  EXPECT_EQ(spec.fewshot_sampler, "random");
  eval::FewshotSampler same(spec, docs, true);
  auto names = [](const std::vector<const eval::Doc*>& ex) {
    std::vector<std::string> out;
    for (const auto* d : ex) out.push_back(d->fields["q"]);
    return out;
  };
  EXPECT_EQ(names(same.next(docs[0])), (std::vector<std::string>{"d14", "d3", "d2"}));
  EXPECT_EQ(names(same.next(docs[1])), (std::vector<std::string>{"d18", "d21", "d22"}));
  // Another file: n draws, nothing dropped.
  eval::FewshotSampler other(spec, docs, false);
  EXPECT_EQ(names(other.next(docs[0])), (std::vector<std::string>{"d14", "d3", "d0"}));
  spec.num_fewshot = 24;
  EXPECT_NE(error_of([&] { eval::FewshotSampler(spec, docs, true).next(docs[0]); }).find("24 few-shot examples wanted"),
            std::string::npos);
}

TEST_F(EvalTask, GenerationTaskItemsAndFilters) {
  auto gsm = eval::load_task("gsm8k");
  EXPECT_EQ(gsm.kind, "generate_until");
  ASSERT_EQ(gsm.filters.size(), 2u);
  EXPECT_EQ(gsm.filters[0].name, "strict-match");  // file order, not TOML's name order
  EXPECT_EQ(gsm.filters[1].group_select, -1);
  auto docs = eval::read_docs(write("g.jsonl", "{\"question\": \"1+1?\", \"answer\": \"It is 2.\\n#### 2\"}\n"
                                                  "{\"question\": \"2+3?\", \"answer\": \"#### 5\"}\n"),
                              "");
  gsm.num_fewshot = 1;
  auto it = eval::TaskRenderer(gsm).item(docs[1], {&docs[0]});
  EXPECT_EQ(it.contexts[0], "Question: 1+1?\nAnswer: It is 2.\n#### 2\n\nQuestion: 2+3?\nAnswer:");
  EXPECT_EQ(it.reference, "#### 5");
  EXPECT_TRUE(it.choices.empty());
  EXPECT_NE(error_of([&] { eval::parse_task("[task]\nname = \"g\"\nkind = \"generate_until\"\ntext = \"x\"\n"
                                            "target = \"y\"\n[task.filters.f]\nregex = \"(?P<n>1)\"\n", "g.toml"); })
                .find("g.toml [task.filters.f] regex"),
            std::string::npos);
  EXPECT_NE(error_of([&] { eval::parse_task(std::string(kCopa) + "until = [\"Q\"]\n", "t.toml"); }).find("generate_until"),
            std::string::npos);
}

TEST_F(EvalTask, ParagraphsOfPlainTextAndRollingMetrics) {
  const auto txt = write("ko.txt", "\xEF\xBB\xBF첫 문단\r\n둘째 줄\r\n\r\n  \n\nsecond  paragraph \n");
  auto docs = eval::read_docs(txt, "");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].fields["text"], "첫 문단\n둘째 줄");
  EXPECT_EQ(docs[1].fields["text"], "second  paragraph ");
  EXPECT_EQ(docs[1].where, txt + ":6");
  auto bpb = eval::load_task("bpb");
  EXPECT_EQ(eval::TaskRenderer(bpb).item(docs[0]).contexts[0], "첫 문단\n둘째 줄");
  // len(re.split(r"\s+", s)) in Python: 3, 3, 1, 2 (a trailing space makes an empty piece).
  EXPECT_EQ(eval::count_words("첫 문단\n둘째"), 3);
  EXPECT_EQ(eval::count_words("second  paragraph "), 3);
  EXPECT_EQ(eval::count_words(""), 1);
  EXPECT_EQ(eval::count_words("a\u3000b"), 2);
  auto m = eval::rolling_metrics({{-10, 2, 5}, {-6, 2, 3}},
                                 {"word_perplexity", "byte_perplexity", "bits_per_byte"});
  EXPECT_DOUBLE_EQ(m[0].value, std::exp(16.0 / 4));
  EXPECT_DOUBLE_EQ(m[1].value, std::exp(16.0 / 8));
  EXPECT_DOUBLE_EQ(m[2].value, 16.0 / 8 / std::log(2.0));
  EXPECT_FALSE(m[2].stderr_of_mean.has_value());
}

TEST(EvalMetrics, AccAccNormAndMacroF1AsLmEval) {
  // Item 1: gold 1 wins on raw log-likelihood; item 2: gold 0 loses raw, wins per character.
  std::vector<eval::ChoiceOutcome> o = {{{-5, -3}, {2, 2}, 1}, {{-6, -4}, {12, 2}, 0}, {{-1, -1}, {1, 1}, 1}};
  auto m = eval::multiple_choice_metrics(o, {"acc", "acc_norm", "f1"});
  EXPECT_DOUBLE_EQ(m[0].value, 1.0 / 3);       // ties go to the first option
  EXPECT_DOUBLE_EQ(m[1].value, 2.0 / 3);
  EXPECT_NEAR(*m[0].stderr_of_mean, 0.3333333, 1e-6);  // sample std (n-1) / sqrt(n)
  // preds (acc) 1, 1, 0 vs golds 1, 0, 1: label 0 F1 0, label 1 F1 0.5 → macro 0.25.
  EXPECT_DOUBLE_EQ(m[2].value, 0.25);
  EXPECT_FALSE(m[2].stderr_of_mean.has_value());
}

TEST(EvalBuiltins, KoreanBenchmarksRenderAsLmEvalOverThePublishersColumns) {
  // Expected contexts printed by lm-eval 0.4.13 on the same fixture rows (kmmlu: its
  // template through lm_eval.utils.apply_template; csatqa: csatqa.utils.process_docs).
  const std::string dir = std::string(KORMO_TEST_DIR) + "/fixtures/eval/";
  auto first = [&](const std::string& task, const std::string& file) {
    const auto spec = eval::load_task(task);
    return eval::TaskRenderer(spec).item(eval::read_docs(dir + file, spec.format)[0]);
  };
  auto k = first("kmmlu", "kmmlu_Accounting-test.csv");
  EXPECT_EQ(k.contexts[0], "재무상태표에 표시되는 항목은?\nA. 자산\nB. 수익\nC. 비용\nD. 배당, 이익\n정답：");
  EXPECT_EQ(k.continuations, (std::vector<std::string>{" A", " B", " C", " D"}));
  EXPECT_EQ(k.gold, 0);
  auto c = first("csatqa", "csatqa_gr.jsonl");
  EXPECT_EQ(c.contexts[0],
            "다음을 읽고 정답으로 알맞은 것을 고르시요.\n### Context: 지문이다.\n### Question: 옳은 것은?\n### "
            "Options:\n(1) 가\n(2) 나\n(3) 다\n(4) 라\n(5) 마\n### Answer: 주어진 문제의 정답은");
  EXPECT_EQ(c.gold, 2);
  auto h = first("haerae", "haerae_general_knowledge.jsonl");
  EXPECT_EQ(h.contexts[0], "다음 중 수도는? (A) 서울 (B) 부산 (C) 대구 (D) 인천 (E) 광주");
  EXPECT_EQ(h.continuations[0], " (A)");
  EXPECT_EQ(h.gold, 0);  // the target "(A)" is one of the choices
  EXPECT_EQ(eval::load_task("kmmlu").group, "kmmlu");
}

TEST(EvalBuiltins, MmluSubjectsInLmEvalsCategories) {
  const auto spec = eval::load_task("mmlu");
  const eval::TaskRenderer r(spec);
  auto of = [&](const std::string& stem) { return r.subgroup(eval::Doc{{}, "x.csv:2", stem}); };
  EXPECT_EQ(of("anatomy_dev"), "mmlu_stem");
  EXPECT_EQ(of("philosophy_test"), "mmlu_humanities");
  EXPECT_EQ(of("high_school_government_and_politics_val"), "mmlu_social_sciences");
  EXPECT_EQ(of("virology"), "mmlu_other");
  EXPECT_EQ(of("my_own_subject_dev"), "");  // not one of the 57: mmlu only
  EXPECT_EQ(eval::TaskRenderer(eval::load_task("kmmlu")).subgroup(eval::Doc{{}, "x.csv:2", "Accounting-test"}), "");
  EXPECT_NE(error_of([&] { eval::parse_task(std::string(kCopa) + "subgroup = \"x\"\n", "t.toml"); }).find("subgroup"),
            std::string::npos);
}

TEST_F(EvalTask, EnglishBuiltinsOverLlmFoundryRenderAsLmEval) {
  // Rows in llm-foundry's layout; the expected strings are what lm-eval's definitions
  // (super_glue boolq/copa, commonsense_qa, siqa, lambada_openai) render for the original
  // documents these rows were made from.
  auto item = [&](const std::string& task, const std::string& row) {
    const auto spec = eval::load_task(task);
    return eval::TaskRenderer(spec).item(eval::read_docs(write(task + ".jsonl", row + "\n"), spec.format)[0]);
  };
  auto b = item("boolq", R"({"query": "Passage: P, q.\nQuestion: is it true?", "choices": ["no", "yes"], "gold": 1})");
  EXPECT_EQ(b.contexts[0], "P, q.\nQuestion: is it true?\nAnswer:");
  EXPECT_EQ(b.continuations, (std::vector<std::string>{" no", " yes"}));
  EXPECT_EQ(b.gold, 1);
  // copa: premise[:-1] + " because"; " " + the lower-cased alternative after the delimiter.
  auto c = item("copa", R"({"query": "The man, tired, slept, because", "choices": ["he ran.", "he ate."], "gold": 0})");
  EXPECT_EQ(c.contexts[0], "The man, tired, slept because");
  EXPECT_EQ(c.continuations, (std::vector<std::string>{"  he ran.", "  he ate."}));
  auto q = item("commonsense_qa", R"({"query": "Question: Where?\nChoices:\nA. a\nB. b\nC. c\nD. d\nAnswer:", "choices": ["A", "B", "C", "D"], "gold": 2})");
  EXPECT_EQ(q.contexts[0], "Question: Where?\nA. a\nB. b\nC. c\nD. d\nAnswer:");
  EXPECT_EQ(q.continuations[2], " C");
  auto s = item("siqa", R"({"query": "Context: Tracy stayed.\nQuestion: Why?\nChoices:\nA. to rest\nB. Find a way\nAnswer:", "choices": ["A", "B"], "gold": 1})");
  EXPECT_EQ(s.contexts[0], "Q: Tracy stayed. Why?\nA:");
  EXPECT_EQ(s.continuations, (std::vector<std::string>{" to rest", " Find a way"}));
  EXPECT_EQ(s.gold, 1);
  auto l = item("lambada", R"({"context": "He looked at the", "continuation": "sky"})");
  EXPECT_EQ(l.contexts[0], "He looked at the");
  EXPECT_EQ(l.continuations, (std::vector<std::string>{" sky"}));
  EXPECT_TRUE(l.choices.empty());
  EXPECT_EQ(eval::load_task("lambada").metrics, (std::vector<std::string>{"perplexity", "acc"}));
  // A file in another layout is refused on its first row, naming it.
  const auto other = write("other.jsonl", R"({"query": "no passage label", "choices": ["no", "yes"], "gold": 0})" "\n");
  EXPECT_NE(error_of([&] { eval::TaskRenderer(eval::load_task("boolq")).item(eval::read_docs(other, "")[0]); })
                .find(other + ":1"),
            std::string::npos);
  EXPECT_NE(error_of([&] { item("lambada", R"({"context": "x", "text": "y"})"); }).find("lambada.jsonl:1"),
            std::string::npos);
  const auto ll = eval::parse_task("[task]\nname = \"l\"\nkind = \"loglikelihood\"\ntext = \"{{ a }}\"\ntarget = \"{{ b }}\"\n", "l.toml");
  EXPECT_NE(error_of([&] { eval::TaskRenderer(ll).item(eval::Doc{{{"a", "x"}, {"b", ""}}, "d.jsonl:2", ""}); })
                .find("d.jsonl:2: the target (the continuation scored) is empty"),
            std::string::npos);
}

TEST_F(EvalTask, ClickChoicesAsAListTemplate) {
  // CLIcK JSON rows; expected contexts from lm_eval.tasks.click.click_lang.utils.get_context.
  const auto f = write("click.json",
                       R"([{"id": "KIIP_economy_1", "paragraph": "", "question": "화폐 단위는?", "choices": ["원", "엔", "달러", "위안"], "answer": "원"},
 {"id": "CSAT_korean_22_5", "paragraph": "지문.", "question": "옳은 것은?", "choices": ["가", "나", "다", "라", "마"], "answer": "마"}])");
  const auto spec = eval::load_task("click");
  auto docs = eval::read_docs(f, spec.format);
  eval::TaskRenderer r(spec);
  auto a = r.item(docs[0]);
  EXPECT_EQ(a.contexts[0], "주어진 질문을 천천히 읽고, 적절한 정답을 A, B, C, D 중에 골라 알파벳 하나로 답하시오.\n\n"
                           "질문: 화폐 단위는?\n보기:\nA:원, B: 엔, C: 달러, D: 위안\n정답:");
  EXPECT_EQ(a.choices, (std::vector<std::string>{"A", "B", "C", "D"}));
  EXPECT_EQ(a.gold, 0);
  auto b = r.item(docs[1]);
  EXPECT_EQ(b.contexts[0], "주어진 맥락을 천천히 읽고, 질문에 대한 적절한 정답을 A, B, C, D 중에 골라 알파벳 하나로 답하시오.\n\n"
                           "맥락: 지문.\n질문: 옳은 것은?\n보기:\nA:가, B: 나, C: 다, D: 라\n정답:");
  EXPECT_EQ(b.choices.size(), 5u);  // CSAT: A-E, though the prompt lists four
  EXPECT_EQ(b.gold, 4);
  docs[0].fields["answer"] = "없음";
  EXPECT_NE(error_of([&] { r.item(docs[0]); }).find("answer is not one of the choices"), std::string::npos);
  EXPECT_NE(error_of([&] {
              eval::TaskRenderer(eval::parse_task("[task]\nname = \"l\"\ntext = \"x\"\nchoices = \"{{ a }}\"\ntarget = \"0\"\n", "l.toml"))
                  .item(eval::Doc{{{"a", "A"}}, "d.jsonl:3", ""});
            }).find("d.jsonl:3: choices rendered 'A', not a JSON list"),
            std::string::npos);
}

TEST_F(EvalTask, KorquadReadsSquadJsonWithEveryAnswer) {
  const auto f = write("korquad.json", R"({"version": "KorQuAD_v1.0_dev", "data": [{"title": "한글", "paragraphs": [
    {"context": "한글은 1443년에 창제되었다.", "qas": [
      {"id": "q1", "question": "한글은 언제 창제되었나?", "answers": [{"text": "1443년", "answer_start": 4}, {"text": "1443년에", "answer_start": 4}]},
      {"id": "q2", "question": "무엇이 창제되었나?", "answers": [{"text": "한글", "answer_start": 0}]}]}]}]})");
  const auto spec = eval::load_task("korquad");
  EXPECT_EQ(spec.format, "squad");
  auto docs = eval::read_docs(f, spec.format);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1].where, f + ": data[0].paragraphs[0].qas[1]");
  auto it = eval::TaskRenderer(spec).item(docs[0]);
  EXPECT_EQ(it.contexts[0], "제목: 한글\n\n본문: 한글은 1443년에 창제되었다.\n\n질문: 한글은 언제 창제되었나?\n\n답변:");
  EXPECT_EQ(it.references, (std::vector<std::string>{"1443년", "1443년에"}));
  EXPECT_EQ(spec.until, (std::vector<std::string>{"\n"}));
  const auto bad = write("bad.json", R"({"data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [{"id": "x", "answers": []}]}]}]})");
  EXPECT_NE(error_of([&] { eval::read_docs(bad, "squad"); }).find("data[0].paragraphs[0].qas[0]: field 'question'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { eval::parse_task("[task]\nname = \"k\"\nkind = \"generate_until\"\ntext = \"x\"\ntarget = \"y\"\n"
                                            "answer_normalization = \"squad\"\n", "k.toml"); })
                .find("answer_normalization"),
            std::string::npos);
  EXPECT_NE(error_of([&] { eval::parse_task(std::string(kCopa) + "metrics = [\"perplexity\"]\n", "t.toml"); })
                .find("unknown metric 'perplexity'"),
            std::string::npos);
}

TEST_F(EvalTask, HellaswagPreprocessesAsLmEval) {
  // The fixture is in Hugging Face hellaswag's layout (written for these tests); the expected
  // strings are lm_eval/tasks/hellaswag/utils.py's query and choices for its rows.
  const auto spec = eval::load_task("hellaswag");
  const auto docs = eval::read_docs(std::string(KORMO_TEST_DIR) + "/fixtures/eval/hellaswag_val.jsonl", spec.format);
  ASSERT_EQ(docs.size(), 20u);
  eval::TaskRenderer r(spec);
  auto a = r.item(docs[1]);  // ctx_b.capitalize() lower-cases the rest: "NBA" → "nba"
  EXPECT_EQ(a.contexts[0], "Playing basketball: Two teams run up and down an indoor court while a crowd cheers. The nba player");
  EXPECT_EQ(a.continuations[1], " dribbles past a defender and scores a lay-up.");
  EXPECT_EQ(a.gold, 1);
  auto b = r.item(docs[2]);  // " [title]" → ". ", a leading "[title]" only removed
  EXPECT_EQ(b.contexts[0],
            "Home and Garden: How to repot a cactus. Put on thick gloves. Cactus spines can hurt your hands, so protect "
            "them before you begin.");
  EXPECT_EQ(b.choices[3], " Loosen the soil around the pot's edge. Run a butter knife along the inside of the pot so the "
                          "roots come free.");
  EXPECT_EQ(b.continuations[3], "  Loosen the soil around the pot's edge. Run a butter knife along the inside of the pot "
                                "so the roots come free.");
  EXPECT_EQ(b.gold, 3);
  auto c = r.item(docs[14]);  // "[[and socks]]": the shortest match leaves "]"
  EXPECT_EQ(c.contexts[0], "Sports and Fitness: How to start running. Buy comfortable shoes. Good shoes ] prevent blisters.");
  auto d = r.item(docs[16]);  // a ctx_b starting with "[title]", capitalized after its "["
  EXPECT_EQ(d.contexts[0],
            "Travel: How to pack a suitcase. Make a list. Write down everything you need before packing.. roll your clothes.");
  EXPECT_EQ(d.choices[0], " Throw the list away.. Pack only hats.");
  auto e = r.item(docs[18]);  // three spaces: one pass of replace("  ", " ") leaves two
  EXPECT_EQ(e.choices[0], " Set a monthly budget.  Base it on what you noted.");
  // The original repository's files have an integer label.
  auto doc = docs[0];
  doc.fields["label"] = 2;
  EXPECT_EQ(r.item(doc).gold, 2);
  doc.fields.erase("ctx_b");
  EXPECT_NE(error_of([&] { r.item(doc); }).find("hellaswag_val.jsonl:1: built-in hellaswag.toml [task] text: line 1, "
                                                "column 51: 'ctx_b' is undefined (the document's fields: ind, "
                                                "activity_label, ctx_a, ctx, endings, source_id, split, split_type, label)"),
            std::string::npos);
  // regex_replace's errors name the template's place.
  const auto bad = eval::parse_task(
      "[task]\nname = \"x\"\ntext = '{{ q | regex_replace(\"(\", \"\") }}'\nchoices = [\"a\", \"b\"]\ntarget = \"0\"\n", "x.toml");
  EXPECT_NE(error_of([&] { eval::TaskRenderer(bad).item(eval::Doc{{{"q", "x"}}, "d.jsonl:4", ""}); })
                .find("d.jsonl:4: x.toml [task] text: line 1, column"),
            std::string::npos)
      << error_of([&] { eval::TaskRenderer(bad).item(eval::Doc{{{"q", "x"}}, "d.jsonl:4", ""}); });
}

}  // namespace task_test
