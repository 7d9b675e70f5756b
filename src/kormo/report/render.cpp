#include "kormo/report/render.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "kormo/report/svg.h"

using nlohmann::json;

namespace kormo::report {
namespace {

struct Table {
  std::vector<std::string> head;
  std::vector<std::vector<std::string>> rows;
};

// What a report is made of, written once (compose) and rendered as HTML or Markdown.
class Page {
 public:
  virtual ~Page() = default;
  virtual void heading(const std::string& text) = 0;
  virtual void para(const std::string& text) = 0;
  virtual void table(const Table& t) = 0;
  // Collapsed in HTML (<details>), a titled table in Markdown.
  virtual void details(const std::string& summary, const Table& t) = 0;
  virtual void chart(const std::vector<Line>& lines, const ChartOptions& opt) = 0;
  virtual void quote(const std::string& label, const std::string& text) = 0;
};

class HtmlPage : public Page {
 public:
  std::string body;
  void heading(const std::string& t) override { body += fmt::format("<h2>{}</h2>\n", escape_html(t)); }
  void para(const std::string& t) override { body += fmt::format("<p>{}</p>\n", escape_html(t)); }
  void table(const Table& t) override { body += html_table(t); }
  void details(const std::string& s, const Table& t) override {
    body += fmt::format("<details><summary>{}</summary>\n{}</details>\n", escape_html(s), html_table(t));
  }
  void chart(const std::vector<Line>& lines, const ChartOptions& opt) override {
    body += "<figure>" + line_chart(lines, opt) + "</figure>\n";
  }
  void quote(const std::string& label, const std::string& text) override {
    body += fmt::format("<div class=\"quote\"><div class=\"label\">{}</div><pre>{}</pre></div>\n", escape_html(label),
                        escape_html(text));
  }

 private:
  static std::string html_table(const Table& t) {
    std::string s = "<table>\n<tr>";
    for (const auto& h : t.head) s += "<th>" + escape_html(h) + "</th>";
    s += "</tr>\n";
    for (const auto& r : t.rows) {
      s += "<tr>";
      for (const auto& c : r) s += "<td>" + escape_html(c) + "</td>";
      s += "</tr>\n";
    }
    return s + "</table>\n";
  }
};

// Cells of data text must not break the table: one line, no bare pipes.
std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r' || c == '\t') out += ' ';
    else out += c;
  }
  return out;
}

class MdPage : public Page {
 public:
  std::string body;
  void heading(const std::string& t) override { body += fmt::format("\n## {}\n\n", md_cell(t)); }
  void para(const std::string& t) override { body += t + "\n\n"; }
  void table(const Table& t) override {
    body += "| ";
    for (const auto& h : t.head) body += md_cell(h) + " | ";
    body += "\n|";
    for (size_t i = 0; i < t.head.size(); ++i) body += "---|";
    body += "\n";
    for (const auto& r : t.rows) {
      body += "| ";
      for (const auto& c : r) body += md_cell(c) + " | ";
      body += "\n";
    }
    body += "\n";
  }
  void details(const std::string& s, const Table& t) override {
    body += "**" + md_cell(s) + "**\n\n";
    table(t);
  }
  // Terminals get the curves' end points instead of a plot.
  void chart(const std::vector<Line>& lines, const ChartOptions& opt) override {
    Table t{{opt.title, "first", "last", "min", "max", "points"}, {}};
    for (const Line& l : lines) {
      std::vector<Point> fin;
      for (const Point& p : l.points)
        if (std::isfinite(p.value)) fin.push_back(p);
      if (fin.empty()) continue;
      auto [lo, hi] = std::minmax_element(fin.begin(), fin.end(), [](const Point& a, const Point& b) { return a.value < b.value; });
      t.rows.push_back({l.label, fmt::format("{:.4g}", fin.front().value), fmt::format("{:.4g}", fin.back().value),
                        fmt::format("{:.4g}", lo->value), fmt::format("{:.4g}", hi->value),
                        std::to_string(l.points.size())});
    }
    if (!t.rows.empty()) table(t);
  }
  void quote(const std::string& label, const std::string& text) override {
    // A fence longer than any run of backticks in the text, so generated text cannot end it.
    size_t longest = 0, run = 0;
    for (char c : text) longest = std::max(longest, run = c == '`' ? run + 1 : 0);
    const std::string fence(std::max<size_t>(3, longest + 1), '`');
    body += "**" + md_cell(label) + "**\n\n" + fence + "text\n" + text + "\n" + fence + "\n\n";
  }
};

