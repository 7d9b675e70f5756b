#include "kormo/eval/evaluate.h"

#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "kormo/text/utf8.h"
#include "kormo/util/error.h"

namespace kormo::eval {

TaskResult evaluate_task(const TaskRun& run, const Scorer& scorer,
                         const std::function<void(int64_t, int64_t)>& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  TaskResult r;
  r.spec = run.spec;
  std::vector<Doc> docs = read_docs(run.data, run.spec.format);
  r.documents = static_cast<int64_t>(docs.size());
  if (run.limit > 0 && static_cast<int64_t>(docs.size()) > run.limit) docs.resize(static_cast<size_t>(run.limit));
  if (docs.empty()) fail("{}: no documents", run.data);
  std::vector<Doc> fewshot;
  if (run.spec.num_fewshot > 0) {
    if (run.fewshot_data.empty())
      fail_usage("task {} wants {} few-shot examples: give the file they come from", run.spec.name,
                 run.spec.num_fewshot);
    fewshot = read_docs(run.fewshot_data, run.spec.format);
  }
  const bool same_file = !fewshot.empty() && std::filesystem::equivalent(run.data, run.fewshot_data);
  TaskRenderer renderer(run.spec);
  std::vector<LoglikelihoodRequest> requests;
  for (auto& d : docs) {
    ItemResult ir{std::move(d), {}, {}, {}};
    ir.item = renderer.item(ir.doc, fewshot, same_file);
    requests.push_back({ir.item.contexts, ir.item.continuations});
    r.items.push_back(std::move(ir));
  }
  const int64_t total = static_cast<int64_t>(requests.size());
  auto scores = scorer.score(requests, [&](int64_t done) {
    if (progress) progress(done, total);
  });
  std::vector<ChoiceOutcome> outcomes;
  for (size_t i = 0; i < r.items.size(); ++i) {
    ItemResult& ir = r.items[i];
    ir.scores = std::move(scores[i]);
    ir.outcome.gold = ir.item.gold;
    for (size_t j = 0; j < ir.scores.size(); ++j) {
      ir.outcome.loglikelihoods.push_back(ir.scores[j].loglikelihood);
      ir.outcome.choice_chars.push_back(static_cast<int64_t>(text::count_code_points(ir.item.choices[j])));
    }
    outcomes.push_back(ir.outcome);
  }
  r.metrics = multiple_choice_metrics(outcomes, run.spec.metrics);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

nlohmann::ordered_json results_json(const std::vector<TaskResult>& results, const nlohmann::ordered_json& config) {
  using ojson = nlohmann::ordered_json;
  ojson out = {{"results", ojson::object()}, {"configs", ojson::object()},        {"versions", ojson::object()},
               {"n-shot", ojson::object()},  {"higher_is_better", ojson::object()}, {"n-samples", ojson::object()},
               {"config", config}};
  for (const auto& r : results) {
    const std::string& n = r.spec.name;
    ojson res = {{"alias", n}};
    ojson better = ojson::object();
    for (const auto& m : r.metrics) {
      res[m.name + ",none"] = m.value;
      if (m.stderr_of_mean) res[m.name + "_stderr,none"] = *m.stderr_of_mean;
      else res[m.name + "_stderr,none"] = "N/A";
      better[m.name] = true;
    }
    out["results"][n] = std::move(res);
    out["configs"][n] = {{"task", n},
                         {"source", r.spec.origin},
                         {"output_type", r.spec.kind},
                         {"description", r.spec.description},
                         {"doc_to_text", r.spec.text},
                         {"doc_to_target", r.spec.target},
                         {"doc_to_choice", r.spec.choices_field.empty() ? ojson(r.spec.choices) : ojson(r.spec.choices_field)},
                         {"target_delimiter", r.spec.target_delimiter},
                         {"fewshot_delimiter", r.spec.fewshot_delimiter},
                         {"num_fewshot", r.spec.num_fewshot},
                         {"metric_list", r.spec.metrics}};
    out["versions"][n] = r.spec.version;
    out["n-shot"][n] = r.spec.num_fewshot;
    out["higher_is_better"][n] = std::move(better);
    out["n-samples"][n] = {{"original", r.documents}, {"effective", r.items.size()}};
  }
  return out;
}

std::string samples_jsonl(const TaskResult& r) {
  std::string out;
  for (size_t i = 0; i < r.items.size(); ++i) {
    const ItemResult& ir = r.items[i];
    nlohmann::ordered_json j = {{"doc_id", i}, {"where", ir.doc.where}, {"doc", ir.doc.fields},
                                {"contexts", ir.item.contexts}, {"continuations", ir.item.continuations},
                                {"choices", ir.item.choices},
                                {"gold", ir.item.gold}};
    nlohmann::ordered_json ll = nlohmann::ordered_json::array(), greedy = nlohmann::ordered_json::array();
    for (const auto& s : ir.scores) ll.push_back(s.loglikelihood), greedy.push_back(s.greedy);
    j["loglikelihoods"] = std::move(ll);
    j["greedy"] = std::move(greedy);
    j["pred"] = predicted(ir.outcome);
    for (const auto& m : r.spec.metrics) {
      if (m == "acc") j["acc"] = predicted(ir.outcome) == ir.item.gold ? 1 : 0;
      if (m == "acc_norm") j["acc_norm"] = predicted_norm(ir.outcome) == ir.item.gold ? 1 : 0;
    }
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
  }
  return out;
}

std::string markdown_table(const std::vector<TaskResult>& results) {
  std::string out = "| task | metric | value | ± stderr | n |\n|---|---|---:|---:|---:|\n";
  for (const auto& r : results)
    for (const auto& m : r.metrics)
      out += fmt::format("| {} | {} | {:.4f} | {} | {} |\n", r.spec.name, m.name, m.value,
                         m.stderr_of_mean ? fmt::format("{:.4f}", *m.stderr_of_mean) : "N/A", r.items.size());
  return out;
}

}  // namespace kormo::eval
