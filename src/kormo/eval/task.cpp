#include "kormo/eval/task.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>

#include <fmt/ranges.h>

#include "kormo/text/utf8.h"
#include "kormo/tok/jinja.h"
#include "kormo/util/config.h"
#include "kormo/util/embedded.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"
#include "kormo/util/log.h"

namespace kormo::eval {

namespace {

using ojson = nlohmann::ordered_json;

// Splits one CSV record starting at `pos` (RFC 4180: quoted fields may hold commas,
// doubled quotes and newlines); advances pos past its line end. `line` counts lines.
std::vector<std::string> csv_record(const std::string& s, size_t& pos, int64_t& line, const std::string& path) {
  std::vector<std::string> fields(1);
  const int64_t start_line = line;
  bool quoted = false;
  for (; pos < s.size(); ++pos) {
    const char c = s[pos];
    if (quoted) {
      if (c == '"' && pos + 1 < s.size() && s[pos + 1] == '"') fields.back() += '"', ++pos;
      else if (c == '"') quoted = false;
      else fields.back() += c, line += c == '\n';
    } else if (c == '"' && fields.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && pos + 1 < s.size() && s[pos + 1] == '\n') ++pos;
      ++pos, ++line;
      return fields;
    } else {
      fields.back() += c;
    }
  }
  if (quoted) fail("{}:{}: a quoted field is not closed before the end of the file", path, start_line);
  ++line;
  return fields;
}

std::vector<Doc> read_table(const std::string& path, bool tsv) {
  const std::string text = read_file(path);
  std::vector<Doc> docs;
  std::vector<std::string> header;
  size_t pos = text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  int64_t line = 1;
  while (pos < text.size()) {
    const int64_t at = line;
    std::vector<std::string> fields;
    if (tsv) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string_view row(text.data() + pos, end - pos);
      if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
      for (size_t b = 0;;) {
        const size_t tab = row.find('\t', b);
        fields.emplace_back(row.substr(b, tab == std::string_view::npos ? std::string_view::npos : tab - b));
        if (tab == std::string_view::npos) break;
        b = tab + 1;
      }
      pos = end + 1, ++line;
    } else {
      fields = csv_record(text, pos, line, path);
    }
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    if (header.empty()) {
      header = fields;
      continue;
    }
    if (fields.size() != header.size())
      fail("{}:{}: {} fields, but the header names {}", path, at, fields.size(), header.size());
    Doc d{ojson::object(), fmt::format("{}:{}", path, at), {}};
    for (size_t i = 0; i < fields.size(); ++i) {
      if (!text::is_valid_utf8(fields[i])) fail("{}: field '{}' is not valid UTF-8", d.where, header[i]);
      d.fields[header[i]] = fields[i];
    }
    docs.push_back(std::move(d));
  }
  if (header.empty()) fail("{}: no header row (the first line must name the fields)", path);
  return docs;
}

std::vector<Doc> read_jsonl(const std::string& path) {
  std::vector<Doc> docs;
  LineReader in(path);
  std::string_view line;
  while (in.next(line)) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    std::string where = fmt::format("{}:{}", path, in.line_number());
    ojson j = ojson::parse(line.begin(), line.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail("{}: expected a JSON object", where);
    docs.push_back({std::move(j), std::move(where), {}});
  }
  return docs;
}

std::vector<Doc> read_json_array(const std::string& path) {
  const std::string text = read_file(path);
  ojson j = ojson::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) fail("{}: expected a JSON array of objects", path);
  std::vector<Doc> docs;
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_object()) fail("{}: element {} is not an object", path, i);
    docs.push_back({std::move(j[i]), fmt::format("{}: element {}", path, i), {}});
  }
  return docs;
}

