#include "kormo/data/pairs.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iterator>
#include <map>
#include <set>

#include "kormo/data/document.h"
#include "kormo/data/langid.h"
#include "kormo/data/words.h"
#include "kormo/text/utf8.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"

namespace kormo::data {

using nlohmann::json;

namespace {

// Numbers written in digits, with thousands separators and a decimal point
// kept as one number ("1,000.5" -> "1000.5"). Whole numbers up to 10 are left
// out (English spells them), and with `skip_korean_units` so is a number
// followed by a Korean numeral unit (1억, 3천만) or by 월/일 (month, day), or
// following a unit (1만8500): its translation spells the value differently
// (100 million, 18,500, September, Monday).
std::multiset<std::string> numbers(std::string_view s, bool skip_korean_units) {
  // Numeral units, and 월/일 (9월 = September; news turns 24일 into "Monday").
  static const std::string_view kUnits[] = {"만", "억", "조", "천", "백", "십", "월", "일"};
  std::multiset<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    if (!text::is_ascii_digit(s[i]) ||
        (i > 0 && (text::is_ascii_digit(s[i - 1]) || std::isalpha(static_cast<unsigned char>(s[i - 1]))))) {
      ++i;
      continue;
    }
    // The digits after a unit belong to a compound numeral: 1만8500 = 18,500.
    bool after_unit = false;
    if (skip_korean_units)
      for (auto u : kUnits)
        after_unit = after_unit || (i >= u.size() && s.substr(i - u.size(), u.size()) == u && u != "월" && u != "일");
    std::string n;
    size_t j = i;
    while (j < s.size()) {
      if (text::is_ascii_digit(s[j])) n += s[j++];
      else if ((s[j] == ',' || s[j] == '.') && j + 1 < s.size() && text::is_ascii_digit(s[j + 1]) && !n.empty()) {
        if (s[j] == '.') n += '.';
        ++j;
      } else {
        break;
      }
    }
    bool unit = false;
    if (skip_korean_units)
      for (auto u : kUnits) unit = unit || s.substr(j, u.size()) == u;
    // Numbers up to ten are spelled out in English prose ("six", "a year").
    bool small = n.find('.') == std::string::npos && n.size() <= 2 && std::stoi(n) <= 10;
    if (!unit && !after_unit && !small) out.insert(n);
    i = j;
  }
  return out;
}

// Latin-script names: ASCII words with a capital letter or a digit among letters.
std::vector<std::string> latin_names(std::string_view s) {
  std::vector<std::string> out;
  for (const Word& w : split_words(s)) {
    if (w.punct) continue;
    std::string_view t = w.text;
    // The ASCII head of an eojeol: "PyTorch로" -> "PyTorch".
    size_t n = 0;
    while (n < t.size() && static_cast<unsigned char>(t[n]) < 0x80) ++n;
    t = t.substr(0, n);
    bool letter = false, mark = false;
    for (char c : t) {
      letter = letter || std::isalpha(static_cast<unsigned char>(c));
      mark = mark || std::isupper(static_cast<unsigned char>(c)) || text::is_ascii_digit(c);
    }
    if (t.size() >= 2 && letter && mark) out.emplace_back(t);
  }
  return out;
}

}  // namespace

PairCheck check_pair(std::string_view src, std::string_view tgt, const PairOptions& o, std::vector<std::string>* failed) {
  PairCheck first;
  auto fail_check = [&](const char* rule, json detail) {
    if (failed) failed->push_back(rule);
    if (first.rule.empty()) first = {rule, std::move(detail)};
  };
  size_t sc = text::count_code_points(src), tc = text::count_code_points(tgt);
  if (o.length) {
    double r = sc ? double(tc) / double(sc) : 0;
    if (r < o.min_ratio || r > o.max_ratio) fail_check("pairs.length_ratio", {{"value", r}});
  }
  if (o.script) {
    LangScore ls = identify_language(src), lt = identify_language(tgt);
    if (ls.lang != o.src_lang || lt.lang != o.tgt_lang)
      fail_check("pairs.script", {{"src_lang", ls.lang}, {"tgt_lang", lt.lang}});
  }
  if (o.numbers) {
    std::multiset<std::string> want = numbers(src, o.src_lang == "ko"), have = numbers(tgt, o.tgt_lang == "ko");
    std::vector<std::string> missing;
    std::set_difference(want.begin(), want.end(), have.begin(), have.end(), std::back_inserter(missing));
    if (!missing.empty()) fail_check("pairs.numbers", {{"missing", missing}});
  }
  if (o.entities && o.src_lang == "ko") {
    std::string lower = ascii_lower(tgt);
    std::vector<std::string> missing;
    for (const auto& name : latin_names(src))
      if (lower.find(ascii_lower(name)) == std::string::npos) missing.push_back(name);
    if (!missing.empty()) fail_check("pairs.entities", {{"missing", missing}});
  }
  return first;
}

