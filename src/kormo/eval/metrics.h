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
};

// `metrics`: names among acc, acc_norm, f1, in the order wanted.
std::vector<MetricValue> multiple_choice_metrics(const std::vector<ChoiceOutcome>& outcomes,
                                                 const std::vector<std::string>& metrics);

}  // namespace kormo::eval
