// Evaluation tasks as files: where a task's documents come from and how each document
// becomes a scored item, written as TOML with Jinja templates over the document's fields
// (the language of lm-evaluation-harness's task YAML, so its prompts carry over as text).
//
// Promises:
//  - A task file is checked whole when loaded: unknown keys, a bad kind or metric, and
//    templates that do not parse are errors naming the file (and line for TOML).
//  - Documents are read from JSON Lines, a JSON array, CSV (RFC 4180 quoting) or TSV
//    (tab-separated, no quoting, as the KoBEST files are), each with a header row for the
//    field names; every document remembers its origin ("file:line") for errors.
//  - An item is built as lm-evaluation-harness builds a multiple-choice request:
//    context = description + few-shot examples (each "text + target_delimiter + gold
//    choice", joined and followed by fewshot_delimiter) + text; continuations =
//    target_delimiter + each choice. A target that renders as digits is the gold index,
//    otherwise it must equal one of the choices.
//  - kind "generate_until": the context is built the same way (a few-shot example's
//    answer is its rendered target); the target is the reference answer.
//  - Few-shot examples come from FewshotSampler: lm-eval's default sampler ("random":
//    Python's random.Random(fewshot_seed).sample over the few-shot file, its state
//    carried from document to document in file order; when the few-shot file is the data
//    file it draws n + 1 and drops the document itself) or "first_n" (the first n,
//    without the document itself). Too few documents is an error, as in lm-eval.
//  - kind "multiple_context" (lm-eval's multiple-input tasks, e.g. Winogrande's partial
//    scoring): the choices are contexts, each followed by one shared continuation
//    (target_delimiter + text); the target is the gold index.
//  - kind "loglikelihood" (lm-eval's output_type loglikelihood, e.g. LAMBADA): one
//    context (text) and one continuation (target, as rendered: no delimiter is added);
//    scored by its log-likelihood (perplexity) and whether it is the greedy one (acc).
//  - choices as one template string (lm-eval's doc_to_choice as a Jinja string) renders
//    a JSON list (`| tojson`): items whose number of options differs (CLIcK's 4 or 5).
//  - format "squad": a SQuAD/KorQuAD JSON file ({"data": [{"title", "paragraphs":
//    [{"context", "qas": [{"id", "question", "answers": [{"text"}]}]}]}]}), one document
//    per question with fields title, context, id, question and answers (the texts).
//  - Templates see the document's fields, `doc` (the whole document) and `file_stem` (the
//    data file's name without extension, e.g. MMLU's subject).
//  - Built-in tasks are task files compiled into the binary (src/kormo/eval/tasks/).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kormo/eval/extract.h"
#include "kormo/eval/pyrandom.h"

namespace kormo::eval {

struct TaskSpec {
  std::string name, origin;           // origin: the task file, or "built-in NAME"
  std::string kind = "multiple_choice";  // or "multiple_context", "generate_until", "rolling", "loglikelihood"
  std::string format;                 // jsonl | json | csv | tsv | txt | squad; empty: from the extension
  std::string description;            // template, prepended once
  std::string text, target;           // templates
  std::vector<std::string> choices;   // one template per choice …
  std::string choices_field;          // … or the name of a list field holding them …
  std::string choices_list;           // … or one template rendering a JSON list of them
  std::string target_delimiter = " ", fewshot_delimiter = "\n\n";
  int64_t num_fewshot = 0;
  std::string fewshot_sampler = "random";  // lm-eval's default; or "first_n"
  uint64_t fewshot_seed = 1234;            // lm-eval's fewshot_random_seed
  std::vector<std::string> metrics = {"acc"};  // acc, acc_norm, f1; exact_match, f1 (generate_until); acc, perplexity (loglikelihood)
  // generate_until: stop strings, the most tokens generated, answer extraction
  // ([task.filters.NAME]; none: the whole generation, filter "none") and exact_match's options.
  std::vector<std::string> until;
  int64_t max_gen_toks = 256;
  std::vector<RegexFilterSpec> filters;
  ExactMatchOptions exact_match;
  // generate_until: a list field of reference answers (the best match over them counts, as
  // SQuAD's metric_max_over_ground_truths; else the rendered target is the one reference)
  // and "korquad" to compare as KorQuAD 1.0's script does (its exact match and character F1).
  std::string references_field;
  std::string answer_normalization;
  double version = 1.0;
  std::string about;                  // one line: what the task is, which file format it reads
  std::string group;                  // results of one group are averaged (kobest, mmlu, kmmlu)
  // A template over file_stem naming the group within `group` a result belongs to (lm-eval's
  // nested groups: MMLU's subjects → mmlu_stem, mmlu_humanities, …); empty: none.
  std::string subgroup;
};

// Parses a task file's text; `origin` names it in errors.
TaskSpec parse_task(const std::string& toml_text, const std::string& origin);
// A built-in task by name, or a task file when the argument ends in ".toml".
TaskSpec load_task(const std::string& name_or_file);
// The built-in tasks, sorted by name.
std::vector<TaskSpec> builtin_tasks();

struct Doc {
  nlohmann::ordered_json fields;
  std::string where;      // "file:line"
  std::string file_stem;  // the data file's name without directory and extension
};
// `format` as TaskSpec::format.
std::vector<Doc> read_docs(const std::string& path, const std::string& format);

struct Item {
  std::vector<std::string> contexts;       // one, or one per choice (multiple_context)
  std::vector<std::string> choices;        // as rendered (acc_norm divides by their length)
  std::vector<std::string> continuations;  // target_delimiter + choice, or the shared continuation
  int64_t gold = 0;
  std::string reference;                   // generate_until: the rendered target …
  std::vector<std::string> references;     // … or references_field's answers
};

// Picks each document's few-shot examples, as lm-eval's samplers do (see above). Call
// next() once per evaluated document, in order: the random sampler's state carries over.
class FewshotSampler {
 public:
  // `same_file`: the pool is the evaluated file itself (lm-eval: fewshot split == test split).
  FewshotSampler(const TaskSpec& spec, const std::vector<Doc>& pool, bool same_file);
  std::vector<const Doc*> next(const Doc& doc);

 private:
  const TaskSpec& spec_;
  const std::vector<Doc>& pool_;
  bool same_file_;
  PyRandom rng_;
};

// A task's templates compiled once; builds items from documents.
class TaskRenderer {
 public:
  explicit TaskRenderer(const TaskSpec& spec);
  ~TaskRenderer();
  TaskRenderer(TaskRenderer&&) noexcept;
  // `examples`: the few-shot documents, in order (FewshotSampler::next). Throws Error
  // naming doc.where for a template that fails, no choices, an empty or duplicate choice
  // or a gold index out of range.
  Item item(const Doc& doc, const std::vector<const Doc*>& examples = {}) const;
  // TaskSpec::subgroup rendered for a document of the file ("" without one).
  std::string subgroup(const Doc& doc) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kormo::eval
