#include "kormo/eval/loglikelihood.h"

#include <algorithm>
#include <cmath>

#include "kormo/backend/cpu/fast_exp.h"
#include "kormo/eval/extract.h"
#include "kormo/infer/decoder.h"
#include "kormo/infer/kv_cache.h"
#include "kormo/util/error.h"

namespace kormo::eval {

struct LoglikelihoodScorer::Item {
  size_t index;
  std::vector<ScoredSequence> seqs;
  int64_t shared = 0;  // leading input tokens common to every sequence, run once
};

namespace {

using Item = LoglikelihoodScorer::Item;

const tok::EncodeOptions kEncode{.allow_special = true};

// Logits of one scored position and the token it should predict.
struct ScoredRow {
  const float* logits;
  int32_t target;
  ContinuationScore* out;
};

// Sums log-softmax of the targets and checks each is the arg-max (first maximum on
// ties, as torch.argmax), rows in parallel; each row's sum is added in row order.
// The exponentials are fp32 and vectorised (fast_exp, relative error ~2e-7), summed in
// blocks whose sums add up in double, so a log-probability is within ~1e-6 of one in
// double: std::exp per logit (64M calls for 2,000 option tokens and a 32K vocabulary)
// took 9% (fp32) to 15% (bf16) of an evaluation's CPU time.
void score_rows(const std::vector<ScoredRow>& rows, int64_t V) {
  constexpr int64_t kBlock = 1024;
  std::vector<double> lp(rows.size());
  std::vector<char> top(rows.size());
#pragma omp parallel for schedule(static)
  for (size_t r = 0; r < rows.size(); ++r) {
    const float* x = rows[r].logits;
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t v = 0; v < V; ++v) mx = std::max(mx, x[v]);
    double s = 0;
    for (int64_t b = 0; b < V; b += kBlock) {
      const int64_t e = std::min(V, b + kBlock);
      float block = 0.f;
#pragma omp simd reduction(+ : block)
      for (int64_t v = b; v < e; ++v) block += backend::cpu_ops::fast_exp(x[v] - mx);
      s += block;
    }
    const int32_t t = rows[r].target;
    lp[r] = static_cast<double>(x[t]) - mx - std::log(s);
    top[r] = x[t] == mx && std::find(x, x + t, mx) == x + t;
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    rows[r].out->loglikelihood += lp[r];
    rows[r].out->greedy = rows[r].out->greedy && top[r];
  }
}

// An item of sequences scored together: they share their common leading tokens, run
// once, but no further than any sequence's first scored position + 1 (that position's
// logits come from the shared run), leaving every sequence at least one token of its own.
Item share_prefix(size_t index, std::vector<ScoredSequence> seqs) {
  Item it{index, std::move(seqs), 0};
  int64_t shared = static_cast<int64_t>(it.seqs[0].input.size()) - 1;
  for (const ScoredSequence& s : it.seqs) {
    const auto& a = it.seqs[0].input;
    int64_t common = std::mismatch(a.begin(), a.end(), s.input.begin(), s.input.end()).first - a.begin();
    shared = std::min({shared, common, s.first_scored() + 1, static_cast<int64_t>(s.input.size()) - 1});
  }
  it.shared = std::max<int64_t>(shared, 0);
  return it;
}


Item make_item(const tok::Tokenizer& tok, const LoglikelihoodRequest& req, size_t index, int64_t L,
               int32_t prefix) {
  if (req.contexts.empty() || req.continuations.empty()) fail("item {}: nothing to score", index);
  if (req.contexts.size() > 1 && req.continuations.size() > 1 && req.contexts.size() != req.continuations.size())
    fail("item {}: {} contexts cannot pair with {} continuations", index, req.contexts.size(), req.continuations.size());
  std::vector<ScoredSequence> seqs;
  for (size_t j = 0; j < req.size(); ++j)
    seqs.push_back(scored_sequence(tok, req.context(j), req.continuation(j), L, prefix,
                                   fmt::format("item {}, pair {}", index, j)));
  return share_prefix(index, std::move(seqs));
}

}  // namespace

ScoredSequence scored_sequence(const tok::Tokenizer& tok, std::string_view context, std::string_view continuation,
                               int64_t window, int32_t prefix_token, const std::string& what) {
  EncodedPair p = encode_pair(tok, context, continuation, prefix_token);
  if (p.continuation.empty()) fail("{}: the continuation encodes to no tokens", what);
  if (static_cast<int64_t>(p.continuation.size()) > window)
    fail("{}: the continuation has {} tokens, more than the window of {}", what, p.continuation.size(), window);
  std::vector<int32_t> whole = std::move(p.context);
  whole.insert(whole.end(), p.continuation.begin(), p.continuation.end());
  // lm-eval keeps the last window + 1 tokens and feeds all but the last.
  if (static_cast<int64_t>(whole.size()) > window + 1) whole.erase(whole.begin(), whole.end() - (window + 1));
  whole.pop_back();
  return {std::move(whole), std::move(p.continuation)};
}