// SQuAD's JSON layout (KorQuAD uses it too): one document per question.
std::vector<Doc> read_squad(const std::string& path) {
  const std::string text = read_file(path);
  ojson j = ojson::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("data") || !j["data"].is_array())
    fail("{}: expected SQuAD's layout, a JSON object with a \"data\" list", path);
  std::vector<Doc> docs;
  auto str = [&](const ojson& o, const char* key, const std::string& where) -> std::string {
    auto it = o.find(key);
    if (it == o.end() || !it->is_string()) fail("{}: field '{}' is missing or not a string", where, key);
    return it->get<std::string>();
  };
  auto list = [&](const ojson& o, const char* key, const std::string& where) -> const ojson& {
    auto it = o.find(key);
    if (it == o.end() || !it->is_array()) fail("{}: field '{}' is missing or not a list", where, key);
    return *it;
  };
  const ojson& data = j["data"];
  for (size_t a = 0; a < data.size(); ++a) {
    const std::string at_a = fmt::format("{}: data[{}]", path, a);
    if (!data[a].is_object()) fail("{}: expected an object", at_a);
    const std::string title = data[a].contains("title") ? str(data[a], "title", at_a) : "";
    const ojson& paras = list(data[a], "paragraphs", at_a);
    for (size_t p = 0; p < paras.size(); ++p) {
      const std::string at_p = fmt::format("{}.paragraphs[{}]", at_a, p);
      const std::string context = str(paras[p], "context", at_p);
      const ojson& qas = list(paras[p], "qas", at_p);
      for (size_t q = 0; q < qas.size(); ++q) {
        const std::string at_q = fmt::format("{}.qas[{}]", at_p, q);
        ojson answers = ojson::array();
        for (const auto& ans : list(qas[q], "answers", at_q)) answers.push_back(str(ans, "text", at_q + ".answers"));
        docs.push_back({ojson{{"title", title}, {"context", context}, {"id", str(qas[q], "id", at_q)},
                              {"question", str(qas[q], "question", at_q)}, {"answers", std::move(answers)}},
                        at_q, {}});
      }
    }
  }
  return docs;
}

// Plain text: one document per paragraph (lines up to a blank or whitespace-only line),
// its lines joined by "\n", as field `text`; CRLF line ends count as "\n".
std::vector<Doc> read_paragraphs(const std::string& path) {
  std::vector<Doc> docs;
  LineReader in(path);
  std::string_view line;
  std::string para;
  int64_t start = 0;
  auto flush = [&] {
    if (para.empty()) return;
    if (!text::is_valid_utf8(para)) fail("{}:{}: the paragraph is not valid UTF-8", path, start);
    docs.push_back({ojson{{"text", para}}, fmt::format("{}:{}", path, start), {}});
    para.clear();
  };
  while (in.next(line)) {
    if (in.line_number() == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) {
      flush();
      continue;
    }
    if (para.empty()) start = static_cast<int64_t>(in.line_number());
    else para += '\n';
    para += line;
  }
  flush();
  return docs;
}

std::string format_of(const std::string& path, const std::string& format) {
  if (!format.empty()) return format;
  std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".zst") ext = std::filesystem::path(path).stem().extension().string();
  if (ext == ".jsonl") return "jsonl";
  if (ext == ".json") return "json";
  if (ext == ".csv") return "csv";
  if (ext == ".tsv") return "tsv";
  if (ext == ".txt") return "txt";
  fail("{}: cannot tell the format from the extension '{}' (set format = jsonl | json | csv | tsv | txt | squad)", path, ext);
}

// `value | regex_replace(pattern, repl[, count])`: Python's re.sub, for the preprocessing
// lm-eval's tasks do in Python (hellaswag's utils.preprocess). The pattern is compiled per
// call: a few microseconds, next to milliseconds of model time per item.
nlohmann::ordered_json regex_replace(const nlohmann::ordered_json& value, const std::vector<nlohmann::ordered_json>& args) {
  if (!value.is_string()) fail("expects a string, got {}", value.type_name());
  if (args.size() < 2 || args.size() > 3 || !args[0].is_string() || !args[1].is_string() ||
      (args.size() == 3 && !args[2].is_number_integer()))
    fail("expects (pattern, replacement[, count]): two strings and an optional integer");
  const PyRegex re(args[0].get<std::string>(), "pattern");
  return re.sub(value.get<std::string>(), args[1].get<std::string>(), args.size() == 3 ? args[2].get<int64_t>() : 0,
                "regex_replace");
}

