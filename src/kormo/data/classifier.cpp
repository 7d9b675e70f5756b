#include "kormo/data/classifier.h"

#include <fasttext/fasttext.h>
#include <fasttext/loss.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "kormo/data/document.h"
#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"

namespace kormo::data {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kLabelPrefix = "__label__";

// fastText's Dictionary::readWord splits on exactly these bytes.
bool is_fasttext_separator(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' || c == '\0';
}

}  // namespace

std::string fasttext_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool word_start = true;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (is_fasttext_separator(c)) {
      out += ' ';
      word_start = true;
      continue;
    }
    if (word_start && text.substr(i, kLabelPrefix.size()) == kLabelPrefix) {
      word_start = false;
      continue;  // drops this '_'
    }
    word_start = false;
    out += c;
  }
  return out;
}

// Scoring is fastText's own tokenizer (Dictionary::getLine) and output layer
// (its Loss classes), with the hidden layer (the mean of the input rows) summed
// here: Debian builds libfasttext at -O2, where that loop, two thirds of the
// time, is scalar with a bounds check per element; compiled with our flags it
// vectorizes. Each element is summed in fastText's order, so the scores are
// bit-identical to predict-prob's. Quantized models and negative-sampling loss
// keep fastText's whole predictLine.
struct FastTextModel::Impl {
  fasttext::FastText ft;
  std::string prefix;
  std::shared_ptr<const fasttext::Dictionary> dict;
  std::shared_ptr<const fasttext::DenseMatrix> input;
  std::shared_ptr<fasttext::Matrix> output;  // referenced by loss: declared before it
  std::unique_ptr<fasttext::Loss> loss;      // null: fastText's predictLine
  int32_t dim = 0;

  void init_fast_path() {
    fasttext::Args args = ft.getArgs();
    if (ft.isQuant() || (args.loss != fasttext::loss_name::softmax && args.loss != fasttext::loss_name::hs &&
                         args.loss != fasttext::loss_name::ova))
      return;
    dict = ft.getDictionary();
    input = ft.getInputMatrix();
    // The loss only reads the output matrix when predicting.
    output = std::const_pointer_cast<fasttext::DenseMatrix>(ft.getOutputMatrix());
    if (args.loss == fasttext::loss_name::softmax) loss = std::make_unique<fasttext::SoftmaxLoss>(output);
    else if (args.loss == fasttext::loss_name::ova) loss = std::make_unique<fasttext::OneVsAllLoss>(output);
    else loss = std::make_unique<fasttext::HierarchicalSoftmaxLoss>(output, dict->getCounts(fasttext::entry_type::label));
    dim = args.dim;
  }

  // fastText's Model::predict with k = -1 and threshold 0; log-probabilities.
  void predict(std::istream& in, fasttext::Predictions& preds) const {
    std::vector<int32_t> words, labels;
    dict->getLine(in, words, labels);
    if (words.empty()) return;
    fasttext::Model::State state(dim, dict->nlabels(), 0);
    float* __restrict h = state.hidden.data();
    std::fill(h, h + dim, 0.0f);
    const float* m = input->data();
    auto row_of = [&](size_t i) { return m + static_cast<int64_t>(words[i]) * dim; };
    // The rows are scattered over a matrix of tens of MB: fetching a few ahead
    // hides the cache misses that dominate the sum.
    constexpr size_t kAhead = 4;
    for (size_t i = 0; i < words.size(); ++i) {
      if (i + kAhead < words.size())
        for (int32_t j = 0; j < dim; j += 16) __builtin_prefetch(row_of(i + kAhead) + j);
      const float* __restrict row = row_of(i);
      int32_t j = 0;
      for (; j + 8 <= dim; j += 8)  // a fixed-width block: vectorized at -O2
        for (int32_t k = 0; k < 8; ++k) h[j + k] += row[j + k];
      for (; j < dim; ++j) h[j] += row[j];
    }
    const fasttext::real scale = 1.0 / words.size();  // as Vector::mul(real)
    for (int32_t j = 0; j < dim; ++j) h[j] *= scale;
    preds.reserve(static_cast<size_t>(output->size(0)) + 1);
    loss->predict(static_cast<int32_t>(output->size(0)), 0.0, preds, state);
  }
};

