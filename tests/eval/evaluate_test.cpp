#include "kormo/eval/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "../temp_dir.h"
#include "kormo/eval/contamination.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

using namespace kormo;

namespace evaluate_test {

// Scores and generations given by the test: a continuation's log-likelihood and greedy flag
// by its text; a generation by its context.
class FakeScorer : public eval::Scorer {
 public:
  std::map<std::string, eval::ContinuationScore> scores;
  std::map<std::string, std::string> generations;
  std::vector<std::vector<eval::ContinuationScore>> score(std::span<const eval::LoglikelihoodRequest> items,
                                                          const std::function<void(int64_t)>&) const override {
    std::vector<std::vector<eval::ContinuationScore>> out;
    for (const auto& r : items) {
      out.emplace_back();
      for (size_t j = 0; j < r.size(); ++j) out.back().push_back(scores.at(r.continuation(j)));
    }
    return out;
  }
  std::vector<std::string> generate(std::span<const eval::GenerationRequest> requests,
                                    const std::function<void(int64_t)>&) const override {
    std::vector<std::string> out;
    for (const auto& r : requests) out.push_back(generations.at(r.context));
    return out;
  }
  std::vector<eval::ContinuationScore> score_rolling(std::span<const std::string>,
                                                     const std::function<void(int64_t)>&) const override {
    return {};
  }
};

class EvalRun : public TempDirTest {};

eval::TaskResult result(const std::string& name, const std::string& group, size_t n, double acc, double se,
                        bool with_f1) {
  eval::TaskResult r;
  r.spec.name = name;
  r.spec.group = group;
  r.items.resize(n);
  r.metrics.push_back({"acc", acc, se, "none"});
  if (with_f1) r.metrics.push_back({"f1", acc / 2, std::nullopt, "none"});
  return r;
}

TEST(EvalGroups, MicroAndMacroAsLmEvalAggregatesThem) {
  // Expected values from lm-eval 0.4.13's own functions:
  //   aggregate_subtask_metrics([.5, .75, .25], [4, 8, 10], True/False),
  //   pooled_sample_stderr([.3, .15, .14], [4, 8, 10]), unweighted_mean_stderr([.3, .15, .14]).
  std::vector<eval::TaskResult> rs = {result("kobest_a", "kobest", 4, 0.5, 0.3, true),
                                      result("other", "", 3, 1.0, 0.0, false),
                                      result("kobest_b", "kobest", 8, 0.75, 0.15, true),
                                      result("kobest_c", "kobest", 10, 0.25, 0.14, false),
                                      result("mmlu_x", "mmlu", 5, 0.4, 0.2, false)};  // alone: no group
  auto groups = eval::group_results(rs);
  ASSERT_EQ(groups.size(), 1u);
  const auto& g = groups[0];
  EXPECT_EQ(g.members, (std::vector<std::string>{"kobest_a", "kobest_b", "kobest_c"}));
  EXPECT_EQ(g.items, 22);
  ASSERT_EQ(g.micro.size(), 2u);
  EXPECT_NEAR(g.micro[0].value, 0.4772727272727273, 1e-15);
  EXPECT_NEAR(*g.micro[0].stderr_of_mean, 0.09908673886137245, 1e-15);
  EXPECT_NEAR(g.macro[0].value, 0.5, 1e-15);
  EXPECT_NEAR(*g.macro[0].stderr_of_mean, 0.12115187896924166, 1e-15);
  // f1 over the two results that have it; without standard errors the group has none.
  EXPECT_EQ(g.micro[1].name, "f1");
  EXPECT_NEAR(g.micro[1].value, (0.25 * 4 + 0.375 * 8) / 12, 1e-15);
  EXPECT_FALSE(g.micro[1].stderr_of_mean.has_value());
  auto j = eval::results_json(rs, {});
  EXPECT_EQ(j["groups"]["kobest"]["acc,none"], g.micro[0].value);
  EXPECT_EQ(j["groups"]["kobest"]["acc_macro,none"], 0.5);
  EXPECT_EQ(j["groups"]["kobest"]["f1_stderr,none"], "N/A");
  EXPECT_EQ(j["results"].begin().key(), "kobest");  // groups first, as lm-eval
  EXPECT_NE(eval::markdown_table(rs).find("| kobest (group) | acc (macro) | 0.5000 |"), std::string::npos);
}

TEST(EvalGroups, MmluSubjectsNestInCategoriesAveragedOverTheirLeaves) {
  // Expected values from lm-eval 0.4.13's aggregate_subtask_metrics and pooled_sample_stderr
  // over the leaves of each group (its nested groups aggregate from their leaf tasks).
  auto sub = [](const std::string& name, const std::string& subgroup, size_t n, double acc, double se) {
    auto r = result(name, "mmlu", n, acc, se, false);
    r.subgroup = subgroup;
    return r;
  };
  std::vector<eval::TaskResult> rs = {sub("mmlu_anatomy_dev", "mmlu_stem", 4, 0.5, 0.3),
                                      sub("mmlu_philosophy_dev", "mmlu_humanities", 8, 0.75, 0.15),
                                      sub("mmlu_astronomy_dev", "mmlu_stem", 10, 0.25, 0.14)};
  auto groups = eval::group_results(rs);
  ASSERT_EQ(groups.size(), 2u);  // mmlu_humanities has one member: no group of its own
  EXPECT_EQ(groups[0].name, "mmlu");
  EXPECT_NEAR(groups[0].micro[0].value, 0.4772727272727273, 1e-15);  // the three leaves, as a flat group
  EXPECT_NEAR(*groups[0].micro[0].stderr_of_mean, 0.09908673886137245, 1e-15);
  EXPECT_EQ(groups[1].name, "mmlu_stem");
  EXPECT_EQ(groups[1].members, (std::vector<std::string>{"mmlu_anatomy_dev", "mmlu_astronomy_dev"}));
  EXPECT_EQ(groups[1].items, 14);
  // aggregate_subtask_metrics([.5, .25], [4, 10]); pooled_sample_stderr([.3, .14], [4, 10]).
  EXPECT_NEAR(groups[1].micro[0].value, (0.5 * 4 + 0.25 * 10) / 14, 1e-15);
  EXPECT_NEAR(*groups[1].micro[0].stderr_of_mean, std::sqrt((3 * 0.09 * 4 + 9 * 0.0196 * 10) / 12.0 / 14), 1e-15);
  EXPECT_NEAR(groups[1].macro[0].value, 0.375, 1e-15);
  auto j = eval::results_json(rs, {});
  EXPECT_EQ(j["groups"]["mmlu_stem"]["sample_len"], 14);
}

TEST_F(EvalRun, LoglikelihoodTaskAccIsGreedyAndPerplexityOfTheMean) {
  FakeScorer fake;
  fake.scores = {{" sky", {-2.0, true, 1}}, {" sea", {-4.0, false, 1}}};
  const auto data = write("l.jsonl", "{\"context\": \"up\", \"continuation\": \"sky\"}\n"
                                     "{\"context\": \"down\", \"continuation\": \"sea\"}\n");
  auto r = eval::evaluate_task({eval::load_task("lambada"), data, "", 0}, fake);
  ASSERT_EQ(r.metrics.size(), 2u);
  EXPECT_EQ(r.metrics[0].name, "perplexity");
  EXPECT_DOUBLE_EQ(r.metrics[0].value, std::exp(3.0));  // lm-eval: exp(-mean(ll))
  EXPECT_FALSE(r.metrics[0].stderr_of_mean.has_value());
  EXPECT_DOUBLE_EQ(r.metrics[1].value, 0.5);
  EXPECT_NEAR(*r.metrics[1].stderr_of_mean, std::sqrt(0.5) / std::sqrt(2.0), 1e-12);
  auto j = eval::results_json({r}, {});
  EXPECT_EQ(j["higher_is_better"]["lambada"]["perplexity"], false);
  EXPECT_EQ(j["configs"]["lambada"]["output_type"], "loglikelihood");
  EXPECT_NE(eval::samples_jsonl(r).find("\"loglikelihood\":-4.0,\"greedy\":false,\"acc\":0"), std::string::npos);
}

TEST_F(EvalRun, KorquadScoresTheBestAnswerWithTheScriptsRules) {
  FakeScorer fake;
  const auto data = write("k.json", R"({"data": [{"title": "T", "paragraphs": [{"context": "C", "qas": [
    {"id": "1", "question": "A?", "answers": [{"text": "1443년"}, {"text": "1443년에"}]},
    {"id": "2", "question": "B?", "answers": [{"text": "세종대왕"}]}]}]}]})");
  fake.generations = {{"제목: T\n\n본문: C\n\n질문: A?\n\n답변:", " 1443년에"},
                      {"제목: T\n\n본문: C\n\n질문: B?\n\n답변:", " 세종"}};
  auto r = eval::evaluate_task({eval::load_task("korquad"), data, "", 0}, fake);
  ASSERT_EQ(r.metrics.size(), 2u);
  EXPECT_EQ(r.metrics[0].name, "exact_match");
  EXPECT_DOUBLE_EQ(r.metrics[0].value, 0.5);  // the second reference of item 1 matches
  EXPECT_EQ(r.metrics[1].name, "f1");
  EXPECT_DOUBLE_EQ(r.metrics[1].value, (1.0 + 2.0 / 3) / 2);  // "세종" in "세종대왕": P 1, R 1/2
  EXPECT_DOUBLE_EQ(r.items[1].f1[0], 2.0 / 3);
  const std::string samples = eval::samples_jsonl(r);
  EXPECT_NE(samples.find("\"f1\":{\"none\":1.0}"), std::string::npos);
  EXPECT_NE(samples.find("\"references\":[\"1443년\",\"1443년에\"]"), std::string::npos);
}