// A template over a document, in lm-evaluation-harness's Jinja environment (no
// trim_blocks/lstrip_blocks, trailing newline kept, StrictUndefined: a missing field is an
// error) plus regex_replace. The document's fields are variables; so are `doc` (the whole
// document, for field names that are not identifiers, e.g. doc['1']) and `file_stem`.
class DocTemplate {
 public:
  DocTemplate(const std::string& source, std::string what) try
      : t_(source, {.trim_blocks = false, .lstrip_blocks = false, .keep_trailing_newline = true,
                    .strict_undefined = true, .filters = {{"regex_replace", regex_replace}}}),
        what_(std::move(what)) {
  } catch (const Error& e) {
    throw Error(fmt::format("{}: template: {}", what, e.what()), e.kind());
  }
  std::string render(const Doc& d) const {
    ojson vars = d.fields;
    vars["doc"] = d.fields;
    vars["file_stem"] = d.file_stem;
    try {
      return t_.render(vars);
    } catch (const Error& e) {
      // The document's field names: a file in another layout (a wrong or missing column)
      // shows at once which names the template should use.
      std::vector<std::string> names;
      if (d.fields.is_object())
        for (const auto& [k, v] : d.fields.items()) names.push_back(k);
      throw Error(fmt::format("{}: {}: {} (the document's fields: {})", d.where, what_, e.what(), fmt::join(names, ", ")),
                  e.kind());
    }
  }

 private:
  tok::JinjaTemplate t_;
  std::string what_;  // "FILE [task] text", for errors
};

}  // namespace

TaskSpec parse_task(const std::string& toml_text, const std::string& origin) {
  toml::table root = load_toml("", toml_text);
  ConfigSection top(&root, origin);
  ConfigSection s = top.section("task");
  top.check_unused();
  TaskSpec t;
  t.origin = origin;
  t.name = s.require_string("name");
  t.about = s.get_string("about", "");
  t.group = s.get_string("group", "");
  t.subgroup = s.get_string("subgroup", "");
  if (!t.subgroup.empty() && t.group.empty()) s.bad_value("subgroup", "a subgroup is a group within `group`: set group too");
  t.kind = s.get_string("kind", t.kind);
  const bool gen = t.kind == "generate_until", rolling = t.kind == "rolling", single = t.kind == "loglikelihood";
  if (t.kind != "multiple_choice" && t.kind != "multiple_context" && !gen && !rolling && !single)
    s.bad_value("kind", "expected \"multiple_choice\", \"multiple_context\", \"generate_until\", \"rolling\" or "
                        "\"loglikelihood\"");
  t.format = s.get_string("format", "");
  if (!t.format.empty() && t.format != "jsonl" && t.format != "json" && t.format != "csv" && t.format != "tsv" &&
      t.format != "txt" && t.format != "squad")
    s.bad_value("format", "expected jsonl, json, csv, tsv, txt or squad");
  t.description = s.get_string("description", "");
  t.text = s.require_string("text");
  t.target = rolling ? s.get_string("target", "") : s.require_string("target");
  if (rolling && !t.target.empty()) s.bad_value("target", "a rolling task scores its text; it has no target");
  const toml::node* choices_node = s.table()->get("choices");
  if (choices_node && choices_node->is_string()) t.choices_list = s.get_string("choices", "");
  else t.choices = s.get_strings("choices", {});
  t.choices_field = s.get_string("choices_field", "");
  const int ways = !t.choices.empty() + !t.choices_list.empty() + !t.choices_field.empty();
  if ((gen || rolling || single) && ways > 0)
    s.bad_value(t.choices_field.empty() ? "choices" : "choices_field", fmt::format("a {} task has no choices", t.kind));
  if (!gen && !rolling && !single && ways != 1)
    s.bad_value(t.choices_field.empty() ? "choices" : "choices_field",
                "give either choices (a template per choice, or one template rendering a JSON list) or choices_field "
                "(a list field), not both or neither");
  t.target_delimiter = s.get_string("target_delimiter", t.target_delimiter);
  t.fewshot_delimiter = s.get_string("fewshot_delimiter", t.fewshot_delimiter);
  t.num_fewshot = s.get_int("num_fewshot", 0);
  if (t.num_fewshot < 0) s.bad_value("num_fewshot", "must be ≥ 0");
  t.fewshot_sampler = s.get_string("fewshot_sampler", t.fewshot_sampler);
  if (t.fewshot_sampler != "random" && t.fewshot_sampler != "first_n")
    s.bad_value("fewshot_sampler", "expected \"random\" (lm-eval's default) or \"first_n\"");
  const int64_t seed = s.get_int("fewshot_seed", static_cast<int64_t>(t.fewshot_seed));
  if (seed < 0) s.bad_value("fewshot_seed", "must be ≥ 0");
  t.fewshot_seed = static_cast<uint64_t>(seed);
  t.answer_normalization = s.get_string("answer_normalization", "");
  if (!t.answer_normalization.empty() && (!gen || t.answer_normalization != "korquad"))
    s.bad_value("answer_normalization", "expected \"korquad\", in a generate_until task");
  const bool korquad = t.answer_normalization == "korquad";
  const std::vector<std::string> known = gen       ? (korquad ? std::vector<std::string>{"exact_match", "f1"}
                                                              : std::vector<std::string>{"exact_match"})
                                        : rolling ? std::vector<std::string>{"word_perplexity", "byte_perplexity",
                                                                             "bits_per_byte"}
                                        : single  ? std::vector<std::string>{"acc", "perplexity"}
                                                  : std::vector<std::string>{"acc", "acc_norm", "f1"};
  t.metrics = s.get_strings("metrics", gen || rolling || single ? known : t.metrics);
  for (const auto& m : t.metrics)
    if (std::find(known.begin(), known.end(), m) == known.end())
      s.bad_value("metrics", fmt::format("unknown metric '{}' for {} (known: {})", m, t.kind, fmt::join(known, ", ")));
  if (rolling && t.num_fewshot > 0) s.bad_value("num_fewshot", "a rolling task has no few-shot examples");
  if (gen || s.has("until") || s.has("max_gen_toks") || s.has("filters") || s.has("exact_match") ||
      s.has("references_field")) {
    if (!gen)
      s.bad_value("until", "until, max_gen_toks, filters, exact_match and references_field belong to generate_until tasks");
    t.references_field = s.get_string("references_field", "");
    t.until = s.get_strings("until", {});
    t.max_gen_toks = s.get_int("max_gen_toks", t.max_gen_toks);
    if (t.max_gen_toks < 1) s.bad_value("max_gen_toks", "must be ≥ 1");
    ConfigSection filters = s.section("filters");
    std::vector<std::pair<uint32_t, RegexFilterSpec>> in_file_order;  // TOML tables iterate by name
    for (const auto& [key, node] : *filters.table()) {
        const std::string name(key.str());
        ConfigSection f = filters.section(name);
        RegexFilterSpec spec{name, f.require_string("regex"), f.get_int("group_select", 0),
                             f.get_string("fallback", "[invalid]")};
        f.check_unused();
        PyRegex check(spec.regex, fmt::format("{} [task.filters.{}] regex", origin, name));
        in_file_order.emplace_back(node.source().begin.line, std::move(spec));
    }
    std::stable_sort(in_file_order.begin(), in_file_order.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [line, f] : in_file_order) t.filters.push_back(std::move(f));
    ConfigSection em = s.section("exact_match");
    t.exact_match = {em.get_bool("ignore_case", false), em.get_bool("ignore_punctuation", false),
                     em.get_bool("ignore_numbers", false), em.get_strings("regexes_to_ignore", {})};
    em.check_unused();
    if (korquad && s.has("exact_match"))
      s.bad_value("exact_match", "answer_normalization = \"korquad\" compares as KorQuAD's script; [task.exact_match] "
                                 "options do not apply");
    ExactMatch check(t.exact_match, origin + " [task.exact_match]");
  }
  t.version = s.get_double("version", 1.0);
  s.check_unused();
  TaskRenderer check(t);  // templates parse now, not at the first document
  return t;
}