std::vector<ScoredSequence> rolling_windows(std::span<const int32_t> tokens, int32_t prefix_token,
                                            int64_t max_seq_len) {
  std::vector<ScoredSequence> out;
  const auto n = static_cast<int64_t>(tokens.size());
  if (n == 0) return out;
  const int64_t first = std::min(max_seq_len, n);
  ScoredSequence w;
  w.input.push_back(prefix_token);
  w.input.insert(w.input.end(), tokens.begin(), tokens.begin() + first - 1);
  w.targets.assign(tokens.begin(), tokens.begin() + first);
  out.push_back(std::move(w));
  // Later windows: make_disjoint_window leaves max_seq_len + 1 − len(pred) tokens of
  // context; the fed input is context + all predicted tokens but the last.
  for (int64_t predicted = first; predicted < n;) {
    const int64_t len = std::min(n - predicted, max_seq_len), end = predicted + len;
    ScoredSequence v;
    v.input.assign(tokens.begin() + (end - max_seq_len - 1), tokens.begin() + (end - 1));
    v.targets.assign(tokens.begin() + (end - len), tokens.begin() + end);
    out.push_back(std::move(v));
    predicted = end;
  }
  return out;
}

std::vector<ContinuationScore> LoglikelihoodScorer::score_rolling(std::span<const std::string> texts,
                                                                  const std::function<void(int64_t)>& progress) const {
  std::vector<Item> items;
  std::vector<size_t> last_window;  // per text, the index of its last window's item
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<int32_t> ids = tok_.encode(texts[i], kEncode);
    for (ScoredSequence& w : rolling_windows(ids, opt_.prefix_token, opt_.max_length))
      items.push_back(share_prefix(items.size(), {std::move(w)}));
    last_window.push_back(items.size());
  }
  size_t texts_done = 0;
  auto scores = run_items(items, [&](int64_t windows_done) {
    while (texts_done < texts.size() && last_window[texts_done] <= static_cast<size_t>(windows_done)) ++texts_done;
    if (progress) progress(static_cast<int64_t>(texts_done));
  });
  std::vector<ContinuationScore> out(texts.size(), ContinuationScore{0, true, 0});
  for (size_t i = 0, k = 0; i < texts.size(); ++i)
    for (; k < last_window[i]; ++k) add_window(out[i], scores[k][0]);
  return out;
}

EncodedPair encode_pair(const tok::Tokenizer& tok, std::string_view context, std::string_view continuation,
                        int32_t prefix_token) {
  EncodedPair p;
  if (context.empty()) {
    p.continuation = tok.encode(continuation, kEncode);
    if (!p.continuation.empty() && p.continuation[0] == prefix_token) {
      p.context.assign(p.continuation.begin(), p.continuation.begin() + 1);
      p.continuation.erase(p.continuation.begin());
    } else {
      p.context = {prefix_token};
    }
    return p;
  }
  const size_t keep = context.size() - trailing_whitespace(context);
  std::string whole(context.substr(0, keep));
  p.context = tok.encode(whole, kEncode);
  whole += context.substr(keep);
  whole += continuation;
  std::vector<int32_t> all = tok.encode(whole, kEncode);
  const size_t n = std::min(p.context.size(), all.size());
  p.continuation.assign(all.begin() + static_cast<int64_t>(n), all.end());
  return p;
}

LoglikelihoodScorer::LoglikelihoodScorer(const model::Weights& w, const tok::Tokenizer& tok, ScorerOptions opt)
    : w_(w), tok_(tok), opt_(opt) {
  const auto& c = w.config();
  if (opt_.max_length <= 0) opt_.max_length = c.max_seq_len;
  if (opt_.max_length > c.max_seq_len)
    fail_usage("max length {} exceeds the model's max_seq_len {}", opt_.max_length, c.max_seq_len);
  if (opt_.prefix_token < 0) opt_.prefix_token = static_cast<int32_t>(c.bos_token_id);
  if (opt_.batch_tokens <= 0 || opt_.max_sequences <= 0) fail_usage("batch sizes must be positive");
}

std::vector<std::vector<ContinuationScore>> LoglikelihoodScorer::score(
    std::span<const LoglikelihoodRequest> requests, const std::function<void(int64_t)>& progress) const {
  std::vector<Item> items;
  items.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) items.push_back(make_item(tok_, requests[i], i, opt_.max_length, opt_.prefix_token));
  return run_items(items, progress);
}