std::string count(uint64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

std::string mib(double bytes) {
  if (!std::isfinite(bytes)) return "not recorded";
  return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0));
}

std::string pct(double f) { return fmt::format("{:.1f}%", 100.0 * f); }

uint64_t u64(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number_unsigned() ? j[key].get<uint64_t>() : 0;
}

std::string scalar(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{:.4g}", v.get<double>());
  return v.dump();
}

void composition(Page& page, const json& table, const char* what) {
  Table t{{what, "documents", "characters", "bytes", "synthetic share"}, {}};
  for (const auto& [key, row] : table.items()) {
    const double chars = static_cast<double>(u64(row, "characters"));
    t.rows.push_back({key, count(u64(row, "documents")), count(u64(row, "characters")), count(u64(row, "bytes")),
                      pct(chars > 0 ? static_cast<double>(u64(row, "synthetic_characters")) / chars : 0.0)});
  }
  page.table(t);
}

void data_section(Page& page, const DataFacts& d, bool examples = true) {
  page.heading("Data");
  if (!d.present) {
    page.para("Not run: the run has no curated documents (data/curated.jsonl.zst).");
    return;
  }
  const json& total = d.stats["total"];
  page.para(fmt::format("{} curated documents, {} characters, {} bytes ({}).", count(u64(total, "documents")),
                        count(u64(total, "characters")), count(u64(total, "bytes")), d.curated));
  composition(page, d.stats["by_lang"], "language");
  composition(page, d.stats["by_source"], "source");
  uint64_t syn = 0, chars = 0;
  for (const auto& [k, row] : d.stats["by_lang"].items()) syn += u64(row, "synthetic_characters"), chars += u64(row, "characters");
  page.para(fmt::format("Synthetic share: {} of characters.", pct(chars ? double(syn) / double(chars) : 0.0)));
  page.para(fmt::format("Deduplication removed {} exact and {} near duplicates; decontamination removed or flagged {}.",
                        count(d.dedup_exact), count(d.dedup_near), count(d.decontam)));
  if (d.rejects.empty()) {
    page.para("No rejects file was found, so removals per rule are unknown.");
    return;
  }
  Table rules{{"rule", "documents"}, {}};
  for (const auto& [rule, n] : d.stats["rejects"].items()) rules.rows.push_back({rule, count(n.get<uint64_t>())});
  page.para(fmt::format("Removed {} and altered {} documents ({}):", count(u64(d.stats, "removed_total")),
                        count(u64(d.stats, "altered_total")), d.rejects));
  page.table(rules);
  if (examples && !d.examples.empty()) {
    Table ex{{"rule", "where", "text"}, {}};
    for (const RejectExample& e : d.examples) ex.rows.push_back({e.rule, e.where, e.text});
    page.details("Examples of removed documents", ex);
  }
}

void tokenizer_section(Page& page, const TokenizerFacts& t) {
  page.heading("Tokenizer");
  if (!t.present) {
    page.para("Not run: the run has no tokenizer (tokenizer/tokenizer.json).");
    return;
  }
  page.para(fmt::format("Vocabulary: {} tokens. Bytes per token measured on {} of the curated documents "
                        "(higher is a better fit).", count(t.vocab_size), mib(static_cast<double>(t.sample_bytes))));
  Table tb{{"language", "documents", "bytes", "tokens", "bytes/token"}, {}};
  for (const LanguageTokens& l : t.languages)
    tb.rows.push_back({l.lang, count(l.documents), count(l.bytes), count(l.tokens), fmt::format("{:.2f}", l.bytes_per_token)});
  page.table(tb);
}

std::vector<Point> series(const TrainingLog& log, const std::string& key) {
  auto it = log.series.find(key);
  return it == log.series.end() ? std::vector<Point>{} : it->second;
}