std::vector<TaskSpec> builtin_tasks() {
  std::vector<TaskSpec> out;
  for (size_t i = 0; i < embedded::eval_tasks_count; ++i) {
    const EmbeddedFile& f = embedded::eval_tasks[i];
    out.push_back(parse_task(std::string(f.data), "built-in " + std::string(f.name)));
  }
  std::sort(out.begin(), out.end(), [](const TaskSpec& a, const TaskSpec& b) { return a.name < b.name; });
  return out;
}

TaskSpec load_task(const std::string& name_or_file) {
  if (name_or_file.ends_with(".toml")) return parse_task(read_file(name_or_file), name_or_file);
  std::vector<TaskSpec> all = builtin_tasks();
  for (auto& t : all)
    if (t.name == name_or_file) return std::move(t);
  std::string names;
  for (const auto& t : all) names += (names.empty() ? "" : ", ") + t.name;
  fail_usage("unknown task '{}' (built-in tasks: {}; or give a task file ending in .toml)", name_or_file, names);
}

std::vector<Doc> read_docs(const std::string& path, const std::string& format) {
  if (!std::filesystem::is_regular_file(path)) fail_io("{}: no such data file", path);
  const std::string f = format_of(path, format);
  std::vector<Doc> docs = f == "jsonl"   ? read_jsonl(path)
                          : f == "json"  ? read_json_array(path)
                          : f == "squad" ? read_squad(path)
                          : f == "txt"  ? read_paragraphs(path)
                                        : read_table(path, f == "tsv");
  std::filesystem::path stem = std::filesystem::path(path).filename();
  while (stem.has_extension()) stem = stem.stem();
  for (Doc& d : docs) d.file_stem = stem.string();
  return docs;
}

