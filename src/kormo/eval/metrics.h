// Metrics of multiple-choice tasks, computed as lm-evaluation-harness computes them.
//
// Promises:
//  - acc: the gold option has the highest log-likelihood (first maximum on ties, as
//    numpy.argmax); acc_norm: the same after dividing each log-likelihood by its choice's
//    length in characters (Unicode code points, Python's len); f1: scikit-learn's macro F1
//    over the labels seen in golds and predictions (a label's F1 is 0 when undefined).
//  - Standard errors of the means are the sample standard deviation (n − 1) over √n;
//    f1 has none (lm-eval reports "N/A" for it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kormo::eval {

struct ChoiceOutcome {
  std::vector<double> loglikelihoods;
  std::vector<int64_t> choice_chars;  // code points of each choice (without the delimiter)
  int64_t gold = 0;
};

int64_t predicted(const ChoiceOutcome& o);
int64_t predicted_norm(const ChoiceOutcome& o);

struct MetricValue {
  std::string name;
  double value = 0;
  std::optional<double> stderr_of_mean;
  std::string filter = "none";  // generate_until: the answer extraction it was computed after
};

// Corpus perplexities of rolling log-likelihoods, as lm-eval aggregates them
// (weighted_perplexity, bits_per_byte): word_perplexity = exp(−Σll / Σwords),
// byte_perplexity = exp(−Σll / Σbytes), bits_per_byte = −Σll / Σbytes / ln 2. No
// standard errors (lm-eval has none for these: "N/A").
struct RollingOutcome {
  double loglikelihood = 0;
  int64_t words = 0;  // len(re.split(r"\s+", text)), as lm-eval counts words
  int64_t bytes = 0;  // UTF-8 bytes
};
std::vector<MetricValue> rolling_metrics(const std::vector<RollingOutcome>& outcomes,
                                         const std::vector<std::string>& metrics);
// lm-eval's count_words: the pieces re.split(r"\s+", text) makes (Unicode whitespace).
int64_t count_words(std::string_view text);

// The mean of per-item values (0/1 for exact_match) with its sample standard error.
MetricValue mean_with_stderr(const std::string& name, const std::vector<double>& x);

// `metrics`: names among acc, acc_norm, f1, in the order wanted.
std::vector<MetricValue> multiple_choice_metrics(const std::vector<ChoiceOutcome>& outcomes,
                                                 const std::vector<std::string>& metrics);

}  // namespace kormo::eval