std::vector<std::string> languages_of(const TrainingLog& log, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& [k, v] : log.series)
    if (k.starts_with(prefix)) out.push_back(k.substr(prefix.size()));
  return out;
}

void training_section(Page& page, const TrainingLog& log, const std::string& title, const std::string& absent) {
  page.heading(title);
  if (!log.present) {
    page.para(absent);
    return;
  }
  if (log.series.empty()) {
    page.para(fmt::format("{} holds no metrics yet.", log.path));
    return;
  }
  std::string facts = fmt::format("{} lines in {}", count(log.lines), log.path);
  if (log.last.contains("step")) facts += fmt::format("; last step {}", scalar(log.last["step"]));
  if (log.last.contains("loss")) facts += fmt::format(", loss {}", scalar(log.last["loss"]));
  if (log.skipped_steps) facts += fmt::format("; {} step(s) skipped by the spike guard", count(log.skipped_steps));
  if (log.bad_lines)
    facts += fmt::format("; {} malformed line(s) left out (first at {})", count(log.bad_lines), log.first_bad);
  page.para(facts + ".");
  std::vector<Line> loss{{"train loss", series(log, "loss")}};
  if (log.series.count("val_loss")) loss.push_back({"validation loss", series(log, "val_loss")});
  page.chart(loss, {.title = title + ": loss", .y_label = "loss (nats/token)"});
  std::vector<Line> bpb;
  for (const std::string& lang : languages_of(log, "val_bpb_")) bpb.push_back({lang, series(log, "val_bpb_" + lang)});
  if (!bpb.empty()) page.chart(bpb, {.title = title + ": validation bits per byte", .y_label = "bits per UTF-8 byte"});
  page.chart({{"lr", series(log, "lr")}}, {.title = title + ": learning rate", .y_label = "lr", .log_y = true});
  page.chart({{"grad norm", series(log, "grad_norm")}},
             {.title = title + ": gradient norm (before clipping)", .y_label = "L2 norm", .log_y = true});
  page.chart({{"tokens/s", series(log, "tokens_per_s")}}, {.title = title + ": throughput", .y_label = "tokens/s"});
  Table last{{"validation", "last value"}, {}};
  for (const auto& [k, pts] : log.series) {
    if (!k.starts_with("val_")) continue;
    for (auto it = pts.rbegin(); it != pts.rend(); ++it)
      if (std::isfinite(it->value)) {
        last.rows.push_back({k, fmt::format("{:.4f} (step {})", it->value, it->step)});
        break;
      }
  }
  if (!last.rows.empty()) page.table(last);
}

std::string with_se(const EvalTask& t) {
  if (std::isnan(t.stderr_of_mean)) return fmt::format("{:.4f}", t.value);
  return fmt::format("{:.4f} ± {:.4f}", t.value, t.stderr_of_mean);
}

void eval_section(Page& page, const EvalFacts& e, const RunFacts* baseline) {
  page.heading("Evaluation");
  if (!e.present) {
    page.para("Not run: no evaluation results (eval/*.json in lm-evaluation-harness layout).");
    return;
  }
  Table t{{"task", "metric", "score", "chance", "vs chance", "items"}, {}};
  if (baseline) t.head.insert(t.head.end(), {"baseline", "vs baseline"});
  for (const EvalTask& task : e.tasks) {
    std::vector<std::string> row{task.name, task.metric, with_se(task),
                                 std::isnan(task.chance) ? "unknown" : fmt::format("{:.4f}", task.chance),
                                 std::isnan(task.chance) ? "" : fmt::format("{:+.4f}", task.value - task.chance),
                                 count(task.samples)};
    if (baseline) {
      auto it = std::find_if(baseline->eval.tasks.begin(), baseline->eval.tasks.end(),
                             [&](const EvalTask& b) { return b.name == task.name && b.metric == task.metric; });
      if (it == baseline->eval.tasks.end()) row.insert(row.end(), {"not run", ""});
      else row.insert(row.end(), {with_se(*it), fmt::format("{:+.4f}", task.value - it->value)});
    }
    t.rows.push_back(std::move(row));
  }
  std::string from;
  for (const std::string& f : e.files) from += (from.empty() ? "" : ", ") + f;
  page.para("From " + from + (baseline ? fmt::format("; baseline: {}", baseline->dir) : "") + ".");
  page.table(t);
}

