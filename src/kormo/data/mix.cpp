#include "kormo/data/mix.h"

#include <cmath>

#include "kormo/data/job.h"
#include "kormo/text/utf8.h"
#include "kormo/util/error.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"
#include "kormo/util/json.h"

namespace kormo::data {

using nlohmann::json;

std::string group_key(const Document& doc, const std::vector<std::string>& by) {
  std::string key;
  for (const auto& f : by) {
    if (!key.empty()) key += '/';
    if (f == "lang") key += doc.lang.empty() ? "unknown" : doc.lang;
    else if (f == "source") key += doc.source.empty() ? "unknown" : doc.source;
    else if (f == "synthetic") key += doc.synthetic ? "synthetic" : "natural";
    else fail("mix: cannot group by \"{}\" (expected lang, source or synthetic)", f);
  }
  return key;
}

json mix_files(const std::vector<std::string>& inputs, const std::string& output, const MixOptions& opt) {
  if (opt.targets.empty()) fail("mix: no target shares given");
  check_output_path(output, inputs);
  double share_sum = 0;
  for (const auto& [g, s] : opt.targets) {
    if (s < 0) fail("mix: share of {} is negative", g);
    share_sum += s;
  }
  if (share_sum <= 0) fail("mix: target shares sum to 0");
  // Pass 1: sizes per group.
  std::map<std::string, double> have;
  double total = 0;
  auto each_doc = [&](const std::function<void(Document&)>& fn) {
    for_each_document(inputs, opt.text_field, fn, [](const std::string& where, const std::string& why) {
      fail("{}: {} (mix reads curated documents; run the filters first)", where, why);
    });
  };
  each_doc([&](const Document& d) {
    double units = opt.by_chars ? double(text::count_code_points(d.text)) : 1.0;
    have[group_key(d, opt.by)] += units;
    total += units;
  });
  double target_total = opt.total > 0 ? opt.total : total;
  std::map<std::string, double> scale;
  json report = json::object();
  for (const auto& [g, s] : opt.targets) {
    double want = s / share_sum * target_total;
    double h = have.count(g) ? have[g] : 0;
    if (h == 0 && want > 0) log_warn("mix: group {} has no documents; its share cannot be met", g);
    scale[g] = h > 0 ? want / h : 0;
    report[g] = {{"have", h}, {"wanted", want}, {"scale", scale[g]}, {"written", 0.0}};
  }
  // Pass 2: write.
  AtomicWriter out(output);
  uint64_t index = 0;
  each_doc([&](const Document& d) {
    std::string g = group_key(d, opt.by);
    ++index;
    auto it = scale.find(g);
    double f = it != scale.end() ? it->second : (opt.keep_others ? 1.0 : 0.0);
    double whole = std::floor(f);
    // Uniform in [0,1) from (seed, index): the same document gets the same decision on every run.
    uint64_t h = xxh3_64(std::string_view(reinterpret_cast<const char*>(&index), sizeof index), opt.seed);
    double u = double(h >> 11) * 0x1.0p-53;
    int copies = static_cast<int>(whole) + (u < f - whole ? 1 : 0);
    if (copies == 0) return;
    std::string line = to_json_line(d);
    for (int c = 0; c < copies; ++c) out.write_line(line);
    if (report.contains(g))
      report[g]["written"] = report[g]["written"].get<double>() +
                             copies * (opt.by_chars ? double(text::count_code_points(d.text)) : 1.0);
  });
  out.commit();
  return report;
}

json corpus_stats(const std::vector<std::string>& inputs, const std::vector<std::string>& rejects,
                  const TokenCounter& count_tokens, const std::string& text_field) {
  json by_lang = json::object(), by_source = json::object();
  uint64_t docs = 0, chars = 0, bytes = 0, tokens = 0, bad = 0;
  auto add = [&](json& table, const std::string& key, uint64_t c, uint64_t b, uint64_t t, bool syn) {
    json& row = table[key];
    if (row.is_null()) row = {{"documents", 0}, {"characters", 0}, {"bytes", 0}, {"synthetic_documents", 0},
                              {"synthetic_characters", 0}};
    row["documents"] = row["documents"].get<uint64_t>() + 1;
    row["characters"] = row["characters"].get<uint64_t>() + c;
    row["bytes"] = row["bytes"].get<uint64_t>() + b;
    if (syn) {
      row["synthetic_documents"] = row["synthetic_documents"].get<uint64_t>() + 1;
      row["synthetic_characters"] = row["synthetic_characters"].get<uint64_t>() + c;
    }
    if (count_tokens) row["tokens"] = row.value("tokens", uint64_t(0)) + t;
  };
  for_each_document(
      inputs, text_field,
      [&](Document& doc) {
        uint64_t c = text::count_code_points(doc.text), b = doc.text.size();
        uint64_t t = count_tokens ? count_tokens(doc.text) : 0;
        ++docs, chars += c, bytes += b, tokens += t;
        add(by_lang, doc.lang.empty() ? "unknown" : doc.lang, c, b, t, doc.synthetic);
        add(by_source, doc.source.empty() ? "unknown" : doc.source, c, b, t, doc.synthetic);
      },
      [&](const std::string& where, const std::string& why) {
        log_warn("{}: {}", where, why);
        ++bad;
      });
  for (auto& [lang, row] : by_lang.items()) {
    double c = row["characters"].get<double>();
    row["synthetic_share"] = c > 0 ? row["synthetic_characters"].get<double>() / c : 0.0;
  }
  json removed = json::object();
  uint64_t removed_total = 0, altered_total = 0;
  for (const auto& f : rejects) {
    LineReader r(f);
    std::string_view line;
    while (r.next(line)) {
      json j = parse_json_or_discarded(line);
      if (j.is_discarded() || !j.is_object() || !j.contains("rule"))
        fail("{}:{}: expected a rejects record with a \"rule\" field", f, r.line_number());
      std::string key = j.value("action", "removed") + "." + j["rule"].get<std::string>();
      removed[key] = removed.value(key, uint64_t(0)) + 1;
      (j.value("action", "removed") == "removed" ? removed_total : altered_total) += 1;
    }
  }
  json total = {{"documents", docs}, {"characters", chars}, {"bytes", bytes}, {"bad_lines", bad}};
  if (count_tokens) total["tokens"] = tokens;
  return {{"total", total},           {"by_lang", by_lang},         {"by_source", by_source},
          {"rejects", removed},       {"removed_total", removed_total}, {"altered_total", altered_total}};
}

std::string format_stats(const json& s) {
  bool tok = s["total"].contains("tokens");
  std::string out;
  auto table = [&](const char* title, const json& t) {
    out += fmt::format("{:<24} {:>10} {:>14} {:>14}{} {:>9}\n", title, "docs", "chars", "bytes",
                       tok ? fmt::format(" {:>12}", "tokens") : "", "synth%");
    for (const auto& [k, row] : t.items()) {
      double c = row["characters"].get<double>();
      double syn = c > 0 ? 100.0 * row["synthetic_characters"].get<double>() / c : 0.0;
      out += fmt::format("{:<24} {:>10} {:>14} {:>14}{} {:>8.1f}%\n", k, row["documents"].get<uint64_t>(),
                         row["characters"].get<uint64_t>(), row["bytes"].get<uint64_t>(),
                         tok ? fmt::format(" {:>12}", row.value("tokens", uint64_t(0))) : "", syn);
    }
    out += '\n';
  };
  table("language", s["by_lang"]);
  table("source", s["by_source"]);
  const json& t = s["total"];
  out += fmt::format("total: {} documents, {} characters, {} bytes{}\n", t["documents"].get<uint64_t>(),
                     t["characters"].get<uint64_t>(), t["bytes"].get<uint64_t>(),
                     tok ? fmt::format(", {} tokens", t["tokens"].get<uint64_t>()) : "");
  if (!s["rejects"].empty()) {
    out += "\nrejects by rule:\n";
    for (const auto& [k, v] : s["rejects"].items()) out += fmt::format("  {:<48} {:>10}\n", k, v.get<uint64_t>());
  }
  return out;
}

}  // namespace kormo::data