struct TaskRenderer::Impl {
  TaskSpec spec;
  DocTemplate text, target;
  std::unique_ptr<DocTemplate> description, choices_list, subgroup;
  std::vector<DocTemplate> choices;

  Impl(const TaskSpec& s)
      : spec(s), text(s.text, s.origin + " [task] text"), target(s.target, s.origin + " [task] target") {
    if (!s.description.empty()) description = std::make_unique<DocTemplate>(s.description, s.origin + " [task] description");
    if (!s.subgroup.empty()) subgroup = std::make_unique<DocTemplate>(s.subgroup, s.origin + " [task] subgroup");
    if (!s.choices_list.empty()) choices_list = std::make_unique<DocTemplate>(s.choices_list, s.origin + " [task] choices");
    for (size_t i = 0; i < s.choices.size(); ++i)
      choices.emplace_back(s.choices[i], fmt::format("{} [task] choices[{}]", s.origin, i));
  }

  std::vector<std::string> choices_of(const Doc& d) const {
    std::vector<std::string> out;
    if (!spec.choices_field.empty()) {
      auto it = d.fields.find(spec.choices_field);
      if (it == d.fields.end() || !it->is_array())
        fail("{}: field '{}' (choices_field) is missing or not a list", d.where, spec.choices_field);
      for (const auto& c : *it) out.push_back(c.is_string() ? c.get<std::string>() : c.dump());
    } else if (choices_list) {
      const std::string r = choices_list->render(d);
      const ojson list = ojson::parse(r, nullptr, false);
      if (list.is_discarded() || !list.is_array())
        fail("{}: choices rendered '{}', not a JSON list (end the template in `| tojson`)", d.where, r);
      for (const auto& c : list) out.push_back(c.is_string() ? c.get<std::string>() : c.dump());
    } else {
      for (const auto& c : choices) out.push_back(c.render(d));
    }
    if (out.empty()) fail("{}: the item has no choices", d.where);
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i].empty()) fail("{}: choice {} is empty", d.where, i);
    return out;
  }

  int64_t gold_of(const Doc& d, const std::vector<std::string>& ch) const {
    const std::string t = target.render(d);
    if (!t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      const int64_t g = t.size() > 9 ? -1 : std::stoll(t);
      if (g < 0 || g >= static_cast<int64_t>(ch.size()))
        fail("{}: gold index {} is out of range for {} choices", d.where, t, ch.size());
      return g;
    }
    auto it = std::find(ch.begin(), ch.end(), t);
    if (it == ch.end()) fail("{}: the target '{}' is neither an index nor one of the choices", d.where, t);
    return it - ch.begin();
  }
};

TaskRenderer::TaskRenderer(const TaskSpec& spec) : impl_(std::make_unique<Impl>(spec)) {}
TaskRenderer::~TaskRenderer() = default;
TaskRenderer::TaskRenderer(TaskRenderer&&) noexcept = default;

FewshotSampler::FewshotSampler(const TaskSpec& spec, const std::vector<Doc>& pool, bool same_file)
    : spec_(spec), pool_(pool), same_file_(same_file), rng_(spec.fewshot_seed) {}

