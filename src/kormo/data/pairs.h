// Translation-quality checks for aligned pairs (`kormo data pairs`): cheap,
// model-free tests that catch the usual failures of mined or machine-made
// translations — truncated or padded output, an untranslated copy or the
// wrong language, dropped or changed numbers, dropped names.
//
// Each check looks at one pair; the first failing check removes it (rule
// pairs.<check>), and the report counts, for every check on its own, how many
// pairs fail it, so a threshold can be judged by what it would remove.
#pragma once

#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kormo::data {

struct PairOptions {
  std::string src_field = "ko", tgt_field = "en";
  std::string src_lang = "ko", tgt_lang = "en";  // what identify_language() must say of each side
  // Characters of the target per character of the source.
  double min_ratio = 0.9, max_ratio = 4.5;
  bool length = true, script = true, numbers = true, entities = true;
  // The model check (pairs.model), after the others, when `model` is set (kormo data
  // pairs --model gives eval::pair_scores): model(sources, targets) scores chunks of the
  // well-formed pairs, higher = better, NaN = cannot be scored (passes, counted as
  // model_unscored). A pair below model_min fails it; with model_min NaN the threshold
  // is the nearest-rank model_quantile of the scores, so about that share fails.
  std::function<std::vector<double>(std::span<const std::string>, std::span<const std::string>)> model;
  double model_min = std::numeric_limits<double>::quiet_NaN();
  double model_quantile = 0.1;
};

struct PairCheck {
  std::string rule;  // "" = passed
  nlohmann::json detail;
};

// The checks in order: length (ratio outside [min_ratio, max_ratio]), script
// (either side not identified as its language), numbers (a number above ten
// written in digits on the source side, not part of a Korean numeral with
// units such as 만 or 억 and not followed by 월 or 일, is missing on the target
// side; "1,000" = "1000"), entities (a Latin-
// script name on the Korean side — a word with a capital letter or a digit,
// such as PyTorch, GPU, iPhone 15 — is missing on the target side, ignoring
// case). `failed` gets every failing check's rule.
PairCheck check_pair(std::string_view src, std::string_view tgt, const PairOptions& o,
                     std::vector<std::string>* failed = nullptr);

// Streams JSONL pairs: kept lines to `output` unchanged, removed pairs and bad
// lines to `rejects`; returns the report (input, kept, removed by rule,
// failing by check with shares, and with a model its threshold). With a model
// the input is read twice (scores first), so it cannot be stdin.
nlohmann::json filter_pairs(const std::vector<std::string>& inputs, const std::string& output,
                            const std::string& rejects, const PairOptions& o);

}  // namespace kormo::data
