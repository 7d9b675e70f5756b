#include "kormo/infer/generator.h"

#include <algorithm>

#include "kormo/util/error.h"

namespace kormo::infer {

struct Generator::Seq {
  Seq(int64_t i, Request r, Sampler s) : id(i), req(std::move(r)), sampler(std::move(s)) {}
  int64_t id;
  Request req;
  Sampler sampler;
  int32_t slot = -1;
  bool prefilled = false, done = false;
  Completion out;
};

std::string token_text(const tok::Tokenizer& tok, int32_t id) {
  if (id < 0 || static_cast<size_t>(id) >= tok.vocab_size()) return {};
  return tok.decode(std::span<const int32_t>(&id, 1));
}

Generator::Generator(const model::Weights& w, const tok::Tokenizer* tok, int64_t max_sequences, int64_t capacity,
                     model::Precision precision)
    : w_(w), tok_(tok), cache_(w.config(), w.backend(), max_sequences, capacity), decoder_(w, cache_, precision) {}

Generator::~Generator() = default;

int64_t Generator::add(Request r) {
  if (r.prompt.empty()) fail("the prompt is empty (it needs at least one token)");
  if (static_cast<int64_t>(r.prompt.size()) > cache_.capacity())
    fail("the prompt has {} tokens, more than the context of {} tokens", r.prompt.size(), cache_.capacity());
  for (int32_t t : r.prompt)
    if (t < 0 || t >= w_.config().vocab_size)
      fail("prompt token {} is outside the vocabulary (size {})", t, w_.config().vocab_size);
  if (r.max_tokens < 0) fail_usage("max_tokens must be ≥ 0 (got {})", r.max_tokens);
  if (!r.stop.empty() && !tok_) fail_usage("stop strings need a tokenizer");
  for (const auto& s : r.stop)
    if (s.empty()) fail_usage("a stop string must not be empty");
  Sampler sampler(r.sampling, w_.config().vocab_size);
  auto seq = std::make_unique<Seq>(next_id_++, std::move(r), std::move(sampler));
  if (seq->req.max_tokens == 0 && !seq->req.prompt_logprobs) seq->done = true, seq->out.finish_reason = "length";
  seqs_.push_back(std::move(seq));
  return seqs_.back()->id;
}

void Generator::finish(Seq& s, const char* reason) {
  s.done = true;
  s.out.finish_reason = reason;
  if (s.slot >= 0) cache_.release(s.slot);
  s.slot = -1;
}

void Generator::cancel(int64_t id) {
  auto it = std::find_if(seqs_.begin(), seqs_.end(), [&](const auto& s) { return s->id == id; });
  if (it == seqs_.end()) return;
  if ((*it)->slot >= 0) cache_.release((*it)->slot);
  seqs_.erase(it);
}

bool Generator::busy() const {
  return std::any_of(seqs_.begin(), seqs_.end(), [](const auto& s) { return !s->done; });
}

std::vector<int64_t> Generator::step() {
  chunks_.clear();
  stepping_.clear();
  for (auto& sp : seqs_) {
    Seq& s = *sp;
    if (s.done) continue;
    if (s.slot < 0) {
      if (cache_.free_slots() == 0) continue;
      s.slot = cache_.acquire();
    }
    if (s.prefilled)
      chunks_.push_back({s.slot, std::span<const int32_t>(&s.out.tokens.back(), 1)});
    else
      chunks_.push_back({s.slot, s.req.prompt});
    stepping_.push_back(&s);
  }
  std::vector<int64_t> finished;
  if (chunks_.empty()) return finished;
  // Prompt scoring needs the logits of every prompt position; one forward then returns
  // all positions of all chunks, and each chunk's last row drives its sampling.
  const bool all_positions = std::any_of(stepping_.begin(), stepping_.end(),
                                         [](const Seq* s) { return !s->prefilled && s->req.prompt_logprobs; });
  int64_t rows = 0;
  for (const auto& c : chunks_) rows += all_positions ? static_cast<int64_t>(c.tokens.size()) : 1;
  const float* logits = decoder_.forward(chunks_, all_positions);
  const int64_t V = w_.config().vocab_size;
  std::vector<float> host;
  if (!w_.backend().host_accessible()) {
    host.resize(static_cast<size_t>(rows * V));
    w_.backend().copy_to_host(host.data(), logits, host.size() * sizeof(float));
    logits = host.data();
  }
  int64_t first_row = 0;
  for (size_t i = 0; i < stepping_.size(); ++i) {
    Seq& s = *stepping_[i];
    const int64_t n_rows = all_positions ? static_cast<int64_t>(chunks_[i].tokens.size()) : 1;
    const float* row = logits + (first_row + n_rows - 1) * V;
    if (!s.prefilled && s.req.prompt_logprobs) {
      const auto& p = s.req.prompt;
      for (size_t j = 1; j < p.size(); ++j)
        s.out.prompt_logprobs.push_back(
            token_logprob(logits + (first_row + static_cast<int64_t>(j) - 1) * V, V, p[j], std::max<int64_t>(s.req.logprobs, 0)));
    }
    first_row += n_rows;
    s.prefilled = true;
    if (s.req.max_tokens == 0) {
      finish(s, "length");
      finished.push_back(s.id);
      continue;
    }
    const int32_t t = s.sampler.sample(row, s.req.prompt, s.out.tokens);
    if (s.req.logprobs >= 0) s.out.logprobs.push_back(token_logprob(row, V, t, s.req.logprobs));
    s.out.tokens.push_back(t);
    if (std::find(s.req.stop_tokens.begin(), s.req.stop_tokens.end(), t) != s.req.stop_tokens.end()) {
      finish(s, "stop");
    } else if (tok_) {
      const size_t old = s.out.text.size();
      s.out.text += token_text(*tok_, t);
      // A stop string may have started in earlier tokens: search from as far back as
      // the longest stop string could reach.
      size_t cut = std::string::npos;
      for (const auto& stop : s.req.stop) {
        const size_t from = old >= stop.size() - 1 ? old - (stop.size() - 1) : 0;
        cut = std::min(cut, s.out.text.find(stop, from));
      }
      if (cut != std::string::npos) {
        s.out.text.resize(cut);
        finish(s, "stop");
      }
    }
    if (!s.done && (static_cast<int64_t>(s.out.tokens.size()) >= s.req.max_tokens ||
                    cache_.length(s.slot) + 1 > cache_.capacity()))
      finish(s, "length");
    if (s.done) finished.push_back(s.id);
  }
  return finished;
}

const Completion& Generator::peek(int64_t id) const {
  auto it = std::find_if(seqs_.begin(), seqs_.end(), [&](const auto& s) { return s->id == id; });
  if (it == seqs_.end()) fail("no generation {}", id);
  return (*it)->out;
}

Completion Generator::take(int64_t id) {
  auto it = std::find_if(seqs_.begin(), seqs_.end(), [&](const auto& s) { return s->id == id; });
  if (it == seqs_.end() || !(*it)->done) fail("generation {} is not finished", id);
  Completion c = std::move((*it)->out);
  seqs_.erase(it);
  return c;
}

std::vector<Completion> Generator::run(std::vector<Request> requests) {
  std::vector<int64_t> ids;
  for (auto& r : requests) ids.push_back(add(std::move(r)));
  while (busy()) step();
  std::vector<Completion> out;
  for (int64_t id : ids) out.push_back(take(id));
  return out;
}

}  // namespace kormo::infer
