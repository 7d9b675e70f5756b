#include "kormo/eval/endpoint.h"

#include <httplib.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "kormo/eval/extract.h"
#include "kormo/util/error.h"
#include "kormo/util/http_client.h"

namespace kormo::eval {

struct EndpointScorer::Impl {
  std::string url, origin, path;
  const tok::Tokenizer& tok;
  EndpointOptions opt;
  std::unique_ptr<httplib::Client> client;

  Impl(const std::string& base_url, const tok::Tokenizer& t, EndpointOptions o) : url(base_url), tok(t), opt(o) {
    const auto split = split_http_url(url);
    if (!split) fail_usage("--endpoint '{}': expected http://HOST[:PORT]/v1 or https://HOST[:PORT]/v1", url);
    origin = split->origin;
    path = split->path + "/completions";
    client = make_http_client(*split, opt.ca_file);
    const auto secs = static_cast<time_t>(opt.timeout_seconds);
    client->set_read_timeout(secs, 0);
    client->set_write_timeout(secs, 0);
    if (!opt.api_key.empty()) client->set_bearer_token_auth(opt.api_key);
    if (opt.model.empty()) opt.model = served_model(split->path);
  }

  [[noreturn]] void fail_no_answer(const std::string& where, httplib::Error e) const {
    fail_io("{}{}: {} ({})", origin, where, is_tls_error(e) ? "TLS failed" : "no answer",
            describe_http_error(*client, e, opt.ca_file));
  }

  // The first model the server lists (GET …/models), for requests that must name one.
  std::string served_model(const std::string& prefix) const {
    auto res = client->Get(prefix + "/models");
    if (!res) fail_no_answer(prefix + "/models", res.error());
    const nlohmann::json j = nlohmann::json::parse(res->body, nullptr, false);
    if (res->status != 200 || j.is_discarded() || !j.contains("data") || !j["data"].is_array() || j["data"].empty() ||
        !j["data"][0].is_object() || !j["data"][0].contains("id") || !j["data"][0]["id"].is_string())
      fail_io("{}{}/models: HTTP {}: no model listed (give one with --served-model)", origin, prefix, res->status);
    return j["data"][0]["id"].get<std::string>();
  }

  // One request for up to opt.batch prompts: each prompt's choice, in prompt order.
  std::vector<nlohmann::json> post(nlohmann::json body, const std::vector<std::vector<int32_t>>& prompts) const {
    body["model"] = opt.model;
    body["prompt"] = prompts;
    auto res = client->Post(path, body.dump(), "application/json");
    if (!res) fail_no_answer(path, res.error());
    nlohmann::json reply = nlohmann::json::parse(res->body, nullptr, false);
    if (res->status != 200) {
      std::string why = res->body.substr(0, 300);
      if (!reply.is_discarded() && reply.contains("error") && reply["error"].is_object())
        why = reply["error"].value("message", why);
      fail_io("{}{}: HTTP {}: {}", origin, path, res->status, why);
    }
    if (reply.is_discarded() || !reply.contains("choices") || !reply["choices"].is_array() ||
        reply["choices"].size() != prompts.size())
      fail_io("{}{}: the reply has no choices for the {} prompts sent", origin, path, prompts.size());
    std::vector<nlohmann::json> out(prompts.size());
    for (const auto& c : reply["choices"]) {
      const size_t i = c.is_object() ? c.value("index", size_t{0}) : prompts.size();
      if (i >= prompts.size()) fail_io("{}{}: a choice without a valid index", origin, path);
      out[i] = c;
    }
    return out;
  }

  // A scored sequence of item `item`, pair `index`.
  struct Pair {
    size_t item, index;
    ScoredSequence seq;
  };

  // Sends every pair as one whole sequence (the fed input plus its last target), opt.batch
  // per request; the sum of the targets' token_logprobs goes to out[item][index].
  void run(const std::vector<Pair>& pairs, std::vector<std::vector<ContinuationScore>>& out,
           const std::function<void(int64_t)>& progress) const {
    size_t items_done = 0;
    for (size_t b = 0; b < pairs.size(); b += static_cast<size_t>(opt.batch)) {
      const size_t e = std::min(pairs.size(), b + static_cast<size_t>(opt.batch));
      std::vector<std::vector<int32_t>> prompts;
      for (size_t k = b; k < e; ++k) {
        prompts.push_back(pairs[k].seq.input);
        prompts.back().push_back(pairs[k].seq.targets.back());
      }
      const auto lps = logprobs(prompts);
      for (size_t k = b; k < e; ++k) {
        const Pair& p = pairs[k];
        const size_t n = prompts[k - b].size(), scored = p.seq.targets.size();
        const auto& lp = lps[k - b];
        const auto& tl = lp.value("token_logprobs", nlohmann::json());
        const auto& top = lp.value("top_logprobs", nlohmann::json());
        if (!tl.is_array() || tl.size() != n || !top.is_array() || top.size() != n)
          fail_io("{}{}: token_logprobs/top_logprobs do not cover the {} prompt tokens sent", origin, path, n);
        ContinuationScore& s = out[p.item][p.index];
        s.tokens = static_cast<int64_t>(scored);
        for (size_t t = n - scored; t < n; ++t) {
          if (!tl[t].is_number() || !top[t].is_object())
            fail_io("{}{}: no log-probability for prompt token {}", origin, path, t);
          const double l = tl[t].get<double>();
          s.loglikelihood += l;
          double best = l;
          for (const auto& [tok, v] : top[t].items())
            if (v.is_number()) best = std::max(best, v.get<double>());
          s.greedy = s.greedy && l >= best;
        }
      }
      // Pairs are in item order: an item is done once its last pair is.
      while (items_done < out.size() && (e == pairs.size() || pairs[e].item > items_done)) ++items_done;
      if (progress) progress(static_cast<int64_t>(items_done));
    }
  }

