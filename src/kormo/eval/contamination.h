// Contamination check: how many of a task's items overlap the training documents, by the
// data stage's decontamination rule (kormo data decontam: data::DecontamIndex, its
// normalisation and its word / Hangul-character n-grams).
//
// Promises:
//  - An item's segments are the string values of its document (every field, nested lists
//    and objects included), as the data stage reads an evaluation file's records; an item
//    overlaps when one n-gram of one of its segments occurs in a training document.
//  - Items none of whose segments is long enough for the rule cannot be checked; they are
//    counted apart (`checkable` says how many could be).
//  - Training documents are JSON Lines (plain or .zst) with a "text" field, as the data
//    stage writes them; a line that is not such a document is an error naming file:line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kormo/eval/evaluate.h"

namespace kormo::eval {

struct TaskContamination {
  std::string task;
  int64_t items = 0, checkable = 0, overlapping = 0;
  std::vector<int64_t> overlapping_ids;  // doc_id (position among the scored items)
};

struct ContaminationReport {
  std::vector<std::string> train_files;
  int64_t train_docs = 0;
  int ngram = 0, min_words = 0, hangul_chars = 0, min_hangul_chars = 0;  // the rule (data stage defaults)
  std::vector<TaskContamination> tasks;
};

// `runs` as evaluate_task reads them (their documents, under their limit); result names as
// the results' (TaskRun::spec.name).
ContaminationReport check_contamination(const std::vector<TaskRun>& runs, const std::vector<std::string>& train_files);

nlohmann::ordered_json contamination_json(const ContaminationReport& r);
// | task | items | checkable | overlapping | share |
std::string contamination_table(const ContaminationReport& r);

}  // namespace kormo::eval