std::vector<std::vector<ContinuationScore>> LoglikelihoodScorer::run_items(
    std::vector<Item>& items, const std::function<void(int64_t)>& progress) const {
  const int64_t V = w_.config().vocab_size;
  int64_t capacity = 1, most_seqs = 1;
  for (const Item& it : items) {
    for (const ScoredSequence& s : it.seqs) capacity = std::max<int64_t>(capacity, s.input.size());
    most_seqs = std::max<int64_t>(most_seqs, it.seqs.size());
  }
  std::vector<std::vector<ContinuationScore>> out(items.size());
  for (const Item& it : items) out[it.index].assign(it.seqs.size(), ContinuationScore{0, true, 0});
  if (items.empty()) return out;

  // Every scored continuation position becomes a row of V logits: bound their memory.
  const int64_t max_rows = std::max<int64_t>(64, (int64_t{256} << 20) / (V * 4));
  const int64_t slots = std::max(opt_.max_sequences, most_seqs);
  infer::KvCache cache(w_.config(), w_.backend(), slots, capacity);
  infer::Decoder decoder(w_, cache, opt_.precision);
  const bool host = w_.backend().host_accessible();
  std::vector<float> staged;
  auto rows_of = [&](const float* logits, int64_t n) -> const float* {
    if (host) return logits;
    staged.resize(static_cast<size_t>(n * V));
    w_.backend().copy_to_host(staged.data(), logits, staged.size() * sizeof(float));
    return staged.data();
  };

  int64_t done = 0;
  for (size_t begin = 0; begin < items.size();) {
    // A batch: whole items while their sequences fit the slots and their rows the budget.
    size_t end = begin;
    int64_t used_slots = 0, rows = 0, tokens = 0;
    while (end < items.size()) {
      const Item& it = items[end];
      int64_t r = 0;
      for (const ScoredSequence& s : it.seqs) r += static_cast<int64_t>(s.input.size()) - it.shared;
      const int64_t n = static_cast<int64_t>(it.seqs.size());
      if (end > begin && (used_slots + n > slots || rows + r > max_rows || tokens + r + it.shared > opt_.batch_tokens))
        break;
      used_slots += n, rows += r, tokens += r + it.shared;
      ++end;
    }
    std::vector<std::vector<int32_t>> slot_of(end - begin);
    for (size_t i = begin; i < end; ++i)
      for (size_t j = 0; j < items[i].seqs.size(); ++j) slot_of[i - begin].push_back(cache.acquire());

    // The shared prefixes, last position's logits only; then copied to the other slots.
    std::vector<infer::Chunk> chunks;
    std::vector<size_t> prefixed;
    for (size_t i = begin; i < end; ++i)
      if (items[i].shared > 0) {
        chunks.push_back({slot_of[i - begin][0], std::span(items[i].seqs[0].input).first(items[i].shared)});
        prefixed.push_back(i);
      }
    std::vector<ScoredRow> scored;
    if (!chunks.empty()) {
      const float* logits = rows_of(decoder.forward(chunks), static_cast<int64_t>(chunks.size()));
      for (size_t c = 0; c < prefixed.size(); ++c) {
        Item& it = items[prefixed[c]];
        for (size_t j = 0; j < it.seqs.size(); ++j)
          if (it.seqs[j].first_scored() == it.shared - 1)
            scored.push_back({logits + static_cast<int64_t>(c) * V, it.seqs[j].targets[0], &out[it.index][j]});
        for (size_t j = 1; j < it.seqs.size(); ++j)
          cache.copy_prefix(slot_of[prefixed[c] - begin][0], slot_of[prefixed[c] - begin][j], it.shared);
      }
      score_rows(scored, V);
      scored.clear();
    }

    // Every sequence's own tokens together, logits at every position.
    chunks.clear();
    for (size_t i = begin; i < end; ++i)
      for (size_t j = 0; j < items[i].seqs.size(); ++j)
        chunks.push_back({slot_of[i - begin][j], std::span(items[i].seqs[j].input).subspan(items[i].shared)});
    const float* logits = rows_of(decoder.forward(chunks, true), rows);
    int64_t row = 0;
    for (size_t i = begin; i < end; ++i) {
      Item& it = items[i];
      for (size_t j = 0; j < it.seqs.size(); ++j) {
        const ScoredSequence& s = it.seqs[j];
        const int64_t n = static_cast<int64_t>(s.input.size());
        for (int64_t q = std::max(it.shared, s.first_scored()); q < n; ++q)
          scored.push_back({logits + (row + q - it.shared) * V, s.targets[q - s.first_scored()], &out[it.index][j]});
        row += n - it.shared;
        out[it.index][j].tokens = static_cast<int64_t>(s.targets.size());
      }
    }
    score_rows(scored, V);
    for (const auto& ss : slot_of)
      for (int32_t s : ss) cache.release(s);
    done += static_cast<int64_t>(end - begin);
    if (progress) progress(done);
    begin = end;
  }
  return out;
}

}  // namespace kormo::eval
