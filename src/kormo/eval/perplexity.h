// Scoring text with a kormo checkpoint for curation: `kormo data perplexity` (each
// document's per-token perplexity and a CCNet-style head/middle/tail bucket per language)
// and the model check of `kormo data pairs --model`.
//
// It lives in eval, not data, because it runs the model: data may not depend on the
// model modules (docs/ARCHITECTURE.md), while eval may read documents.
//
// Promises:
//  - A document's log-likelihood is LoglikelihoodScorer::score_rolling's — lm-eval's
//    loglikelihood_rolling: windows of the model's context, every token predicted once,
//    the first one after the prefix (BOS) token — so `kormo data perplexity` and
//    `kormo eval -t bpb=…` agree on the same text, and both match transformers on the HF
//    export (tests/cli/data_perplexity_test.sh, tests/python/test_data_perplexity.py).
//  - Perplexity = exp(−log-likelihood / tokens), natural log, tokens = what the
//    tokenizer makes of the text (special-token text recognised, as scoring does).
//  - Buckets are reproducible: thresholds are given, or the nearest-rank quantiles of
//    the language's own scores in this run (no sampling), written into the report so a
//    later run can be given them.
//  - Two passes over the input (scores, then output): memory holds one chunk of texts
//    and a few numbers per document; outputs are written to temporary names and renamed.
//    Unusable lines go to the rejects file with file:line, as every data verb does.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "kormo/eval/loglikelihood.h"
#include "kormo/model/weights.h"
#include "kormo/tok/tokenizer.h"

namespace kormo::eval {

// A checkpoint directory (config.json + model.safetensors + tokenizer.json, as kormo
// eval and generate take) loaded for scoring. Throws naming the path when the directory,
// its tokenizer or its weights are missing or do not fit together. The weights live on
// `be` (scoring copies logits to the host where the backend's memory is not).
class ScoringModel {
 public:
  ScoringModel(const std::string& dir, ScorerOptions options, backend::Backend& be = backend::cpu());
  ScoringModel(const ScoringModel&) = delete;
  ScoringModel& operator=(const ScoringModel&) = delete;

  const tok::Tokenizer& tokenizer() const { return tok_; }
  const model::Weights& weights() const { return weights_; }
  const LoglikelihoodScorer& scorer() const { return scorer_; }
  int64_t window() const { return window_; }          // context window in tokens
  int32_t prefix_token() const { return prefix_; }    // what an empty context becomes

 private:
  int64_t window_;
  int32_t prefix_;
  tok::Tokenizer tok_;
  model::Weights weights_;
  LoglikelihoodScorer scorer_;
};

struct TextLoss {
  double loglikelihood = 0;  // natural log, summed over the text's tokens
  int64_t tokens = 0;
  double perplexity() const;  // NaN for a text without tokens
};

// Each text's rolling log-likelihood and token count, batched. `progress(done_texts)`.
std::vector<TextLoss> text_losses(const ScoringModel& m, std::span<const std::string> texts,
                                  const std::function<void(int64_t)>& progress = {});

// How well each target follows from its source: the per-token log-likelihood of the
// target on the line after the source, minus its per-token log-likelihood alone (after
// the prefix token) — how much the source helps predict it, so a fluent target that
// belongs to another source scores low however fluent it is. Higher is better; NaN for
// a pair whose target is empty or does not fit the model's window (cannot be scored whole).
std::vector<double> pair_scores(const ScoringModel& m, std::span<const std::string> sources,
                                std::span<const std::string> targets);

struct PerplexityOptions {
  std::vector<std::string> inputs;  // files (expanded); "-" (stdin) cannot be read twice
  std::string output, rejects, text_field = "text";
  // Nearest-rank quantiles of a language's perplexities: head ≤ q_head's value < middle ≤
  // q_tail's value < tail. CCNet's 30%/60%.
  double head_quantile = 0.3, tail_quantile = 0.6;
  // Given thresholds per language ("default": every language without its own), which
  // replace the quantiles: head ≤ first < middle ≤ second < tail.
  std::map<std::string, std::pair<double, double>> thresholds;
  bool drop_tail = false;   // tail documents go to the rejects file (rule "perplexity")
  int64_t chunk_docs = 512; // documents scored per call (the scorer batches within it)
};

// Writes every usable document with meta.perplexity = {ppl, tokens, bucket}; returns
// the report: input, kept, removed by rule, tokens, seconds, and per language the
// document count, thresholds (and whether given or from quantiles), bucket counts and
// median perplexity.
nlohmann::json run_perplexity(const PerplexityOptions& o, const ScoringModel& m);

}  // namespace kormo::eval
