// Scoring through an OpenAI-compatible server (kormo serve, vLLM, …): the same requests
// and tokens as the in-process scorer, sent as token ids to /v1/completions with
// echo, logprobs 1 and max_tokens 0, so a team can score a model served elsewhere.
//
// Promises:
//  - Tokens are made here with the model's tokenizer exactly as LoglikelihoodScorer makes
//    them (scored_sequence), so both backends score the same token sequences; the sum of
//    the continuation's token_logprobs is the log-likelihood, and a continuation is greedy
//    when each token's log-probability equals the best of its top_logprobs.
//  - Generation (generate_until) sends the prompt as token ids with max_tokens, the stop
//    strings and temperature 0.
//  - Errors name the URL and say what the server answered (status and its error message),
//    or what was missing from the reply.
#pragma once

#include <memory>
#include <string>

#include "kormo/eval/loglikelihood.h"

namespace kormo::eval {

struct EndpointOptions {
  std::string model;              // the "model" field sent (empty: the first one GET /models lists)
  std::string api_key;            // sent as a bearer token when not empty
  std::string ca_file;            // PEM CA bundle for an https URL ("" = the system store)
  int64_t max_length = 2048;      // the served model's context window
  int32_t prefix_token = 0;       // for empty contexts
  int64_t batch = 16;             // sequences per HTTP request
  double timeout_seconds = 600;
};

class EndpointScorer : public Scorer {
 public:
  // `base_url`: http:// or https://, e.g. http://127.0.0.1:8080/v1 (requests go to base_url + "/completions").
  EndpointScorer(const std::string& base_url, const tok::Tokenizer& tok, EndpointOptions opt);
  ~EndpointScorer() override;

  // Each pair's sequence truncated to a window of max_length − 1 tokens, for the same
  // reason as score_rolling's: equal to the in-process scores with --max-length one less
  // (the same scores for pairs that fit).
  std::vector<std::vector<ContinuationScore>> score(std::span<const LoglikelihoodRequest> items,
                                                    const std::function<void(int64_t)>& progress = {}) const override;
  // /completions with the prompt's token ids, max_tokens, stop and temperature 0; the
  // text is cut at the stop strings again (lm-eval's rule, whatever the server did).
  std::vector<std::string> generate(std::span<const GenerationRequest> requests,
                                    const std::function<void(int64_t)>& progress = {}) const override;
  // Rolling windows of max_length − 1 tokens (the echoed prompt holds the last target
  // too and must fit the served context), each sent as one echoed prompt: equal to the
  // in-process scores with --max-length one less.
  std::vector<ContinuationScore> score_rolling(std::span<const std::string> texts,
                                    const std::function<void(int64_t)>& progress = {}) const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kormo::eval