TEST_F(EvalRun, ContaminationCountsItemsCopiedIntoTrainingDocuments) {
  // Three KoBEST-like rows: the first copied (with different spacing) into a training
  // document, the second's English passage copied into another; the third only shares a
  // few words, under the rule's n-gram lengths.
  const auto data = write("copa.tsv",
                          "ID\tsentence\tquestion\t1\t2\tAnswer\n"
                          "1\t남자는 오늘 아침 일찍 일어나서 공원을 천천히 산책했다.\t결과\t기분이 좋아졌다.\t비가 왔다.\t1\n"
                          "2\tThe committee reviewed every single application that arrived before the deadline last week.\t원인\t가\t나\t2\n"
                          "3\t고양이가 창가에 앉아 밖을 바라보았다.\t원인\t새가 날았다.\t개가 짖었다.\t1\n");
  const auto train = write("curated.jsonl",
                           "{\"id\": \"a\", \"text\": \"머리말. 남자는 오늘아침 일찍 일어나서 공원을 천천히 산책했다. 그 뒤의 이야기.\"}\n"
                           "{\"id\": \"b\", \"text\": \"Minutes: the committee reviewed every single application that arrived before "
                           "the deadline last week, then adjourned.\"}\n"
                           "{\"id\": \"c\", \"text\": \"고양이가 좋다. 창가에 앉아 있었다.\"}\n");
  auto rep = eval::check_contamination({{eval::load_task("kobest_copa"), data, "", 0}}, {train});
  EXPECT_EQ(rep.train_docs, 3);
  ASSERT_EQ(rep.tasks.size(), 1u);
  EXPECT_EQ(rep.tasks[0].items, 3);
  EXPECT_EQ(rep.tasks[0].checkable, 3);
  EXPECT_EQ(rep.tasks[0].overlapping, 2);
  EXPECT_EQ(rep.tasks[0].overlapping_ids, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(eval::contamination_json(rep)["tasks"]["kobest_copa"]["overlapping"], 2);
  EXPECT_NE(eval::contamination_table(rep).find("| kobest_copa | 3 | 3 | 2 | 66.67% |"), std::string::npos);
  // Two items sharing a passage are both counted (the index keeps one owner per n-gram).
  const auto twice = write("twice.tsv", "ID\tsentence\tquestion\t1\t2\tAnswer\n"
                                        "1\t남자는 오늘 아침 일찍 일어나서 공원을 천천히 산책했다.\t결과\t가\t나\t1\n"
                                        "2\t남자는 오늘 아침 일찍 일어나서 공원을 천천히 산책했다.\t원인\t다\t라\t1\n");
  EXPECT_EQ(eval::check_contamination({{eval::load_task("kobest_copa"), twice, "", 0}}, {train}).tasks[0].overlapping, 2);
  const auto bad = write("bad.jsonl", "{\"id\": \"x\"}\n");
  try {
    eval::check_contamination({{eval::load_task("kobest_copa"), data, "", 0}}, {bad});
    FAIL() << "a line without text was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad + ":1"), std::string::npos) << e.what();
  }
}

}  // namespace evaluate_test