  std::vector<nlohmann::json> logprobs(const std::vector<std::vector<int32_t>>& prompts) const {
    auto choices = post({{"max_tokens", 0}, {"echo", true}, {"logprobs", 1}, {"temperature", 0}}, prompts);
    for (auto& c : choices) {
      if (!c.contains("logprobs") || !c["logprobs"].is_object())
        fail_io("{}{}: a choice without logprobs (does the server support echo with logprobs?)", origin, path);
      c = nlohmann::json(c["logprobs"]);
    }
    return choices;
  }
};

EndpointScorer::EndpointScorer(const std::string& base_url, const tok::Tokenizer& tok, EndpointOptions opt)
    : impl_(std::make_unique<Impl>(base_url, tok, std::move(opt))) {}
EndpointScorer::~EndpointScorer() = default;

std::vector<std::vector<ContinuationScore>> EndpointScorer::score(std::span<const LoglikelihoodRequest> items,
                                                                  const std::function<void(int64_t)>& progress) const {
  const Impl& m = *impl_;
  std::vector<Impl::Pair> pairs;
  std::vector<std::vector<ContinuationScore>> out(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const LoglikelihoodRequest& req = items[i];
    if (req.contexts.empty() || req.continuations.empty()) fail("item {}: nothing to score", i);
    out[i].assign(req.size(), ContinuationScore{0, true, 0});
    for (size_t j = 0; j < req.size(); ++j)
      pairs.push_back({i, j, scored_sequence(m.tok, req.context(j), req.continuation(j), m.opt.max_length - 1,
                                             m.opt.prefix_token, fmt::format("item {}, pair {}", i, j))});
  }
  m.run(pairs, out, progress);
  return out;
}

std::vector<ContinuationScore> EndpointScorer::score_rolling(std::span<const std::string> texts,
                                                             const std::function<void(int64_t)>& progress) const {
  const Impl& m = *impl_;
  std::vector<Impl::Pair> pairs;
  std::vector<std::vector<ContinuationScore>> out(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    // The echoed prompt carries the window's last target too: windows one token shorter
    // than the served context, so it fits.
    const auto windows = rolling_windows(m.tok.encode(texts[i], {.allow_special = true}), m.opt.prefix_token,
                                         m.opt.max_length - 1);
    out[i].assign(windows.size(), ContinuationScore{0, true, 0});
    for (size_t j = 0; j < windows.size(); ++j) pairs.push_back({i, j, windows[j]});
  }
  m.run(pairs, out, progress);
  std::vector<ContinuationScore> sums(texts.size(), ContinuationScore{0, true, 0});
  for (size_t i = 0; i < texts.size(); ++i)
    for (const auto& w : out[i]) add_window(sums[i], w);
  return sums;
}

std::vector<std::string> EndpointScorer::generate(std::span<const GenerationRequest> requests,
                                                  const std::function<void(int64_t)>& progress) const {
  const Impl& m = *impl_;
  std::vector<std::string> out;
  const size_t batch = static_cast<size_t>(m.opt.batch);
  for (size_t b = 0; b < requests.size(); b += batch) {
    const size_t e = std::min(requests.size(), b + batch);
    // One request per set of stop strings (a task's requests share one).
    for (size_t k = b; k < e;) {
      const auto stop = stop_strings(m.tok, requests[k]);
      size_t end = k;
      std::vector<std::vector<int32_t>> prompts;
      while (end < e && requests[end].until == requests[k].until && requests[end].max_gen_toks == requests[k].max_gen_toks)
        prompts.push_back(generation_prompt(m.tok, requests[end++], m.opt.max_length));
      const auto choices =
          m.post({{"max_tokens", requests[k].max_gen_toks}, {"stop", stop}, {"temperature", 0}}, prompts);
      for (const auto& c : choices) {
        if (!c.contains("text") || !c["text"].is_string())
          fail_io("{}{}: a choice without text", m.origin, m.path);
        // The server cuts at its stop strings too; cutting again keeps lm-eval's rule.
        out.push_back(cut_at_stop(c["text"].get<std::string>(), stop));
      }
      k = end;
    }
    if (progress) progress(static_cast<int64_t>(e));
  }
  return out;
}

}  // namespace kormo::eval
