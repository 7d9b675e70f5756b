#include "kormo/eval/perplexity.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "kormo/data/document.h"
#include "kormo/model/checkpoint.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/progress.h"

namespace kormo::eval {

using nlohmann::json;

namespace {

tok::Tokenizer load_tokenizer(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) fail("{}: not a model directory (config.json + model.safetensors)", dir);
  const std::string path = dir + "/tokenizer.json";
  if (!std::filesystem::exists(path)) fail("{}: no tokenizer.json in the model directory", path);
  return tok::Tokenizer::load(path);
}

// Every line of the files in order, with its "file:line".
void for_each_line(const std::vector<std::string>& files,
                   const std::function<void(const std::string& where, std::string_view line)>& fn) {
  for (const auto& f : files) {
    LineReader r(f);
    std::string_view line;
    while (r.next(line)) fn(fmt::format("{}:{}", f, r.line_number()), line);
  }
}

std::string lang_key(const std::string& lang) { return lang.empty() ? "und" : lang; }

// The nearest-rank quantile of sorted values: the smallest value with at least q of them
// at or below it.
double nearest_rank(const std::vector<double>& sorted, double q) {
  const auto n = static_cast<double>(sorted.size());
  const auto rank = static_cast<size_t>(std::max(1.0, std::ceil(q * n)));
  return sorted[std::min(rank, sorted.size()) - 1];
}

}  // namespace

ScoringModel::ScoringModel(const std::string& dir, ScorerOptions options, backend::Backend& be)
    : tok_(load_tokenizer(dir)), weights_(model::load_model_dir(dir, be)), scorer_(weights_, tok_, options) {
  window_ = options.max_length > 0 ? options.max_length : weights_.config().max_seq_len;
  prefix_ = options.prefix_token >= 0 ? options.prefix_token : static_cast<int32_t>(weights_.config().bos_token_id);
  if (static_cast<int64_t>(tok_.vocab_size()) > weights_.config().vocab_size)
    fail("{}/tokenizer.json: {} tokens, more than the model's vocabulary of {}", dir, tok_.vocab_size(),
         weights_.config().vocab_size);
}

double TextLoss::perplexity() const {
  return tokens > 0 ? std::exp(-loglikelihood / static_cast<double>(tokens)) : std::nan("");
}

std::vector<TextLoss> text_losses(const ScoringModel& m, std::span<const std::string> texts,
                                  const std::function<void(int64_t)>& progress) {
  std::vector<TextLoss> out;
  for (const ContinuationScore& s : m.scorer().score_rolling(texts, progress)) out.push_back({s.loglikelihood, s.tokens});
  return out;
}

std::vector<double> pair_scores(const ScoringModel& m, std::span<const std::string> sources,
                                std::span<const std::string> targets) {
  if (sources.size() != targets.size()) fail_internal("pair_scores: {} sources, {} targets", sources.size(), targets.size());
  // Per pair, two sequences sharing the continuation: after the source, and alone.
  std::vector<LoglikelihoodRequest> items;
  std::vector<size_t> fits;
  for (size_t i = 0; i < sources.size(); ++i) {
    const std::string after = "\n" + targets[i];
    const size_t with = encode_pair(m.tokenizer(), sources[i], after, m.prefix_token()).continuation.size(),
                 alone = encode_pair(m.tokenizer(), "", targets[i], m.prefix_token()).continuation.size();
    if (with == 0 || alone == 0 || static_cast<int64_t>(std::max(with, alone)) > m.window()) continue;
    items.push_back({{sources[i], ""}, {after, targets[i]}});
    fits.push_back(i);
  }
  const auto scores = m.scorer().score(items);
  std::vector<double> out(sources.size(), std::nan(""));
  for (size_t k = 0; k < scores.size(); ++k) {
    const auto& s = scores[k];
    out[fits[k]] = s[0].loglikelihood / static_cast<double>(s[0].tokens) -
                   s[1].loglikelihood / static_cast<double>(s[1].tokens);
  }
  return out;
}