std::vector<const Doc*> FewshotSampler::next(const Doc& doc) {
  const auto n = static_cast<size_t>(spec_.num_fewshot);
  if (n == 0) return {};
  auto is_doc = [&](const Doc* d) { return same_file_ && d->fields == doc.fields; };
  std::vector<const Doc*> out;
  if (spec_.fewshot_sampler == "first_n") {
    for (const Doc& d : pool_)
      if (out.size() < n && !is_doc(&d)) out.push_back(&d);
  } else {
    // lm-eval's ContextSampler: n (+1 to drop the document itself) from the whole pool;
    // if copies of the document took more than that one place, n from the pool without them.
    const size_t want = n + (same_file_ ? 1 : 0);
    if (want <= pool_.size()) {
      for (size_t i : rng_.sample(pool_.size(), want))
        if (out.size() < n && !is_doc(&pool_[i])) out.push_back(&pool_[i]);
      if (out.size() < n) {
        std::vector<const Doc*> rest;
        for (const Doc& d : pool_)
          if (!is_doc(&d)) rest.push_back(&d);
        out.clear();
        if (n <= rest.size())
          for (size_t i : rng_.sample(rest.size(), n)) out.push_back(rest[i]);
      }
    }
  }
  if (out.size() < n)
    fail("{}: {} few-shot examples wanted ({} sampler), the few-shot data has {} documents{}", doc.where, n,
         spec_.fewshot_sampler, pool_.size(),
         same_file_ ? (spec_.fewshot_sampler == "random" ? " (n + 1 are drawn when it is the data file itself)"
                                                         : " including this one")
                    : "");
  return out;
}

std::string TaskRenderer::subgroup(const Doc& doc) const {
  return impl_->subgroup ? impl_->subgroup->render(doc) : "";
}

Item TaskRenderer::item(const Doc& doc, const std::vector<const Doc*>& examples) const {
  const TaskSpec& s = impl_->spec;
  const bool gen = s.kind == "generate_until";
  const bool answer_is_target = gen || s.kind == "loglikelihood";  // a few-shot example's answer
  if (s.kind == "multiple_context" && !examples.empty())
    fail_usage("task {}: few-shot examples are not supported for multiple_context tasks", s.name);
  std::string prefix;
  if (impl_->description) prefix = impl_->description->render(doc);
  for (const Doc* ex : examples) {
    std::string answer;
    if (answer_is_target) {
      answer = impl_->target.render(*ex);
    } else {
      const auto ch = impl_->choices_of(*ex);
      answer = ch[impl_->gold_of(*ex, ch)];
    }
    prefix += impl_->text.render(*ex) + s.target_delimiter + answer + s.fewshot_delimiter;
  }
  Item it;
  if (s.kind == "rolling") {
    it.contexts.push_back(impl_->text.render(doc));
    return it;
  }
  if (gen) {
    it.contexts.push_back(prefix + impl_->text.render(doc));
    it.reference = impl_->target.render(doc);
    if (!s.references_field.empty()) {
      auto f = doc.fields.find(s.references_field);
      if (f == doc.fields.end() || !f->is_array() || f->empty())
        fail("{}: field '{}' (references_field) is missing or not a non-empty list", doc.where, s.references_field);
      for (const auto& r : *f) {
        if (!r.is_string()) fail("{}: field '{}' holds a non-string answer", doc.where, s.references_field);
        it.references.push_back(r.get<std::string>());
      }
    }
    return it;
  }
  if (s.kind == "loglikelihood") {
    it.contexts.push_back(prefix + impl_->text.render(doc));
    it.continuations.push_back(impl_->target.render(doc));
    if (it.continuations[0].empty()) fail("{}: the target (the continuation scored) is empty", doc.where);
    return it;
  }
  it.choices = impl_->choices_of(doc);
  it.gold = impl_->gold_of(doc, it.choices);
  // Published sets repeat wrong options (ARC-Easy has 7 such items): lm-eval scores them,
  // and since repeated options tie, the item's acc does not depend on which one argmax
  // picks. A repeated gold would make it depend on that, so the item cannot be scored.
  for (size_t i = 0; i < it.choices.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (it.choices[i] == it.choices[j]) {
        if (static_cast<int64_t>(i) == it.gold || static_cast<int64_t>(j) == it.gold)
          fail("{}: choices {} and {} are the same ('{}') and one of them is the gold answer", doc.where, j, i,
               it.choices[i]);
        log_warn("{}: choices {} and {} are the same ('{}'); scored as lm-eval does", doc.where, j, i, it.choices[i]);
      }
  if (s.kind == "multiple_context") {
    for (const auto& c : it.choices) it.contexts.push_back(prefix + c);
    it.continuations.push_back(s.target_delimiter + impl_->text.render(doc));
  } else {
    it.contexts.push_back(prefix + impl_->text.render(doc));
    for (const auto& c : it.choices) it.continuations.push_back(s.target_delimiter + c);
  }
  return it;
}

}  // namespace kormo::eval
