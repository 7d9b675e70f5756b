#include "kormo/eval/contamination.h"

#include <unordered_set>

#include <fmt/format.h>

#include "kormo/data/decontam.h"
#include "kormo/data/document.h"
#include "kormo/util/error.h"

namespace kormo::eval {

namespace {

void strings_of(const nlohmann::ordered_json& j, std::vector<std::string>& out) {
  if (j.is_string()) out.push_back(j.get<std::string>());
  else if (j.is_array() || j.is_object())
    for (const auto& v : j) strings_of(v, out);
}

}  // namespace

ContaminationReport check_contamination(const std::vector<TaskRun>& runs, const std::vector<std::string>& train_files) {
  data::DecontamIndex index;
  ContaminationReport report;
  report.train_files = train_files;
  const data::DecontamOptions& o = index.options();
  report.ngram = o.ngram, report.min_words = o.min_words, report.hangul_chars = o.hangul_chars,
  report.min_hangul_chars = o.min_hangul_chars;
  // Per task, per item: the n-grams of its segments.
  std::vector<std::vector<std::vector<uint64_t>>> grams(runs.size());
  for (size_t t = 0; t < runs.size(); ++t) {
    std::vector<Doc> docs = read_docs(runs[t].data, runs[t].spec.format);
    if (runs[t].limit > 0 && static_cast<int64_t>(docs.size()) > runs[t].limit) docs.resize(static_cast<size_t>(runs[t].limit));
    TaskContamination c{runs[t].spec.name, static_cast<int64_t>(docs.size()), 0, 0, {}};
    for (const Doc& d : docs) {
      std::vector<std::string> segments;
      strings_of(d.fields, segments);
      std::vector<uint64_t> item;
      for (const auto& s : segments) {
        if (!index.add_segment(s, 0)) continue;
        auto g = index.segment_ngrams(s);
        item.insert(item.end(), g.begin(), g.end());
      }
      c.checkable += !item.empty();
      grams[t].push_back(std::move(item));
    }
    report.tasks.push_back(std::move(c));
  }
  std::unordered_set<uint64_t> found;
  data::for_each_document(
      train_files, "text",
      [&](data::Document& doc) {
        ++report.train_docs;
        index.collect_matches(doc.text, found);
      },
      [](const std::string& where, const std::string& why) {
        fail("{}: not a training document ({}; expected JSON Lines with a \"text\" field, as kormo data writes)",
             where, why);
      });
  for (size_t t = 0; t < runs.size(); ++t)
    for (size_t i = 0; i < grams[t].size(); ++i)
      for (uint64_t g : grams[t][i])
        if (found.count(g)) {
          ++report.tasks[t].overlapping;
          report.tasks[t].overlapping_ids.push_back(static_cast<int64_t>(i));
          break;
        }
  return report;
}

nlohmann::ordered_json contamination_json(const ContaminationReport& r) {
  nlohmann::ordered_json tasks = nlohmann::ordered_json::object();
  for (const auto& t : r.tasks)
    tasks[t.task] = {{"items", t.items}, {"checkable", t.checkable}, {"overlapping", t.overlapping},
                     {"overlapping_doc_ids", t.overlapping_ids}};
  return {{"train_files", r.train_files},
          {"train_docs", r.train_docs},
          {"rule", {{"ngram", r.ngram}, {"min_words", r.min_words}, {"hangul_chars", r.hangul_chars},
                    {"min_hangul_chars", r.min_hangul_chars}}},
          {"tasks", std::move(tasks)}};
}

std::string contamination_table(const ContaminationReport& r) {
  std::string out = fmt::format("\nContamination ({} training documents):\n\n| task | items | checkable | overlapping | share |\n"
                                "|---|---:|---:|---:|---:|\n", r.train_docs);
  for (const auto& t : r.tasks)
    out += fmt::format("| {} | {} | {} | {} | {:.2f}% |\n", t.task, t.items, t.checkable, t.overlapping,
                       t.items > 0 ? 100.0 * static_cast<double>(t.overlapping) / static_cast<double>(t.items) : 0.0);
  return out;
}

}  // namespace kormo::eval
