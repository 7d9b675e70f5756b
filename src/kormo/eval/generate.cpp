// Generation for generate_until tasks in this process (the contract is in loglikelihood.h).
#include "kormo/eval/extract.h"
#include "kormo/eval/loglikelihood.h"
#include "kormo/infer/generator.h"
#include "kormo/util/error.h"

namespace kormo::eval {

std::vector<int32_t> generation_prompt(const tok::Tokenizer& tok, const GenerationRequest& r, int64_t window) {
  const int64_t keep = window - r.max_gen_toks;
  if (keep <= 0)
    fail_usage("max_gen_toks {} leaves no room for the context in a window of {} tokens", r.max_gen_toks, window);
  std::vector<int32_t> ids = tok.encode(r.context, {.allow_special = true});
  if (static_cast<int64_t>(ids.size()) > keep) ids.erase(ids.begin(), ids.end() - keep);
  return ids;
}

std::vector<std::string> stop_strings(const tok::Tokenizer& tok, const GenerationRequest& r) {
  std::vector<std::string> stop = r.until;
  const int32_t eot = tok.special_ids().eot;
  if (eot >= 0) {
    std::string eos = tok.decode(std::span<const int32_t>(&eot, 1));
    if (std::find(stop.begin(), stop.end(), eos) == stop.end()) stop.push_back(std::move(eos));
  }
  return stop;
}

std::vector<std::string> LoglikelihoodScorer::generate(std::span<const GenerationRequest> requests,
                                                       const std::function<void(int64_t)>& progress) const {
  const auto& cfg = w_.config();
  infer::Generator gen(w_, &tok_, opt_.max_sequences, opt_.max_length, opt_.precision);
  std::vector<int64_t> ids;
  std::vector<std::vector<std::string>> stops;
  for (const GenerationRequest& r : requests) {
    infer::Request q;
    q.prompt = generation_prompt(tok_, r, opt_.max_length);
    if (q.prompt.empty()) q.prompt = {opt_.prefix_token};  // nothing to condition on: as an empty context scores
    q.sampling.temperature = 0;
    q.max_tokens = r.max_gen_toks;
    if (cfg.eos_token_id >= 0) q.stop_tokens.push_back(static_cast<int32_t>(cfg.eos_token_id));
    stops.push_back(stop_strings(tok_, r));
    q.stop = stops.back();
    ids.push_back(gen.add(std::move(q)));
  }
  std::vector<std::string> out(requests.size());
  int64_t done = 0;
  while (gen.busy()) {
    for (int64_t id : gen.step()) {
      const size_t i = static_cast<size_t>(std::find(ids.begin(), ids.end(), id) - ids.begin());
      const infer::Completion c = gen.take(id);
      out[i] = cut_at_stop(utf8_lossy(tok_.decode(c.tokens, true)), stops[i]);
      if (progress) progress(++done);
    }
  }
  return out;
}

}  // namespace kormo::eval