json filter_pairs(const std::vector<std::string>& inputs, const std::string& output, const std::string& rejects,
                  const PairOptions& o) {
  if (!(o.min_ratio >= 0 && o.min_ratio <= o.max_ratio))
    fail_usage("pairs: expected 0 <= --min-ratio <= --max-ratio, got {} and {}", o.min_ratio, o.max_ratio);
  if (o.model && std::isnan(o.model_min) && !(o.model_quantile > 0 && o.model_quantile < 1))
    fail_usage("pairs: expected 0 < model quantile < 1, got {}", o.model_quantile);
  // Every line in order: a well-formed pair's object, or a bad line's rule and reason.
  auto for_each_pair = [&](const std::function<void(const std::string& where, std::string_view line, const json* j,
                                                    const char* bad_rule, const std::string& why)>& fn) {
    for (const auto& f : inputs) {
      if (o.model && f == "-") fail_usage("pairs: with a model the input is read twice, so not from stdin");
      LineReader r(f);
      std::string_view line;
      while (r.next(line)) {
        std::string where = fmt::format("{}:{}", f, r.line_number());
        if (text::find_invalid_utf8(line) != text::kValid) {
          fn(where, line, nullptr, "bad_input.invalid_utf8", "invalid UTF-8");
          continue;
        }
        json j = parse_json_or_discarded(line);
        if (!j.is_object()) {
          fn(where, line, nullptr, "bad_input.malformed_json", "expected a JSON object");
          continue;
        }
        auto s = j.find(o.src_field), t = j.find(o.tgt_field);
        if (s == j.end() || t == j.end() || !s->is_string() || !t->is_string()) {
          fn(where, line, nullptr, "bad_input.missing_text",
             fmt::format("expected string fields \"{}\" and \"{}\"", o.src_field, o.tgt_field));
          continue;
        }
        fn(where, line, &j, nullptr, "");
      }
    }
  };

  // With a model, a first pass scores every well-formed pair, a chunk at a time.
  std::vector<double> scores;
  double threshold = o.model_min;
  if (o.model) {
    std::vector<std::string> src, tgt;
    auto flush = [&] {
      const std::vector<double> got = o.model(src, tgt);
      if (got.size() != src.size()) fail_internal("pairs: the model scored {} of {} pairs", got.size(), src.size());
      scores.insert(scores.end(), got.begin(), got.end());
      src.clear();
      tgt.clear();
    };
    for_each_pair([&](const std::string&, std::string_view, const json* j, const char*, const std::string&) {
      if (!j) return;
      src.push_back((*j)[o.src_field].get<std::string>());
      tgt.push_back((*j)[o.tgt_field].get<std::string>());
      if (src.size() == 256) flush();
    });
    flush();
    std::vector<double> sorted;
    for (double x : scores)
      if (!std::isnan(x)) sorted.push_back(x);
    if (std::isnan(threshold) && !sorted.empty()) {
      std::sort(sorted.begin(), sorted.end());
      // Nearest rank: the lowest ⌈q·n⌉ − 1 scores are below it.
      const auto rank = static_cast<size_t>(std::ceil(o.model_quantile * static_cast<double>(sorted.size())));
      threshold = sorted[std::max<size_t>(rank, 1) - 1];
    }
  }

  AtomicWriter out(output), rej(rejects);
  uint64_t input = 0, kept = 0;
  size_t scored = 0;
  uint64_t unscored = 0;
  std::map<std::string, uint64_t> removed, failing;
  for_each_pair([&](const std::string& where, std::string_view line, const json* j, const char* bad_rule,
                    const std::string& why) {
    ++input;
    if (!j) {
      rej.write_line(bad_input_record(bad_rule, where, why, line));
      ++removed[bad_rule];
      return;
    }
    std::vector<std::string> failed;
    PairCheck c = check_pair((*j)[o.src_field].get<std::string>(), (*j)[o.tgt_field].get<std::string>(), o, &failed);
    if (o.model) {
      if (scored >= scores.size()) fail_io("{}: the input changed between the two passes over it", where);
      const double score = scores[scored++];
      unscored += std::isnan(score);
      if (score < threshold) {
        failed.push_back("pairs.model");
        if (c.rule.empty()) c = {"pairs.model", {{"score", score}, {"threshold", threshold}}};
      }
    }
    for (const auto& rule : failed) ++failing[rule];
    if (c.rule.empty()) {
      out.write_line(line);
      ++kept;
      return;
    }
    ++removed[c.rule];
    rej.write_line(json{{"action", "removed"}, {"rule", c.rule}, {"where", where}, {"detail", c.detail}, {"pair", *j}}
                       .dump(-1, ' ', false, json::error_handler_t::replace));
  });
  if (scored != scores.size()) fail_io("{}: the input changed between the two passes over it", inputs.back());
  out.commit();
  rej.commit();
  json share = json::object();
  for (const auto& [rule, n] : failing) share[rule] = input ? double(n) / double(input) : 0.0;
  json report = {{"input", input}, {"kept", kept}, {"removed", removed}, {"failing", failing}, {"failing_share", share}};
  if (o.model) {
    report["model_threshold"] = std::isnan(threshold) ? json() : json(threshold);
    report["model_unscored"] = unscored;
  }
  return report;
}

}  // namespace kormo::data