json run_perplexity(const PerplexityOptions& o, const ScoringModel& m) {
  if (!(o.head_quantile > 0 && o.head_quantile <= o.tail_quantile && o.tail_quantile < 1))
    fail_usage("perplexity: expected 0 < head quantile <= tail quantile < 1, got {} and {}", o.head_quantile,
               o.tail_quantile);
  for (const auto& [lang, t] : o.thresholds)
    if (!(t.first <= t.second)) fail_usage("perplexity: thresholds of {}: head {} above tail {}", lang, t.first, t.second);
  if (o.chunk_docs <= 0) fail_usage("perplexity: chunk size must be positive");
  for (const auto& f : o.inputs)
    if (f == "-") fail_usage("perplexity: reads its input twice (scores, then output), so not from stdin");
  const auto start = std::chrono::steady_clock::now();

  // Pass 1: the score of every usable document, in input order.
  std::vector<TextLoss> losses;
  std::vector<std::string> langs;
  std::vector<std::string> chunk;
  Progress progress("perplexity", 0, "docs");
  int64_t tokens = 0;
  auto flush = [&] {
    const size_t before = losses.size();
    for (const TextLoss& l : text_losses(m, chunk)) losses.push_back(l);
    for (size_t i = before; i < losses.size(); ++i) tokens += losses[i].tokens;
    chunk.clear();
    progress.update(static_cast<double>(losses.size()), fmt::format("{} tokens", tokens));
  };
  for_each_line(o.inputs, [&](const std::string&, std::string_view line) {
    data::Document doc;
    std::string rule, why;
    if (!data::parse_document(line, doc, rule, why, o.text_field)) return;
    langs.push_back(lang_key(doc.lang));
    chunk.push_back(std::move(doc.text));
    if (static_cast<int64_t>(chunk.size()) == o.chunk_docs) flush();
  });
  flush();

  // Thresholds per language: given, or quantiles of its scores.
  std::map<std::string, std::vector<double>> by_lang;
  for (size_t i = 0; i < losses.size(); ++i) {
    auto& v = by_lang[langs[i]];
    if (losses[i].tokens > 0) v.push_back(losses[i].perplexity());
  }
  struct Band {
    double head = 0, tail = 0;
    bool given = false;
    std::map<std::string, uint64_t> buckets{{"head", 0}, {"middle", 0}, {"tail", 0}};
  };
  std::map<std::string, Band> bands;
  for (auto& [lang, v] : by_lang) {
    Band& b = bands[lang];
    std::sort(v.begin(), v.end());
    auto t = o.thresholds.find(lang);
    if (t == o.thresholds.end()) t = o.thresholds.find("default");
    if (t != o.thresholds.end()) {
      b.head = t->second.first;
      b.tail = t->second.second;
      b.given = true;
    } else if (!v.empty()) {
      b.head = nearest_rank(v, o.head_quantile);
      b.tail = nearest_rank(v, o.tail_quantile);
    }
  }

  // Pass 2: the output, in input order.
  AtomicWriter out(o.output), rej(o.rejects);
  uint64_t input = 0, kept = 0;
  std::map<std::string, uint64_t> removed;
  size_t k = 0;
  for_each_line(o.inputs, [&](const std::string& where, std::string_view line) {
    ++input;
    data::Document doc;
    std::string rule, why;
    if (!data::parse_document(line, doc, rule, why, o.text_field)) {
      rej.write_line(data::bad_input_record(rule, where, why, line));
      ++removed[rule];
      return;
    }
    if (k >= losses.size() || langs[k] != lang_key(doc.lang))
      fail_io("{}: the input changed between the two passes over it", where);
    const TextLoss& l = losses[k++];
    const double ppl = l.perplexity();
    Band& b = bands[langs[k - 1]];
    // A text without tokens has nothing a model could vouch for: tail.
    const char* bucket = !(l.tokens > 0) || ppl > b.tail ? "tail" : ppl > b.head ? "middle" : "head";
    ++b.buckets[bucket];
    doc.meta["perplexity"] = {{"ppl", l.tokens > 0 ? json(ppl) : json()}, {"tokens", l.tokens}, {"bucket", bucket}};
    if (o.drop_tail && std::string_view(bucket) == "tail") {
      rej.write_line(data::reject_record("perplexity", where, doc,
                                         {{"ppl", l.tokens > 0 ? json(ppl) : json()}, {"tail_above", b.tail}}));
      ++removed["perplexity"];
      return;
    }
    out.write_line(data::to_json_line(doc));
    ++kept;
  });
  if (k != losses.size()) fail_io("{}: the input changed between the two passes over it", o.inputs.back());
  out.commit();
  rej.commit();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress.finish(fmt::format("{} tokens", tokens));

  json languages = json::object();
  for (const auto& [lang, b] : bands) {
    const auto& v = by_lang[lang];
    languages[lang] = {{"documents", b.buckets.at("head") + b.buckets.at("middle") + b.buckets.at("tail")},
                       {"thresholds", {{"head", b.head}, {"tail", b.tail}, {"from", b.given ? "given" : "quantiles"}}},
                       {"buckets", b.buckets},
                       {"median_ppl", v.empty() ? json() : json(v[(v.size() - 1) / 2])}};
  }
  return {{"input", input},
          {"scored", losses.size()},
          {"kept", kept},
          {"removed", removed},
          {"tokens", tokens},
          {"seconds", seconds},
          {"docs_per_s", seconds > 0 ? static_cast<double>(losses.size()) / seconds : 0.0},
          {"quantiles", {{"head", o.head_quantile}, {"tail", o.tail_quantile}}},
          {"languages", languages}};
}

}  // namespace kormo::eval