void baseline_section(Page& page, const RunFacts& run, const RunFacts& base) {
  page.heading("Against the baseline");
  Table t{{"figure", "this run", "baseline"}, {}};
  std::set<std::string> keys;
  for (const RunFacts* r : {&run, &base})
    for (const auto& [k, v] : r->pretrain.series)
      if (k == "loss" || k.starts_with("val_")) keys.insert(k);
  auto last_of = [](const RunFacts& r, const std::string& k) -> std::string {
    auto it = r.pretrain.series.find(k);
    if (it == r.pretrain.series.end()) return "—";
    for (auto p = it->second.rbegin(); p != it->second.rend(); ++p)
      if (std::isfinite(p->value)) return fmt::format("{:.4f}", p->value);
    return "—";
  };
  for (const std::string& k : keys) t.rows.push_back({"pretrain " + k + " (last)", last_of(run, k), last_of(base, k)});
  page.para("Baseline run: " + base.dir + ".");
  page.table(t);
}

void samples_section(Page& page, const RunFacts& r) {
  page.heading("Sample generations");
  if (r.final_checkpoint.empty()) {
    page.para("Not run: the run has no checkpoint to generate with.");
    return;
  }
  if (r.samples_skipped) {
    page.para("Skipped (--no-samples).");
    return;
  }
  page.para(fmt::format("Greedy continuations from {}:", r.final_checkpoint));
  for (const Sample& s : r.samples) page.quote(fmt::format("[{}] {}", s.lang, s.prompt), s.prompt + s.text);
}

// The synth stage's teacher figures and diversity report (docs/synth.md), per teacher, when
// the run asked teacher models; runs without a teacher have no such section.
void teacher_section(Page& page, const RunFacts& r) {
  const auto st = std::find_if(r.stages.begin(), r.stages.end(), [](const StageFacts& s) { return s.name == "synth"; });
  if (st == r.stages.end() || !st->summary.contains("teacher") || !st->summary["teacher"].is_object()) return;
  const json& t = st->summary["teacher"];
  page.heading("Teacher synthetic data");
  page.para(fmt::format("{} items planned from {} training documents, {} answered, {} kept ({} as SFT conversations); "
                        "{} requests, {} tokens, cost {}.",
                        scalar(t.value("planned", json(0))), scalar(t.value("seeds", json(0))),
                        scalar(t.value("answered", json(0))), scalar(t.value("kept", json(0))),
                        scalar(t.value("sft_conversations", json(0))), scalar(t.value("requests", json(0))),
                        scalar(t.value("tokens", json(0))), scalar(t.value("cost", json(0)))));
  const json div = t.value("diversity", json::object());
  if (!div.is_object() || !div.contains("all")) return;
  Table tb{{"teacher", "texts", "distinct-1", "distinct-2", "compression", "nn similarity", "near duplicates",
            "topics (effective)", "largest topic", "warnings"},
           {}};
  auto row = [&](const std::string& name, const json& d) {
    if (!d.is_object()) return;
    const json topics = d.value("topics", json::object());
    std::string warnings;
    for (const auto& w : d.value("warnings", json::array())) warnings += (warnings.empty() ? "" : "; ") + scalar(w);
    tb.rows.push_back({name, scalar(d.value("texts", json(0))), scalar(d.value("distinct_1", json(0))),
                       scalar(d.value("distinct_2", json(0))), scalar(d.value("compression_ratio", json(0))),
                       scalar(d.value("nn_similarity_mean", json(0))), pct(d.value("near_duplicate_share", 0.0)),
                       scalar(topics.value("effective", json(0))), pct(topics.value("largest_share", 0.0)),
                       warnings.empty() ? "none" : warnings});
  };
  row("all", div["all"]);
  if (div.contains("teachers") && div["teachers"].is_object())
    for (const auto& [name, d] : div["teachers"].items()) row(name, d);
  page.table(tb);
}

