#include "kormo/eval/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
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
  r.subgroup = renderer.subgroup(docs[0]);
  FewshotSampler sampler(run.spec, fewshot, same_file);
  for (auto& d : docs) {
    ItemResult ir{std::move(d), {}, {}, {}, {}, {}, {}, {}, {}};
    ir.item = renderer.item(ir.doc, sampler.next(ir.doc));
    r.items.push_back(std::move(ir));
  }
  const int64_t total = static_cast<int64_t>(r.items.size());
  auto report = [&](int64_t done) {
    if (progress) progress(done, total);
  };
  if (run.spec.kind == "rolling") {
    std::vector<std::string> texts;
    for (const auto& ir : r.items) texts.push_back(ir.item.contexts[0]);
    const auto lls = scorer.score_rolling(texts, report);
    std::vector<RollingOutcome> outcomes;
    for (size_t i = 0; i < r.items.size(); ++i) {
      r.items[i].rolling = {lls[i].loglikelihood, count_words(texts[i]), static_cast<int64_t>(texts[i].size())};
      outcomes.push_back(r.items[i].rolling);
    }
    r.metrics = rolling_metrics(outcomes, run.spec.metrics);
  } else if (run.spec.kind == "generate_until") {
    std::vector<GenerationRequest> requests;
    for (const auto& ir : r.items) requests.push_back({ir.item.contexts[0], run.spec.until, run.spec.max_gen_toks});
    auto texts = scorer.generate(requests, report);
    std::vector<PyRegex> regexes;
    for (const auto& f : run.spec.filters)
      regexes.emplace_back(f.regex, fmt::format("{} [task.filters.{}] regex", run.spec.origin, f.name));
    const ExactMatch exact(run.spec.exact_match, run.spec.origin + " [task.exact_match]");
    const bool korquad = run.spec.answer_normalization == "korquad";
    std::vector<std::vector<double>> hits(std::max<size_t>(1, regexes.size())), f1s(hits.size());
    for (size_t i = 0; i < r.items.size(); ++i) {
      ItemResult& ir = r.items[i];
      ir.generation = std::move(texts[i]);
      const std::vector<std::string> refs =
          ir.item.references.empty() ? std::vector<std::string>{ir.item.reference} : ir.item.references;
      for (size_t f = 0; f < hits.size(); ++f) {
        const std::string answer = regexes.empty() ? ir.generation
                                                   : regex_filter(ir.generation, regexes[f],
                                                                  run.spec.filters[f].group_select,
                                                                  run.spec.filters[f].fallback);
        bool hit = false;
        double f1 = 0;
        for (const auto& ref : refs) {
          hit = hit || (korquad ? korquad_exact_match(answer, ref) : exact(answer, ref));
          if (korquad) f1 = std::max(f1, korquad_f1(answer, ref));
        }
        ir.filtered.push_back(answer);
        ir.exact_match.push_back(hit);
        hits[f].push_back(hit ? 1.0 : 0.0);
        if (korquad) ir.f1.push_back(f1), f1s[f].push_back(f1);
      }
    }
    for (size_t f = 0; f < hits.size(); ++f) {
      const std::string filter = regexes.empty() ? "none" : run.spec.filters[f].name;
      for (const auto& m : run.spec.metrics) {
        r.metrics.push_back(mean_with_stderr(m, m == "f1" ? f1s[f] : hits[f]));
        r.metrics.back().filter = filter;
      }
    }
  } else if (run.spec.kind == "loglikelihood") {
    std::vector<LoglikelihoodRequest> requests;
    for (const auto& ir : r.items) requests.push_back({ir.item.contexts, ir.item.continuations});
    auto scores = scorer.score(requests, report);
    std::vector<double> greedy;
    double ll = 0;
    for (size_t i = 0; i < r.items.size(); ++i) {
      r.items[i].scores = std::move(scores[i]);
      greedy.push_back(r.items[i].scores[0].greedy ? 1.0 : 0.0);
      ll += r.items[i].scores[0].loglikelihood;
    }
    for (const auto& m : run.spec.metrics)
      r.metrics.push_back(m == "acc" ? mean_with_stderr("acc", greedy)
                                     : MetricValue{"perplexity", std::exp(-ll / static_cast<double>(greedy.size())),
                                                   std::nullopt});
  } else {
    std::vector<LoglikelihoodRequest> requests;
    for (const auto& ir : r.items) requests.push_back({ir.item.contexts, ir.item.continuations});
    auto scores = scorer.score(requests, report);
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
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::vector<GroupResult> group_results(const std::vector<TaskResult>& results) {
  std::vector<GroupResult> out;
  auto in = [](const TaskResult& r, const std::string& group) {
    return !group.empty() && (r.spec.group == group || r.subgroup == group);
  };
  for (const auto& r : results) {
    for (const std::string* name : {&r.spec.group, &r.subgroup}) {
      if (name->empty()) continue;
      auto g = std::find_if(out.begin(), out.end(), [&](const GroupResult& x) { return x.name == *name; });
      if (g == out.end()) out.push_back({*name, {}, {}, {}, 0}), g = out.end() - 1;
      g->members.push_back(r.spec.name);
      g->items += static_cast<int64_t>(r.items.size());
    }
  }
  std::erase_if(out, [](const GroupResult& g) { return g.members.size() < 2; });
  for (auto& g : out) {
    // Metrics in the order the members first name them.
    std::vector<std::pair<std::string, std::string>> keys;
    for (const auto& r : results)
      if (in(r, g.name))
        for (const auto& m : r.metrics)
          if (std::find(keys.begin(), keys.end(), std::pair(m.name, m.filter)) == keys.end())
            keys.emplace_back(m.name, m.filter);
    for (const auto& [name, filter] : keys) {
      double weighted = 0, plain = 0, n_sum = 0, pooled = 0, squares = 0;
      size_t k = 0;
      bool all_se = true;
      for (const auto& r : results) {
        if (!in(r, g.name)) continue;
        for (const auto& m : r.metrics) {
          if (m.name != name || m.filter != filter) continue;
          const double n = static_cast<double>(r.items.size());
          weighted += m.value * n, plain += m.value, n_sum += n, ++k;
          if (m.stderr_of_mean) pooled += (n - 1) * *m.stderr_of_mean * *m.stderr_of_mean * n, squares += *m.stderr_of_mean * *m.stderr_of_mean;
          else all_se = false;
        }
      }
      MetricValue micro{name, weighted / n_sum, std::nullopt, filter}, macro{name, plain / static_cast<double>(k), std::nullopt, filter};
      if (all_se && n_sum > static_cast<double>(k)) micro.stderr_of_mean = std::sqrt(pooled / (n_sum - static_cast<double>(k)) / n_sum);
      if (all_se) macro.stderr_of_mean = std::sqrt(squares) / static_cast<double>(k);
      g.micro.push_back(micro);
      g.macro.push_back(macro);
    }
  }
  return out;
}

nlohmann::ordered_json results_json(const std::vector<TaskResult>& results, const nlohmann::ordered_json& config) {
  using ojson = nlohmann::ordered_json;
  const auto groups = group_results(results);
  ojson out = ojson::object();
  out["results"] = ojson::object();
  // lm-eval writes each group under "groups" and, before its tasks, under "results".
  if (!groups.empty()) out["groups"] = ojson::object();
  for (const auto& g : groups) {
    ojson res = {{"alias", g.name}, {"name", g.name}, {"sample_len", g.items}, {"tasks", g.members}};
    auto put = [&](const MetricValue& m, const std::string& suffix) {
      res[m.name + suffix + "," + m.filter] = m.value;
      res[m.name + suffix + "_stderr," + m.filter] = m.stderr_of_mean ? ojson(*m.stderr_of_mean) : ojson("N/A");
    };
    for (const auto& m : g.micro) put(m, "");
    for (const auto& m : g.macro) put(m, "_macro");
    out["results"][g.name] = res;
    out["groups"][g.name] = std::move(res);
  }
  for (const char* key : {"configs", "versions", "n-shot", "higher_is_better", "n-samples"}) out[key] = ojson::object();
  out["config"] = config;
  for (const auto& r : results) {
    const std::string& n = r.spec.name;
    ojson res = {{"alias", n}};
    ojson better = ojson::object();
    for (const auto& m : r.metrics) {
      res[m.name + "," + m.filter] = m.value;
      if (m.stderr_of_mean) res[m.name + "_stderr," + m.filter] = *m.stderr_of_mean;
      else res[m.name + "_stderr," + m.filter] = "N/A";
      better[m.name] = m.name.find("perplexity") == std::string::npos && m.name != "bits_per_byte";
    }
    out["results"][n] = std::move(res);
    out["configs"][n] = {{"task", n},
                         {"source", r.spec.origin},
                         {"output_type", r.spec.kind},
                         {"description", r.spec.description},
                         {"doc_to_text", r.spec.text},
                         {"doc_to_target", r.spec.target},
                         {"doc_to_choice", !r.spec.choices_field.empty() ? ojson(r.spec.choices_field)
                                           : !r.spec.choices_list.empty() ? ojson(r.spec.choices_list)
                                                                          : ojson(r.spec.choices)},
                         {"target_delimiter", r.spec.target_delimiter},
                         {"fewshot_delimiter", r.spec.fewshot_delimiter},
                         {"num_fewshot", r.spec.num_fewshot},
                         {"fewshot_config", {{"sampler", r.spec.fewshot_sampler == "random" ? "default" : "first_n"},
                                             {"random_seed", r.spec.fewshot_seed}}},
                         {"metric_list", r.spec.metrics}};
    if (r.spec.kind == "generate_until") {
      ojson filters = ojson::array();
      for (const auto& f : r.spec.filters)
        filters.push_back({{"name", f.name},
                           {"filter", {{{"function", "regex"}, {"regex_pattern", f.regex}, {"group_select", f.group_select},
                                        {"fallback", f.fallback}},
                                       {{"function", "take_first"}}}}});
      out["configs"][n]["generation_kwargs"] = {{"until", r.spec.until}, {"max_gen_toks", r.spec.max_gen_toks},
                                                {"do_sample", false}, {"temperature", 0.0}};
      out["configs"][n]["filter_list"] = std::move(filters);
    }
    out["versions"][n] = r.spec.version;
    out["n-shot"][n] = r.spec.num_fewshot;
    out["higher_is_better"][n] = std::move(better);
    out["n-samples"][n] = {{"original", r.documents}, {"effective", r.items.size()}};
  }
  return out;
}

std::string samples_jsonl(const TaskResult& r) {
  using ojson = nlohmann::ordered_json;
  std::string out;
  for (size_t i = 0; i < r.items.size(); ++i) {
    const ItemResult& ir = r.items[i];
    ojson j = {{"doc_id", i}, {"where", ir.doc.where}, {"doc", ir.doc.fields}, {"contexts", ir.item.contexts}};
    if (r.spec.kind == "rolling") {
      j["loglikelihood"] = ir.rolling.loglikelihood;
      j["words"] = ir.rolling.words;
      j["bytes"] = ir.rolling.bytes;
    } else if (r.spec.kind == "generate_until") {
      j["target"] = ir.item.reference;
      j["resps"] = ir.generation;
      ojson filtered = ojson::object(), em = ojson::object();
      for (size_t f = 0; f < ir.filtered.size(); ++f) {
        const std::string& name = r.spec.filters.empty() ? "none" : r.spec.filters[f].name;
        filtered[name] = ir.filtered[f];
        em[name] = ir.exact_match[f] ? 1 : 0;
      }
      j["filtered_resps"] = std::move(filtered);
      j["exact_match"] = std::move(em);
      if (!ir.item.references.empty()) j["references"] = ir.item.references;
      if (!ir.f1.empty()) {
        ojson f1 = ojson::object();
        for (size_t f = 0; f < ir.f1.size(); ++f) f1[r.spec.filters.empty() ? "none" : r.spec.filters[f].name] = ir.f1[f];
        j["f1"] = std::move(f1);
      }
    } else if (r.spec.kind == "loglikelihood") {
      j["continuations"] = ir.item.continuations;
      j["loglikelihood"] = ir.scores[0].loglikelihood;
      j["greedy"] = ir.scores[0].greedy;
      j["acc"] = ir.scores[0].greedy ? 1 : 0;
    } else {
      j["continuations"] = ir.item.continuations;
      j["choices"] = ir.item.choices;
      j["gold"] = ir.item.gold;
      ojson ll = ojson::array(), greedy = ojson::array();
      for (const auto& s : ir.scores) ll.push_back(s.loglikelihood), greedy.push_back(s.greedy);
      j["loglikelihoods"] = std::move(ll);
      j["greedy"] = std::move(greedy);
      j["pred"] = predicted(ir.outcome);
      for (const auto& m : r.spec.metrics) {
        if (m == "acc") j["acc"] = predicted(ir.outcome) == ir.item.gold ? 1 : 0;
        if (m == "acc_norm") j["acc_norm"] = predicted_norm(ir.outcome) == ir.item.gold ? 1 : 0;
      }
    }
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
  }
  return out;
}

std::string markdown_table(const std::vector<TaskResult>& results) {
  std::string out = "| task | metric | value | ± stderr | n |\n|---|---|---:|---:|---:|\n";
  auto row = [&](const std::string& task, const MetricValue& m, const std::string& suffix, int64_t n) {
    out += fmt::format("| {} | {}{} | {:.4f} | {} | {} |\n", task,
                       m.filter == "none" ? m.name : m.name + "," + m.filter, suffix, m.value,
                       m.stderr_of_mean ? fmt::format("{:.4f}", *m.stderr_of_mean) : "N/A", n);
  };
  for (const auto& r : results)
    for (const auto& m : r.metrics) row(r.spec.name, m, "", static_cast<int64_t>(r.items.size()));
  for (const auto& g : group_results(results)) {
    for (const auto& m : g.micro) row(g.name + " (group)", m, " (micro)", g.items);
    for (const auto& m : g.macro) row(g.name + " (group)", m, " (macro)", g.items);
  }
  return out;
}

}  // namespace kormo::eval
