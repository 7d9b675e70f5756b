#include "kormo/eval/evaluate.h"

#include <gtest/gtest.h>

using namespace kormo;

namespace {

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

}  // namespace

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