void stages_section(Page& page, const RunFacts& r) {
  page.heading("Stages: time and memory");
  if (r.stages.empty()) {
    page.para("No manifest: the run has not finished a stage yet.");
    return;
  }
  Table t{{"stage", "seconds", "peak memory (RSS)", "summary"}, {}};
  for (const StageFacts& s : r.stages) {
    std::string summary;
    for (const auto& [k, v] : s.summary.items()) {
      if (!v.is_primitive()) continue;
      summary += (summary.empty() ? "" : ", ") + k + " " + scalar(v);
      if (summary.size() > 300) {
        summary += ", …";
        break;
      }
    }
    t.rows.push_back({s.name, fmt::format("{:.1f}", s.seconds), mib(s.peak_rss_bytes), summary});
  }
  page.table(t);
}

void hashes_section(Page& page, const RunFacts& r) {
  page.heading("Files and hashes");
  if (r.stages.empty()) {
    page.para("No manifest, so no recorded hashes.");
    return;
  }
  page.para(fmt::format("From {} (XXH3-128 of the bytes on disk; `kormo verify {}` rechecks them).", r.manifest, r.dir));
  for (const char* side : {"outputs", "inputs"}) {
    Table t{{"stage", "path", "bytes", "xxh3_128"}, {}};
    for (const StageFacts& s : r.stages) {
      const json& files = std::string(side) == "outputs" ? s.outputs : s.inputs;
      for (const json& f : files)
        if (f.is_object())
          t.rows.push_back({s.name, f.value("path", std::string()), count(u64(f, "bytes")), f.value("xxh3_128", std::string())});
    }
    page.details(fmt::format("{} ({} files)", side, t.rows.size()), t);
  }
}

void overview(Page& page, const RunFacts& r) {
  std::string s = "Run directory " + r.dir;
  if (r.program.is_object() && r.program.contains("version"))
    s += fmt::format("; kormo {} ({})", scalar(r.program["version"]), scalar(r.program.value("git_commit", json(""))));
  if (!r.config_source.empty()) s += "; config " + r.config_source;
  if (!r.written_at.empty()) s += "; manifest written " + r.written_at;
  if (r.manifest == "manifest.partial.json") s += " (the run has not completed: partial manifest)";
  page.para(s + ".");
}

void compose(Page& page, const RunFacts& r, const RunFacts* base) {
  overview(page, r);
  data_section(page, r.data);
  teacher_section(page, r);
  tokenizer_section(page, r.tokenizer);
  training_section(page, r.pretrain, "Pretraining", "Not run: no pretrain/metrics.jsonl.");
  training_section(page, r.sft, "SFT", "Not run: no sft/metrics.jsonl.");
  eval_section(page, r.eval, base);
  if (base) baseline_section(page, r, *base);
  samples_section(page, r);
  stages_section(page, r);
  hashes_section(page, r);
}

