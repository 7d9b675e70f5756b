// Document classifiers on fastText (Debian's libfasttext): training
// (`kormo data classify train`) and the `classifier` step of `kormo data filter`
// and the pipeline, which scores every document and drops those outside a band.
//
// Promises:
//  - Scores are fastText's own: the step feeds the library the same line that
//    `fasttext predict-prob MODEL FILE -1` reads from FILE, so its probabilities
//    equal the Debian binary's (tests/python/test_data_classifier.py).
//  - The text is turned into that line by fasttext_line() alone, in training and
//    in scoring, so a model sees at prediction what it saw in training.
//  - A model is written under a temporary name and renamed; training input
//    errors name file:line.
// fastText's headers stay out of this one (pimpl), so users of data/ do not
// compile against them.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kormo {
class ConfigSection;
}

namespace kormo::data {

// The one text preprocessing for fastText: every character fastText treats as
// a separator (space, \t \n \v \f \r, NUL) becomes one space, so the document is
// one input line and no token changes; a word starting with fastText's label
// prefix "__label__" loses its first '_' so document text can never be read as
// a label. No lower-casing: Korean has no case, and for English case is a
// quality signal (all-caps spam), which the model may learn.
std::string fasttext_line(std::string_view text);

class FastTextModel {
 public:
  // Throws naming the path when the file is missing or not a fastText model.
  explicit FastTextModel(const std::string& path);
  ~FastTextModel();
  FastTextModel(const FastTextModel&) = delete;
  FastTextModel& operator=(const FastTextModel&) = delete;

  // Every label with its probability, best first, exactly as predict-prob with
  // k = -1 prints them (fastText adds 1e-5 before its log, so a certain label
  // scores 1.00001). Labels without the "__label__" prefix. Thread-safe.
  std::vector<std::pair<std::string, double>> predict(std::string_view text) const;
  // Probability of one label (0 when the model does not know it).
  double probability(std::string_view text, const std::string& label) const;
  std::vector<std::string> labels() const;
  const std::string& path() const { return path_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

// A classifier step: meta.classifier.<name> = P(label); documents scoring
// below min_score or above max_score are removed (rule "classifier.<name>").
struct ClassifierStep {
  std::string name, model_path, label;
  double min_score = 0, max_score = 2;  // fastText's probabilities reach 1.00001
  std::shared_ptr<const FastTextModel> model;
};

// Reads [classifier.<name>] tables (model, label, min_score, max_score) from a
// config's top level and loads each model; steps run in order of name.
std::vector<ClassifierStep> read_classifier_config(ConfigSection& top);

struct ClassifierTrainOptions {
  // Labelled JSONL: the label is the document's `label_field` (a string, number
  // or bool; top-level or in meta). Or two corpora labelled pos_label/neg_label.
  std::vector<std::string> labelled, positive, negative, valid;
  std::string text_field = "text", label_field = "label", pos_label = "pos", neg_label = "neg";
  std::map<std::string, std::string> label_map;  // renames labels (hate -> toxic)
  double valid_fraction = 0.1;                   // held out by text hash when `valid` is empty
  // fastText's supervised settings (its defaults except dim and bucket, which
  // keep a word-bigram model near 30 MB instead of 800 MB).
  int dim = 32, epoch = 5, word_ngrams = 2, minn = 0, maxn = 0, min_count = 1, bucket = 200000, threads = 1,
      seed = 0;
  double lr = 0.1;
  std::string loss = "softmax";  // softmax, hs, ova
  std::string output;            // the .bin model
};

// Trains, writes options.output atomically and returns a report: document
// counts per label (train/valid), and on the validation part per-label
// precision/recall/F1 (top-1 prediction), macro-F1 and accuracy.
nlohmann::json train_classifier(const ClassifierTrainOptions& options);

}  // namespace kormo::data
