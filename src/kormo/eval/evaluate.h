// Running tasks over a model and reporting the results in lm-evaluation-harness's layout.
//
// Promises:
//  - evaluate_task() reads the task's documents, builds every item (errors name the
//    document's file:line; few-shot examples from FewshotSampler in file order), scores
//    or generates all of them in one Scorer call and computes the task's metrics; items
//    keep the file's order. generate_until: each filter (lm-eval's regex + take_first)
//    extracts an answer from the generation, and exact_match is computed per filter
//    (results key "exact_match,FILTER"; "none" without filters), over the best of the
//    references when the task names a references_field. kind "loglikelihood": acc = the
//    share of continuations that are greedy, perplexity = exp(−mean log-likelihood) (no
//    standard error: lm-eval's is a bootstrap).
//  - results_json() has lm-evaluation-harness's top-level keys (results with
//    "metric,none" and "metric_stderr,none", configs, versions, n-shot, higher_is_better,
//    n-samples), so tools that read lm-eval's results read ours; groups go to "groups"
//    (and to "results", as lm-eval writes them) with the micro average as "METRIC,FILTER"
//    and the macro average as "METRIC_macro,FILTER".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kormo/eval/loglikelihood.h"
#include "kormo/eval/metrics.h"
#include "kormo/eval/task.h"

namespace kormo::eval {

struct TaskRun {
  TaskSpec spec;
  std::string data;          // the documents scored
  std::string fewshot_data;  // where few-shot examples come from (needed when num_fewshot > 0)
  int64_t limit = 0;         // first N documents only (0: all)
};

struct ItemResult {
  Doc doc;
  Item item;
  std::vector<ContinuationScore> scores;
  ChoiceOutcome outcome;
  // generate_until: the generation; per filter, the extracted answer and its exact match.
  std::string generation;
  std::vector<std::string> filtered;
  std::vector<bool> exact_match;
  std::vector<double> f1;  // answer_normalization "korquad": KorQuAD's character F1 per filter
  RollingOutcome rolling;  // rolling: the text's log-likelihood, words and bytes
};

struct TaskResult {
  TaskSpec spec;
  std::vector<ItemResult> items;
  std::vector<MetricValue> metrics;
  std::string subgroup;   // TaskSpec::subgroup as rendered for the file ("" without one)
  int64_t documents = 0;  // in the data file (items.size() is fewer under a limit)
  double seconds = 0;
};

// `progress(done, total)` as items finish.
TaskResult evaluate_task(const TaskRun& run, const Scorer& scorer,
                         const std::function<void(int64_t, int64_t)>& progress = {});

// A group's averages over its results (TaskSpec::group; two results or more), per metric
// over the results that have it, as lm-eval's group aggregation: micro = weighted by items
// (weight_by_size, lm-eval's setting for kobest/mmlu/kmmlu) with the pooled standard error
// sqrt(Σ(n−1)·se²·n / (Σn − k) / Σn); macro = the mean of the results with
// sqrt(Σse²)/k. A member without a standard error (f1) makes the group's "N/A".
// Subgroups (TaskResult::subgroup, e.g. mmlu_stem) are groups of their own; a group
// containing subgroups averages over its leaf results, as lm-eval 0.4.13 does.
struct GroupResult {
  std::string name;
  std::vector<std::string> members;
  std::vector<MetricValue> micro, macro;
  int64_t items = 0;
};
std::vector<GroupResult> group_results(const std::vector<TaskResult>& results);

nlohmann::ordered_json results_json(const std::vector<TaskResult>& results, const nlohmann::ordered_json& config);
// One JSON line per item: doc_id, doc, context, choices, gold, loglikelihoods, greedy,
// pred, and each per-item metric.
std::string samples_jsonl(const TaskResult& r);
// | task | metric | value | ± stderr | n |, then a row per group metric (micro and macro).
std::string markdown_table(const std::vector<TaskResult>& results);

}  // namespace kormo::eval