constexpr const char* kStyle = R"(body{font-family:sans-serif;margin:24px auto;max-width:980px;color:#222;background:#fff}
h1{font-size:1.6em;border-bottom:2px solid #1f77b4}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0;font-size:.9em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef3f8}td{max-width:560px;overflow-wrap:anywhere}figure{margin:8px 0}
.chart{background:#fff;border:1px solid #ddd}.chart .plot{fill:#fafafa;stroke:#999}.chart .grid{stroke:#e2e2e2}
.chart text{font-size:11px;fill:#333}.chart .title{font-size:13px;font-weight:bold}.chart .xtick{text-anchor:middle}
.chart .ytick{text-anchor:end;dominant-baseline:middle}.chart .xlabel,.chart .ylabel{text-anchor:middle}
.chart .series{fill:none;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}.chart .empty{fill:#999}
.quote{border-left:4px solid #1f77b4;margin:8px 0;padding:4px 10px;background:#f6f8fa}.quote .label{font-size:.85em;color:#555}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:4px 0}details{margin:6px 0}summary{cursor:pointer;color:#1f4f7f})";

}  // namespace

std::string render_html(const RunFacts& run, const RunFacts* baseline) {
  HtmlPage page;
  compose(page, run, baseline);
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>kormo run report: {}</title>\n<style>\n{}\n</style>\n</head>\n<body>\n<h1>kormo run report</h1>\n{}"
      "</body>\n</html>\n",
      escape_html(run.dir), kStyle, page.body);
}

std::string render_markdown(const RunFacts& run, const RunFacts* baseline) {
  MdPage page;
  compose(page, run, baseline);
  return "# kormo run report\n\n" + page.body;
}

namespace {

std::string architecture(const json& c) {
  if (!c.is_object() || c.empty()) return "No checkpoint: the run has not trained a model yet.\n";
  std::string s = "| field | value |\n|---|---|\n";
  for (const char* k : {"architectures", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                        "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings", "rope_theta",
                        "tie_word_embeddings", "torch_dtype"})
    if (c.contains(k)) s += fmt::format("| {} | {} |\n", k, md_cell(scalar(c[k])));
  return s;
}

}  // namespace

std::string model_card(const RunFacts& r) {
  MdPage page;
  data_section(page, r.data, /*examples=*/false);  // the dataset card has them
  std::string phases = "| phase | steps | last loss | validation bits per byte (last) | metrics |\n|---|---|---|---|---|\n";
  std::vector<std::pair<std::string, const TrainingLog*>> logs;
  for (const auto& [name, log] : r.pretrain_phases) logs.emplace_back("pretrain " + name, &log);
  if (logs.empty()) logs.emplace_back("pretrain", &r.pretrain);
  logs.emplace_back("sft", &r.sft);
  for (const auto& [name, log] : logs) {
    if (!log->present) continue;
    std::string bpb;
    for (const std::string& lang : languages_of(*log, "val_bpb_")) {
      const std::vector<Point> pts = series(*log, "val_bpb_" + lang);
      auto last = std::find_if(pts.rbegin(), pts.rend(), [](const Point& p) { return std::isfinite(p.value); });
      if (last != pts.rend()) bpb += fmt::format("{}{} {:.3f}", bpb.empty() ? "" : ", ", lang, last->value);
    }
    phases += fmt::format("| {} | {} | {} | {} | {} |\n", name, log->last.contains("step") ? scalar(log->last["step"]) : "—",
                          log->last.contains("loss") ? scalar(log->last["loss"]) : "—", bpb.empty() ? "—" : bpb,
                          log->path);
  }
  MdPage eval;
  eval_section(eval, r.eval, nullptr);
  return fmt::format(
      "---\nlanguage:\n- ko\n- en\nlibrary_name: transformers\npipeline_tag: text-generation\n---\n\n"
      "# Model card: {}\n\nA Korean–English causal language model trained from scratch by kormo.cpp (`kormo run`), "
      "checkpoint `{}`. Every number below is generated from the run directory; `manifest.json` holds the hash of "
      "every input and output.\n\n## Architecture\n\n{}\n## Training phases\n\n{}{}{}\n## Limitations\n\n"
      "A small model trained on a small corpus: it continues text in the style of its training data and is not "
      "a reliable source of facts.\n",
      r.dir, r.final_checkpoint.empty() ? "none" : r.final_checkpoint, architecture(r.model_config), phases, page.body,
      eval.body);
}

std::string dataset_card(const RunFacts& r) {
  MdPage page;
  data_section(page, r.data);
  std::string sources;
  if (r.config.contains("data")) sources = "```json\n" + r.config["data"].dump(2) + "\n```\n";
  return fmt::format(
      "---\nlanguage:\n- ko\n- en\n---\n\n# Dataset card: curated documents of {}\n\n"
      "Documents in Dolma's JSON Lines layout (`id`, `text`, `lang`, `source`, `synthetic`, `meta`), curated by "
      "`kormo data pipeline` (normalisation, language id, quality filters, PII masking, deduplication, "
      "decontamination). Every removed document is in the rejects file with its rule and where it came from.\n\n"
      "## Curation settings\n\n{}{}",
      r.dir, sources.empty() ? "Not recorded (no manifest).\n" : sources, page.body);
}

}  // namespace kormo::report
