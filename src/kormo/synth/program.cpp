#include "kormo/synth/program.h"

#include <fmt/format.h>

#include <algorithm>

#include "kormo/data/document.h"
#include "kormo/data/words.h"
#include "kormo/tok/jinja.h"
#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"
#include "kormo/util/rng.h"
#include "kormo/util/url.h"

namespace kormo::synth {

namespace {

// Korean instructions: the teacher is asked in the language it should answer in. Each
// asks for the text alone, so a preamble ("다음은 … 번역입니다") is a fault the filters catch.
const std::map<std::string, std::string>& default_templates() {
  static const std::map<std::string, std::string> t = {
      {"rewrite-ko",
       "당신은 {{ persona }}입니다. 아래 글을 한국 독자가 읽을 한국어 글로 다시 쓰세요. 한국의 맥락에 맞는 "
       "예와 표현을 쓰세요.\n- 문체: {{ style }}\n- 대상 독자: {{ audience }}\n- 분량: {{ length }}\n"
       "다시 쓴 글만 출력하세요.\n\n{{ seed }}"},
      {"translate", "다음 영어 글을 자연스러운 한국어로 번역하세요. 번역문만 출력하세요.\n\n{{ seed }}"},
      {"explainer",
       "당신은 {{ persona }}입니다. 다음 주제로 교과서의 한 절을 쓰세요.\n- 주제: {{ seed }}\n"
       "- 문체: {{ style }}\n- 대상 독자: {{ audience }}\n- 분량: {{ length }}\n본문만 출력하세요."},
      {"qa",
       "당신은 {{ persona }}입니다. 다음 내용에 관해 독자가 물을 만한 질문 하나와 자세한 답을 쓰세요.\n"
       "- 문체: {{ style }}\n- 대상 독자: {{ audience }}\n- 분량: {{ length }}\n"
       "\"질문:\"과 \"답:\"으로 시작하는 두 부분만 출력하세요.\n\n{{ seed }}"},
      {"reasoning",
       "당신은 {{ persona }}입니다. 다음 주제로 문제 하나를 내고, 단계별로 추론한 뒤 마지막 줄에 한국어로 "
       "답을 쓰세요.\n- 주제: {{ seed }}\n- 문체: {{ style }}\n- 대상 독자: {{ audience }}"},
  };
  return t;
}

bool task_accepts(const std::string& task, const Seed& s) {
  if (task == "rewrite-ko") return s.kind == "document";
  if (task == "translate") return s.kind == "pair" || (s.kind == "document" && s.lang == "en");
  return true;
}

std::vector<std::string> strings_or(ConfigSection& sec, const std::string& key, std::vector<std::string> def) {
  auto v = sec.get_strings(key, def);
  if (v.empty()) sec.bad_value(key, "must not be empty");
  return v;
}

void read_pairs(const std::string& path, std::vector<Seed>& out) {
  LineReader r(path);
  std::string_view line;
  while (r.next(line)) {
    const std::string where = fmt::format("{}:{}", path, r.line_number());
    const nlohmann::json j = parse_json_or_discarded(line);
    if (!j.is_object() || !j.contains("en") || !j["en"].is_string())
      fail("{}: expected a JSON object with a string \"en\" (and optional \"ko\", \"id\")", where);
    Seed s;
    s.kind = "pair";
    s.lang = "en";
    s.text = j["en"].get<std::string>();
    s.id = j.contains("id") && j["id"].is_string() ? j["id"].get<std::string>() : where;
    out.push_back(std::move(s));
  }
}

}  // namespace

Teacher teacher_from_toml(const std::string& name, const toml::node& node, const std::string& where) {
  if (!node.is_table()) fail("{}: [teachers.{}] must be a table", where, name);
  ConfigSection sec(node.as_table(), where + " [teachers." + name + "]");
  if (sec.has("api_key"))
    sec.bad_value("api_key", "keys are never read from the config; name the environment variable with api_key_env");
  Teacher t;
  t.name = name;
  t.url = sec.require_string("url");
  if (!split_http_url(t.url)) sec.bad_value("url", "expected http://HOST[:PORT]/PATH or https://HOST[:PORT]/PATH");
  t.model = sec.get_string("model", "");
  t.api_key_env = sec.get_string("api_key_env", "");
  t.ca_file = sec.get_string("ca_file", "");
  if (!t.ca_file.empty() && t.url.rfind("https://", 0) != 0) sec.bad_value("ca_file", "only applies to an https url");
  t.weight = sec.get_double("weight", 1);
  if (!(t.weight > 0)) sec.bad_value("weight", "must be > 0");
  t.concurrency = static_cast<int>(sec.get_int("concurrency", 4));
  if (t.concurrency < 1 || t.concurrency > 1024) sec.bad_value("concurrency", "must be in 1…1024");
  t.requests_per_second = sec.get_double("requests_per_second", 0);
  t.timeout_s = sec.get_double("timeout", 120);
  t.connect_timeout_s = sec.get_double("connect_timeout", 10);
  if (!(t.timeout_s > 0) || !(t.connect_timeout_s > 0)) sec.bad_value("timeout", "timeouts must be > 0");
  t.max_attempts = static_cast<int>(sec.get_int("max_attempts", 6));
  if (t.max_attempts < 1) sec.bad_value("max_attempts", "must be ≥ 1");
  t.backoff_s = sec.get_double("backoff", 1);
  t.max_backoff_s = sec.get_double("max_backoff", 60);
  if (t.backoff_s < 0 || t.max_backoff_s < t.backoff_s) sec.bad_value("max_backoff", "need 0 ≤ backoff ≤ max_backoff");
  t.price_input = sec.get_double("price_input", 0);
  t.price_output = sec.get_double("price_output", 0);
  ConfigSection s = sec.section("sampling");
  for (const char* k : {"temperature", "top_p", "min_p", "presence_penalty", "frequency_penalty"})
    if (s.has(k)) t.sampling[k] = s.get_double(k, 0);
  for (const char* k : {"max_tokens", "top_k", "seed"})
    if (s.has(k)) t.sampling[k] = s.get_int(k, 0);
  if (s.has("stop")) t.sampling["stop"] = s.get_strings("stop", {});
  if (t.max_tokens() < 1) s.bad_value("max_tokens", "must be ≥ 1");
  s.check_unused();
  sec.check_unused();
  return t;
}

std::vector<std::string> teacher_tasks() { return {"rewrite-ko", "translate", "explainer", "qa", "reasoning"}; }

int64_t Teacher::max_tokens() const {
  return sampling.contains("max_tokens") ? sampling["max_tokens"].get<int64_t>() : 1024;
}

Program load_program(const std::string& path) { return program_from_toml(load_toml(path), path); }

Program program_from_toml(const toml::table& root_table, const std::string& path, bool read_seeds) {
  ConfigSection root(&root_table, path);
  Program p;
  p.path = path;

  ConfigSection prog = root.section("program");
  p.name = prog.require_string("name");
  p.seed = static_cast<uint64_t>(prog.get_int("seed", 0));
  p.items_per_seed = prog.get_int("items_per_seed", 1);
  if (p.items_per_seed < 1) prog.bad_value("items_per_seed", "must be ≥ 1");
  p.language = prog.get_string("language", "ko");
  if (p.language != "ko" && p.language != "en") prog.bad_value("language", "expected \"ko\" or \"en\"");
  p.format = prog.get_string("format", "conversation");
  if (p.format != "conversation" && p.format != "document")
    prog.bad_value("format", "expected \"conversation\" or \"document\"");
  p.output = prog.require_string("output");
  prog.check_unused();

  ConfigSection seeds = root.section("seeds");
  const auto docs = seeds.get_strings("documents", {});
  const auto pairs = seeds.get_strings("pairs", {});
  const auto topics = seeds.get_strings("topics", {});
  const std::string topics_file = seeds.get_string("topics_file", "");
  const int64_t max_seeds = seeds.get_int("max", 0);
  seeds.check_unused();
  if (read_seeds && !docs.empty()) {
    const auto files = expand_inputs(docs);
    p.seed_files.insert(p.seed_files.end(), files.begin(), files.end());
    data::for_each_document(
        files, "text",
        [&](data::Document& d) {
          p.seeds.push_back({d.id.empty() ? fmt::format("document {}", p.seeds.size()) : d.id, std::move(d.text),
                             d.lang, "document"});
        },
        [](const std::string& where, const std::string& why) { fail("{}: {}", where, why); });
  }
  if (read_seeds && !pairs.empty())
    for (const auto& f : expand_inputs(pairs)) {
      p.seed_files.push_back(f);
      read_pairs(f, p.seeds);
    }
  for (const auto& t : topics) p.seeds.push_back({"topic:" + t, t, "", "topic"});
  if (read_seeds && !topics_file.empty()) {
    p.seed_files.push_back(topics_file);
    LineReader r(topics_file);
    std::string_view line;
    while (r.next(line))
      if (!line.empty()) p.seeds.push_back({"topic:" + std::string(line), std::string(line), "", "topic"});
  }
  if (read_seeds && p.seeds.empty()) fail("{} [seeds]: no seeds (give documents, pairs, topics or topics_file)", path);
  if (max_seeds > 0 && p.seeds.size() > static_cast<size_t>(max_seeds)) p.seeds.resize(static_cast<size_t>(max_seeds));

  ConfigSection mix = root.section("mix");
  p.tasks = strings_or(mix, "tasks", {"explainer"});
  const auto known = teacher_tasks();
  for (const auto& t : p.tasks)
    if (std::find(known.begin(), known.end(), t) == known.end())
      mix.bad_value("tasks", fmt::format("unknown task '{}' (known: {})", t, fmt::join(known, ", ")));
  p.personas = strings_or(mix, "personas", {"친절한 교사"});
  p.styles = strings_or(mix, "styles", {"설명문"});
  p.audiences = strings_or(mix, "audiences", {"일반 독자"});
  p.lengths = strings_or(mix, "lengths", {"400자 안팎"});
  mix.check_unused();

  ConfigSection tpl = root.section("templates");
  for (const auto& t : known)
    if (tpl.has(t)) p.templates[t] = tpl.get_string(t, "");
  tpl.check_unused();

  ConfigSection teachers = root.section("teachers");
  for (const auto& [name, node] : *teachers.table())
    p.teachers.push_back(teacher_from_toml(std::string(name.str()), node, path));
  if (p.teachers.empty()) fail("{}: no teacher (add a [teachers.NAME] table with url and model)", path);

  ConfigSection budget = root.section("budget");
  p.max_requests = budget.get_int("max_requests", 0);
  p.max_tokens = budget.get_int("max_tokens", 0);
  if (p.max_requests < 0 || p.max_tokens < 0) budget.bad_value("max_requests", "budgets must be ≥ 0 (0 = none)");
  budget.check_unused();

  ConfigSection f = root.section("filters");
  p.filters.min_chars = static_cast<size_t>(f.get_int("min_chars", 20));
  p.filters.max_chars = static_cast<size_t>(f.get_int("max_chars", 20000));
  p.filters.min_lang_score = f.get_double("min_lang_score", 0.5);
  p.filters.refusals = f.get_bool("refusals", true);
  p.filters.extra_refusals = f.get_strings("extra_refusals", {});
  p.filters.dedup = f.get_bool("dedup", true);
  p.filters.near_threshold = f.get_double("near_threshold", 0.7);
  p.filters.reject_truncated = f.get_bool("reject_truncated", true);
  p.filters.decontam = f.get_strings("decontam", {});
  f.check_unused();
  root.check_unused();

  // Every seed must have a task to go to, or the plan would silently skip it.
  for (const auto& s : p.seeds)
    if (std::none_of(p.tasks.begin(), p.tasks.end(), [&](const std::string& t) { return task_accepts(t, s); }))
      fail("{} [mix] tasks: none of {} accepts the {} seed '{}' (rewrite-ko needs documents, translate English "
           "ones or pairs)",
           path, fmt::join(p.tasks, ", "), s.kind, s.id);
  return p;
}

std::vector<PlanItem> make_plan(const Program& p) {
  std::map<std::string, tok::JinjaTemplate> templates;
  for (const auto& t : p.tasks) {
    const auto custom = p.templates.find(t);
    const std::string& src = custom != p.templates.end() ? custom->second : default_templates().at(t);
    try {
      templates.emplace(t, tok::JinjaTemplate(src, {.strict_undefined = true}));
    } catch (const Error& e) {
      fail("{} [templates] {}: {}", p.path, t, e.what());
    }
  }
  double total_weight = 0;
  for (const auto& t : p.teachers) total_weight += t.weight;

  std::vector<PlanItem> plan;
  plan.reserve(p.seeds.size() * static_cast<size_t>(p.items_per_seed));
  for (size_t s = 0; s < p.seeds.size(); ++s)
    for (int64_t r = 0; r < p.items_per_seed; ++r) {
      PlanItem it;
      it.index = plan.size();
      it.seed = s;
      it.replica = r;
      const Seed& seed = p.seeds[s];
      Rng rng(xxh3_64(fmt::format("{}/{}", p.name, it.index), p.seed));
      std::vector<std::string> ok;
      for (const auto& t : p.tasks)
        if (task_accepts(t, seed)) ok.push_back(t);
      it.task = ok[rng.below(ok.size())];
      it.persona = p.personas[rng.below(p.personas.size())];
      it.style = p.styles[rng.below(p.styles.size())];
      it.audience = p.audiences[rng.below(p.audiences.size())];
      it.length = p.lengths[rng.below(p.lengths.size())];
      double u = rng.uniform() * total_weight;
      it.teacher = p.teachers.size() - 1;
      for (size_t k = 0; k < p.teachers.size(); ++k) {
        if (u < p.teachers[k].weight) {
          it.teacher = k;
          break;
        }
        u -= p.teachers[k].weight;
      }
      it.template_id = it.task + (p.templates.count(it.task) ? ".custom" : ".default");
      const nlohmann::ordered_json vars = {{"seed", seed.text},         {"seed_id", seed.id},
                                           {"persona", it.persona},     {"style", it.style},
                                           {"audience", it.audience},   {"length", it.length},
                                           {"language", p.language},    {"task", it.task}};
      try {
        it.prompt = templates.at(it.task).render(vars);
      } catch (const Error& e) {
        fail("{} [templates] {} (seed '{}'): {}", p.path, it.task, seed.id, e.what());
      }
      const Teacher& t = p.teachers[it.teacher];
      const nlohmann::json parts = {p.name,   seed.id,    xxh3_128_hex(seed.text), r,       it.task,
                                    it.persona, it.style, it.audience,             it.length, t.name,
                                    t.model,  t.sampling, it.prompt};
      it.key = xxh3_128_hex(parts.dump());
      plan.push_back(std::move(it));
    }
  return plan;
}

std::string plan_item_line(const Program& p, const PlanItem& it) {
  nlohmann::ordered_json j = {{"item", it.index},         {"key", it.key},
                              {"seed_id", p.seeds[it.seed].id}, {"replica", it.replica},
                              {"task", it.task},          {"persona", it.persona},
                              {"style", it.style},        {"audience", it.audience},
                              {"length", it.length},      {"teacher", p.teachers[it.teacher].name},
                              {"template", it.template_id}, {"prompt", it.prompt}};
  return j.dump();
}

std::optional<std::pair<std::string, std::string>> split_question_answer(const std::string& answer) {
  std::string parts[2];
  int at = -1;  // 0 in the question, 1 in the answer
  for (std::string_view line : data::split_lines(answer)) {
    std::string_view t = line;
    while (!t.empty() && (t.front() == '*' || t.front() == '#' || t.front() == ' ')) t.remove_prefix(1);
    const std::string_view marker = at < 0 ? "질문:" : "답:";
    if (at < 1 && t.starts_with(marker)) {
      t.remove_prefix(marker.size());
      while (!t.empty() && (t.front() == '*' || t.front() == ' ')) t.remove_prefix(1);
      line = t;
      ++at;
    } else if (at < 0) {
      continue;
    }
    parts[at] += (parts[at].empty() ? "" : "\n") + std::string(line);
  }
  for (std::string& p : parts) p = std::string(data::trim(p));
  if (at < 1 || parts[0].empty() || parts[1].empty()) return std::nullopt;
  return std::make_pair(parts[0], parts[1]);
}

nlohmann::json request_body(const Program& p, const PlanItem& it) {
  const Teacher& t = p.teachers[it.teacher];
  nlohmann::json body = t.sampling;
  if (!t.model.empty()) body["model"] = t.model;
  body["messages"] = nlohmann::json::array({{{"role", "user"}, {"content", it.prompt}}});
  if (!body.contains("max_tokens")) body["max_tokens"] = t.max_tokens();
  // A per-item seed makes a retried request ask for the same sample where the server
  // supports seeds, so the answer does not depend on which attempt succeeded.
  if (!body.contains("seed")) body["seed"] = xxh3_64(it.key) >> 33;
  body["user"] = it.key;
  return body;
}

}  // namespace kormo::synth