FastTextModel::FastTextModel(const std::string& path) : impl_(std::make_unique<Impl>()), path_(path) {
  if (!fs::is_regular_file(path)) fail_io("{}: no such model file", path);
  try {
    impl_->ft.loadModel(path);
  } catch (const std::exception& e) {
    fail("{}: not a fastText model ({})", path, e.what());
  }
  fasttext::Args args = impl_->ft.getArgs();
  if (args.model != fasttext::model_name::sup)
    fail("{}: a fastText word-vector model, expected a supervised (classifier) model", path);
  impl_->prefix = args.label;
  impl_->init_fast_path();
}

FastTextModel::~FastTextModel() = default;

std::vector<std::pair<std::string, double>> FastTextModel::predict(std::string_view text) const {
  // The trailing newline is the one predict-prob reads at the end of each input
  // line: fastText turns it into the end-of-sentence word "</s>".
  std::istringstream in(fasttext_line(text) + "\n");
  auto unprefixed = [&](const std::string& label) {
    return label.substr(label.starts_with(impl_->prefix) ? impl_->prefix.size() : 0);
  };
  std::vector<std::pair<std::string, double>> out;
  if (impl_->loss) {
    fasttext::Predictions preds;
    impl_->predict(in, preds);
    out.reserve(preds.size());
    for (const auto& [logp, id] : preds) out.emplace_back(unprefixed(impl_->dict->getLabel(id)), std::exp(logp));
    return out;
  }
  std::vector<std::pair<fasttext::real, std::string>> preds;
  impl_->ft.predictLine(in, preds, -1, 0.0);
  out.reserve(preds.size());
  for (auto& [p, label] : preds) out.emplace_back(unprefixed(label), p);
  return out;
}

double FastTextModel::probability(std::string_view text, const std::string& label) const {
  for (const auto& [l, p] : predict(text))
    if (l == label) return p;
  return 0;
}

std::vector<std::string> FastTextModel::labels() const {
  auto dict = impl_->ft.getDictionary();
  std::vector<std::string> out;
  for (int32_t i = 0; i < dict->nlabels(); ++i) {
    std::string l = dict->getLabel(i);
    out.push_back(l.substr(l.starts_with(impl_->prefix) ? impl_->prefix.size() : 0));
  }
  return out;
}

std::vector<ClassifierStep> read_classifier_config(ConfigSection& top) {
  std::vector<ClassifierStep> steps;
  ConfigSection cls = top.section("classifier");
  if (!cls.table()) return steps;
  for (const auto& [key, node] : *cls.table()) {
    std::string name(key.str());
    if (!node.is_table()) cls.bad_value(name, "expected a table [classifier." + name + "] with model and label");
    ConfigSection sec = cls.section(name);
    ClassifierStep s;
    s.name = name;
    s.model_path = sec.require_string("model");
    s.label = sec.require_string("label");
    s.min_score = sec.get_double("min_score", s.min_score);
    s.max_score = sec.get_double("max_score", s.max_score);
    if (s.min_score > s.max_score) sec.bad_value("min_score", "is above max_score: nothing could be kept");
    sec.check_unused();
    s.model = std::make_shared<FastTextModel>(s.model_path);
    std::vector<std::string> labels = s.model->labels();
    if (std::find(labels.begin(), labels.end(), s.label) == labels.end())
      sec.bad_value("label", fmt::format("model {} has no label \"{}\" (its labels: {})", s.model_path, s.label,
                                         fmt::join(labels, ", ")));
    steps.push_back(std::move(s));
  }
  cls.check_unused();
  return steps;
}

