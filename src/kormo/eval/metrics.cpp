#include "kormo/eval/metrics.h"

#include <cmath>
#include <map>
#include <set>

#include "kormo/eval/extract.h"
#include "kormo/text/utf8.h"
#include "kormo/util/error.h"

namespace kormo::eval {

namespace {

int64_t argmax(const std::vector<double>& v) {
  int64_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[static_cast<size_t>(best)]) best = static_cast<int64_t>(i);
  return best;
}

double macro_f1(const std::vector<int64_t>& gold, const std::vector<int64_t>& pred) {
  std::set<int64_t> labels(gold.begin(), gold.end());
  labels.insert(pred.begin(), pred.end());
  if (labels.empty()) return 0;
  std::map<int64_t, int64_t> tp, fp, fn;
  for (size_t i = 0; i < gold.size(); ++i) {
    if (gold[i] == pred[i]) ++tp[gold[i]];
    else ++fp[pred[i]], ++fn[gold[i]];
  }
  double sum = 0;
  for (int64_t l : labels) {
    const double d = 2.0 * tp[l] + fp[l] + fn[l];
    sum += d > 0 ? 2.0 * tp[l] / d : 0.0;
  }
  return sum / static_cast<double>(labels.size());
}

}  // namespace

MetricValue mean_with_stderr(const std::string& name, const std::vector<double>& x) {
  MetricValue m{name, 0, std::nullopt};
  if (x.empty()) return m;
  double sum = 0;
  for (double v : x) sum += v;
  m.value = sum / static_cast<double>(x.size());
  if (x.size() > 1) {
    double ss = 0;
    for (double v : x) ss += (v - m.value) * (v - m.value);
    m.stderr_of_mean = std::sqrt(ss / static_cast<double>(x.size() - 1)) / std::sqrt(static_cast<double>(x.size()));
  }
  return m;
}

int64_t predicted(const ChoiceOutcome& o) { return argmax(o.loglikelihoods); }

int64_t predicted_norm(const ChoiceOutcome& o) {
  std::vector<double> norm(o.loglikelihoods.size());
  for (size_t i = 0; i < norm.size(); ++i) norm[i] = o.loglikelihoods[i] / static_cast<double>(o.choice_chars[i]);
  return argmax(norm);
}

std::vector<MetricValue> multiple_choice_metrics(const std::vector<ChoiceOutcome>& outcomes,
                                                 const std::vector<std::string>& metrics) {
  std::vector<MetricValue> out;
  for (const auto& name : metrics) {
    if (name == "acc" || name == "acc_norm") {
      std::vector<double> hit;
      for (const auto& o : outcomes) hit.push_back((name == "acc" ? predicted(o) : predicted_norm(o)) == o.gold);
      out.push_back(mean_with_stderr(name, hit));
    } else if (name == "f1") {
      std::vector<int64_t> gold, pred;
      for (const auto& o : outcomes) gold.push_back(o.gold), pred.push_back(predicted(o));
      out.push_back({name, macro_f1(gold, pred), std::nullopt});
    } else {
      fail_internal("unknown metric '{}'", name);
    }
  }
  return out;
}

}  // namespace kormo::eval

namespace kormo::eval {

int64_t count_words(std::string_view text) {
  // Python's \s in a str pattern is str.isspace: the pieces are one more than the runs.
  int64_t pieces = 1;
  bool in_space = false;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    char32_t c = 0;
    const bool ok = text::decode_next(text, pos, c);
    if (!ok && pos == start) ++pos;
    const bool space = ok && trailing_whitespace(text.substr(start, pos - start)) > 0;
    if (space && !in_space) ++pieces;
    in_space = space;
  }
  return pieces;
}

std::vector<MetricValue> rolling_metrics(const std::vector<RollingOutcome>& outcomes,
                                         const std::vector<std::string>& metrics) {
  double ll = 0, words = 0, bytes = 0;
  for (const auto& o : outcomes) ll += o.loglikelihood, words += static_cast<double>(o.words), bytes += static_cast<double>(o.bytes);
  std::vector<MetricValue> out;
  for (const auto& name : metrics) {
    if (name == "word_perplexity") out.push_back({name, std::exp(-ll / words), std::nullopt});
    else if (name == "byte_perplexity") out.push_back({name, std::exp(-ll / bytes), std::nullopt});
    else if (name == "bits_per_byte") out.push_back({name, -ll / bytes / std::log(2.0), std::nullopt});
    else fail_internal("unknown metric '{}'", name);
  }
  return out;
}

}  // namespace kormo::eval
