// Log-likelihoods of continuations given a context, scored the way lm-evaluation-
// harness's Hugging Face backend scores them, with the context computed once per item.
//
// Promises:
//  - Tokens as lm-evaluation-harness makes them (`_encode_pair`): trailing spaces of the
//    context move to the front of the continuation; the context is encoded alone, the
//    continuation is what encoding context + continuation adds after the context's
//    length; an empty context becomes the prefix token. Special-token text is recognised
//    (HF tokenizers always splits added tokens out). Sequences longer than the context
//    window lose tokens from the left, as lm-eval truncates them.
//  - Each continuation's log-likelihood is the sum of log-softmax(logits) of its tokens,
//    and `greedy` says whether every token was the arg-max — the (logprob, is_greedy)
//    pair lm-eval's loglikelihood() returns, equal to it up to float rounding.
//  - The tokens an item's sequences share (its context, and any leading continuation
//    tokens in common) are run through the model once; their KV cache is copied to the
//    other sequences (infer::KvCache::copy_prefix), which are run together.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kormo/model/runner.h"
#include "kormo/model/weights.h"
#include "kormo/tok/tokenizer.h"

namespace kormo::eval {

// One item: (context, continuation) pairs scored together — one context and several
// continuations (the usual options), several contexts and one continuation (partial
// scoring, as Winogrande), or as many of each, paired in order.
struct LoglikelihoodRequest {
  std::vector<std::string> contexts;
  std::vector<std::string> continuations;
  size_t size() const { return std::max(contexts.size(), continuations.size()); }
  const std::string& context(size_t i) const { return contexts[contexts.size() == 1 ? 0 : i]; }
  const std::string& continuation(size_t i) const { return continuations[continuations.size() == 1 ? 0 : i]; }
};

struct ContinuationScore {
  double loglikelihood = 0;
  bool greedy = false;
  int64_t tokens = 0;  // continuation tokens scored
};

// A rolling score's sum over its windows.
inline void add_window(ContinuationScore& sum, const ContinuationScore& window) {
  sum.loglikelihood += window.loglikelihood;
  sum.greedy = sum.greedy && window.greedy;
  sum.tokens += window.tokens;
}

// (context, continuation) token ids as lm-evaluation-harness's causal models make them.
struct EncodedPair {
  std::vector<int32_t> context, continuation;
};
EncodedPair encode_pair(const tok::Tokenizer& tok, std::string_view context, std::string_view continuation,
                        int32_t prefix_token);

// What lm-eval feeds for one (context, continuation) pair after truncation to `window`
// tokens: `input`, whose last targets.size() positions predict `targets` (position q
// predicts the token after it; the continuation is targets). Throws Error for an empty
// continuation or one longer than the window; `what` names the pair in messages.
struct ScoredSequence {
  std::vector<int32_t> input, targets;
  int64_t first_scored() const { return static_cast<int64_t>(input.size() - targets.size()); }
};
ScoredSequence scored_sequence(const tok::Tokenizer& tok, std::string_view context, std::string_view continuation,
                               int64_t window, int32_t prefix_token, const std::string& what);

// One generation as lm-eval's generate_until makes it: greedy from the context (its tokens
// as encode_pair makes a context's, without the trailing-space rule: lm-eval encodes the
// whole context; the last max_length − max_gen_toks kept), until a stop string, the
// model's end-of-sequence token or max_gen_toks tokens. The result is the generated
// tokens decoded without special tokens (invalid UTF-8 replaced as HF decode does), cut
// before the first stop string — `until` and the tokenizer's end-of-text token's text,
// which lm-eval adds to every request.
struct GenerationRequest {
  std::string context;
  std::vector<std::string> until;
  int64_t max_gen_toks = 256;
};

// Anything that scores log-likelihood requests and generates: the model in this process,
// or an OpenAI-compatible server (endpoint.h).
class Scorer {
 public:
  virtual ~Scorer() = default;
  // scores[i][j] for item i, pair j. `progress(done_items)` is called as items finish.
  virtual std::vector<std::vector<ContinuationScore>> score(
      std::span<const LoglikelihoodRequest> items, const std::function<void(int64_t)>& progress = {}) const = 0;
  // The generated texts, in request order.
  virtual std::vector<std::string> generate(std::span<const GenerationRequest> requests,
                                            const std::function<void(int64_t)>& progress = {}) const = 0;
  // Each text's rolling log-likelihood (lm-eval's loglikelihood_rolling): the sum over
  // rolling_windows() of its tokens, with the number of tokens predicted (every token of
  // the text's encoding) and whether all were greedy. `progress(done_texts)`.
  virtual std::vector<ContinuationScore> score_rolling(std::span<const std::string> texts,
                                            const std::function<void(int64_t)>& progress = {}) const = 0;
};

// lm-eval's get_rolling_token_windows(tokens, prefix, max_seq_len, context_len = 1)
// through make_disjoint_window: every token is predicted once; the first window is the
// prefix token then up to max_seq_len tokens, each later one predicts up to max_seq_len
// more given the one token before them.
std::vector<ScoredSequence> rolling_windows(std::span<const int32_t> tokens, int32_t prefix_token,
                                            int64_t max_seq_len);

// What lm-eval generates from: the context's tokens, the last `window` − max_gen_toks
// kept; and the stop strings with the end-of-text token's text added (as lm-eval's
// handle_stop_sequences). Throws a usage Error when max_gen_toks leaves no context.
std::vector<int32_t> generation_prompt(const tok::Tokenizer& tok, const GenerationRequest& r, int64_t window);
std::vector<std::string> stop_strings(const tok::Tokenizer& tok, const GenerationRequest& r);

struct ScorerOptions {
  int64_t max_length = 0;        // context window in tokens (0: the model's max_seq_len)
  int32_t prefix_token = -1;     // for empty contexts (-1: the model's bos_token_id)
  int64_t batch_tokens = 4096;   // tokens per forward, about (contexts or continuations)
  int64_t max_sequences = 64;    // KV-cache slots: continuations run together
  model::Precision precision = model::Precision::kFp32;
};

class LoglikelihoodScorer : public Scorer {
 public:
  LoglikelihoodScorer(const model::Weights& w, const tok::Tokenizer& tok, ScorerOptions opt = {});

  // Throws Error for an item without pairs or with mismatched counts, an empty
  // continuation or a continuation longer than the window.
  std::vector<std::vector<ContinuationScore>> score(std::span<const LoglikelihoodRequest> items,
                                                    const std::function<void(int64_t)>& progress = {}) const override;
  // Greedy over the KV cache (infer::Generator), max_sequences at a time.
  std::vector<std::string> generate(std::span<const GenerationRequest> requests,
                                    const std::function<void(int64_t)>& progress = {}) const override;
  std::vector<ContinuationScore> score_rolling(std::span<const std::string> texts,
                                    const std::function<void(int64_t)>& progress = {}) const override;

  struct Item;

 private:
  std::vector<std::vector<ContinuationScore>> run_items(std::vector<Item>& items,
                                                        const std::function<void(int64_t)>& progress) const;
  const model::Weights& w_;
  const tok::Tokenizer& tok_;
  ScorerOptions opt_;
};

}  // namespace kormo::eval
