// Many sequences generated together over one KV cache: requests join and leave between
// steps (continuous batching), each step is one Decoder forward for every active
// sequence — a newly added one contributes its whole prompt (prefill), the others their
// last token.
//
// Promises:
//  - Greedy continuations equal recomputing the full sequence at every token (tested
//    against model::Runner); a request's tokens depend only on its own prompt, params
//    and seed, not on what else shares the step (up to float rounding of the GEMMs).
//  - A sequence ends at a stop token (kept in `tokens`, not in `text`), a stop string
//    (`text` cut before it, `tokens` keep the token that completed it), max_tokens or the
//    end of the context ("length").
//  - Log-probabilities are of the model's distribution (raw logits), as OpenAI reports
//    them, whatever the sampling processors did.
//  - Prompt log-probabilities (Request::prompt_logprobs) come from the same prefill
//    forward, all positions: entry j is token j+1 given tokens 0..j, equal to the
//    training forward's log-softmax on the prompt. max_tokens 0 then still prefills
//    (scores the prompt) and generates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kormo/infer/decoder.h"
#include "kormo/infer/kv_cache.h"
#include "kormo/infer/sampler.h"
#include "kormo/model/weights.h"
#include "kormo/tok/tokenizer.h"

namespace kormo::infer {

// The text of one token: "" for ids the tokenizer lacks (a model's vocabulary is often
// padded past the tokenizer's), as transformers' decode skips them.
std::string token_text(const tok::Tokenizer& tok, int32_t id);

struct Request {
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  int64_t max_tokens = 16;
  std::vector<int32_t> stop_tokens;
  std::vector<std::string> stop;  // stop strings (bytes of the decoded text)
  int64_t logprobs = -1;          // -1: none; n ≥ 0: the chosen token's and n alternatives
  bool prompt_logprobs = false;   // score the prompt too, with max(logprobs, 0) alternatives
};

struct Completion {
  std::vector<int32_t> tokens;
  std::string text;  // raw bytes; may end inside a UTF-8 sequence at "length"
  std::string finish_reason;  // "stop" or "length"
  std::vector<TokenLogprob> logprobs;
  std::vector<TokenLogprob> prompt_logprobs;  // prompt.size() - 1 entries, tokens 1..
};

class Generator {
 public:
  // `tok` decodes text for stop strings and Completion::text; may be null when no
  // request uses stop strings (text then stays empty). `capacity` is the context per
  // sequence (≤ the model's max_seq_len).
  // `precision`: the Decoder's (bf16: bf16 GEMM inputs, fp32 accumulation).
  Generator(const model::Weights& w, const tok::Tokenizer* tok, int64_t max_sequences, int64_t capacity,
            model::Precision precision = model::Precision::kFp32);
  ~Generator();

  // Queues a request; returns its id. Throws a bad-input Error for an empty prompt or
  // one that leaves no room in the context, and a usage Error for bad parameters.
  int64_t add(Request r);
  // Drops a request (queued, running or finished) and frees its slot.
  void cancel(int64_t id);
  // One forward for every running sequence plus as many queued ones as slots allow;
  // returns the ids that finished in this step.
  std::vector<int64_t> step();
  bool busy() const;
  // The completion of `id` so far, for streaming: tokens and text grow with each step().
  // The reference is valid until the next add/cancel/step/take.
  const Completion& peek(int64_t id) const;
  // The finished completion of `id`, removed from the generator.
  Completion take(int64_t id);
  // Runs requests to completion, `max_sequences` at a time; results in input order.
  std::vector<Completion> run(std::vector<Request> requests);

 private:
  struct Seq;
  void finish(Seq& s, const char* reason);

  const model::Weights& w_;
  const tok::Tokenizer* tok_;
  KvCache cache_;
  Decoder decoder_;
  int64_t next_id_ = 0;
  std::vector<std::unique_ptr<Seq>> seqs_;  // queued, running and finished, by id order
  std::vector<Chunk> chunks_;
  std::vector<Seq*> stepping_;
};

}  // namespace kormo::infer