namespace {

struct Example {
  std::string label, line;
};

std::string label_of(const Document& doc, const std::string& field) {
  if (field == "lang") return doc.lang;
  if (field == "source") return doc.source;
  if (field == "id") return doc.id;
  auto it = doc.meta.find(field);
  if (it == doc.meta.end() || it->is_null() || it->is_object() || it->is_array()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// Reads documents; `fixed_label` labels every one, else each carries its own.
void read_examples(const std::vector<std::string>& files, const ClassifierTrainOptions& o,
                   const std::string& fixed_label, std::vector<Example>& out) {
  for (const auto& f : expand_inputs(files)) {
    LineReader r(f);
    std::string_view line;
    while (r.next(line)) {
      std::string where = fmt::format("{}:{}", f, r.line_number());
      Document doc;
      std::string rule, why;
      if (!parse_document(line, doc, rule, why, o.text_field)) fail("{}: {}", where, why);
      std::string label = fixed_label;
      if (label.empty()) {
        label = label_of(doc, o.label_field);
        if (label.empty()) fail("{}: expected a label in field \"{}\" (a string, number or bool)", where, o.label_field);
        auto m = o.label_map.find(label);
        if (m != o.label_map.end()) label = m->second;
      }
      if (fasttext_line(label) != label || label.empty())
        fail("{}: label \"{}\" must be non-empty with no white space and not start with \"__label__\"", where, label);
      out.push_back({std::move(label), fasttext_line(doc.text)});
    }
  }
}

// A fixed, platform-independent shuffle: fastText reads its input in order and
// decays the learning rate over it, so class-sorted input biases the model.
void shuffle(std::vector<Example>& xs, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = xs.size(); i > 1; --i) {
    s += 0x9E3779B97F4A7C15ull;
    uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    std::swap(xs[i - 1], xs[z % i]);
  }
}

json label_counts(const std::vector<Example>& xs) {
  std::map<std::string, uint64_t> n;
  for (const auto& x : xs) ++n[x.label];
  return n;
}

// Per-label precision/recall/F1 of the top-1 prediction.
json evaluate(const FastTextModel& model, const std::vector<Example>& xs) {
  std::map<std::string, uint64_t> tp, fp, fn;
  uint64_t correct = 0;
  for (const auto& x : xs) {
    auto preds = model.predict(x.line);
    std::string got = preds.empty() ? "" : preds.front().first;
    if (got == x.label) {
      ++tp[got];
      ++correct;
    } else {
      ++fp[got];
      ++fn[x.label];
    }
  }
  json labels = json::object();
  double f1_sum = 0;
  for (const std::string& l : model.labels()) {
    double p = tp[l] + fp[l] ? double(tp[l]) / double(tp[l] + fp[l]) : 0;
    double r = tp[l] + fn[l] ? double(tp[l]) / double(tp[l] + fn[l]) : 0;
    double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
    f1_sum += f1;
    labels[l] = {{"precision", p}, {"recall", r}, {"f1", f1}, {"support", tp[l] + fn[l]}};
  }
  return {{"documents", xs.size()},
          {"accuracy", xs.empty() ? 0.0 : double(correct) / double(xs.size())},
          {"macro_f1", labels.empty() ? 0.0 : f1_sum / double(labels.size())},
          {"labels", labels}};
}

// Removes a file on scope exit (the training input fastText reads by path, a
// model not yet renamed into place).
struct RemoveOnExit {
  std::string path;
  ~RemoveOnExit() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

}  // namespace

json train_classifier(const ClassifierTrainOptions& o) {
  if (o.output.empty()) fail_usage("classify train: expected an output model path (-o)");
  if (o.labelled.empty() && (o.positive.empty() || o.negative.empty()))
    fail_usage("classify train: give labelled files, or both --positive and --negative files");
  if (o.valid_fraction < 0 || o.valid_fraction >= 1) fail_usage("--valid-fraction: expected a number in [0, 1)");
  if (o.loss != "softmax" && o.loss != "hs" && o.loss != "ova")
    fail_usage("--loss: expected softmax, hs or ova, got \"{}\"", o.loss);
  if (o.dim < 1 || o.epoch < 1 || o.word_ngrams < 1 || o.min_count < 1 || o.threads < 1 || o.bucket < 0 ||
      o.minn < 0 || o.maxn < o.minn || !(o.lr > 0))
    fail_usage("classify train: dim, epoch, word-ngrams, min-count, threads and lr must be positive, "
               "bucket >= 0 and 0 <= minn <= maxn");

  std::vector<Example> all, valid;
  read_examples(o.labelled, o, "", all);
  read_examples(o.positive, o, o.pos_label, all);
  read_examples(o.negative, o, o.neg_label, all);
  std::vector<Example> train;
  if (!o.valid.empty()) {
    read_examples(o.valid, o, "", valid);
    train = std::move(all);
  } else {
    // By text hash, not position: a document repeated in the input cannot sit
    // on both sides of the split.
    const uint64_t cut = static_cast<uint64_t>(o.valid_fraction * 1e6);
    for (auto& x : all) (xxh3_64(x.line, static_cast<uint64_t>(o.seed)) % 1000000 < cut ? valid : train).push_back(x);
  }
  std::set<std::string> train_labels;
  for (const auto& x : train) train_labels.insert(x.label);
  if (train_labels.size() < 2)
    fail("classify train: the training part has {} label(s); a classifier needs at least two", train_labels.size());
  shuffle(train, static_cast<uint64_t>(o.seed));

  std::string input = o.output + ".train-input.tmp";
  RemoveOnExit cleanup{input};
  {
    AtomicWriter w(input);
    for (const auto& x : train) w.write_line(fmt::format("{}{} {}", kLabelPrefix, x.label, x.line));
    w.commit();
  }
  fasttext::Args a;
  a.input = input;
  a.output = o.output;
  a.model = fasttext::model_name::sup;
  a.loss = o.loss == "hs" ? fasttext::loss_name::hs
           : o.loss == "ova" ? fasttext::loss_name::ova
                             : fasttext::loss_name::softmax;
  a.dim = o.dim;
  a.epoch = o.epoch;
  a.lr = o.lr;
  a.wordNgrams = o.word_ngrams;
  a.minn = o.minn;
  a.maxn = o.maxn;
  a.minCount = o.min_count;
  // As fastText's command line does: no hash buckets when there is nothing to hash.
  a.bucket = (o.word_ngrams <= 1 && o.maxn == 0) ? 0 : o.bucket;
  a.thread = o.threads;
  a.seed = o.seed;
  a.verbose = 0;
  fasttext::FastText ft;
  std::string tmp_model = o.output + ".tmp";
  RemoveOnExit tmp_cleanup{tmp_model};  // a failed run leaves no partial model
  try {
    ft.train(a);
    ft.saveModel(tmp_model);
  } catch (const std::exception& e) {
    fail("classify train: fastText failed: {}", e.what());
  }
  std::error_code ec;
  fs::rename(tmp_model, o.output, ec);
  if (ec) fail_io("{}: cannot rename the trained model into place: {}", o.output, ec.message());

  FastTextModel model(o.output);
  json settings = {{"dim", o.dim},       {"epoch", o.epoch}, {"lr", o.lr},       {"word_ngrams", o.word_ngrams},
                   {"minn", o.minn},     {"maxn", o.maxn},   {"bucket", a.bucket}, {"min_count", o.min_count},
                   {"loss", o.loss},     {"threads", o.threads}, {"seed", o.seed}};
  json report = {{"model", o.output},
                 {"settings", settings},
                 {"train", label_counts(train)},
                 {"valid", label_counts(valid)}};
  if (!valid.empty()) report["valid_metrics"] = evaluate(model, valid);
  return report;
}

}  // namespace kormo::data
