#include "kormo/eval/endpoint.h"

#include <httplib.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "kormo/util/error.h"

namespace kormo::eval {

struct EndpointScorer::Impl {
  std::string url, origin, path;
  const tok::Tokenizer& tok;
  EndpointOptions opt;
  std::unique_ptr<httplib::Client> client;

  Impl(const std::string& base_url, const tok::Tokenizer& t, EndpointOptions o) : url(base_url), tok(t), opt(o) {
    // scheme://host[:port] then the path prefix (e.g. /v1).
    const size_t scheme = url.find("://");
    if (scheme == std::string::npos || url.compare(0, scheme, "http") != 0)
      fail_usage("--endpoint '{}': expected http://HOST:PORT/v1 (https is not supported)", url);
    const size_t slash = url.find('/', scheme + 3);
    origin = url.substr(0, slash);
    path = slash == std::string::npos ? "" : url.substr(slash);
    while (!path.empty() && path.back() == '/') path.pop_back();
    path += "/completions";
    client = std::make_unique<httplib::Client>(origin);
    const auto secs = static_cast<time_t>(opt.timeout_seconds);
    client->set_read_timeout(secs, 0);
    client->set_write_timeout(secs, 0);
    if (!opt.api_key.empty()) client->set_bearer_token_auth(opt.api_key);
    if (opt.model.empty()) opt.model = served_model(path.substr(0, path.size() - std::string("/completions").size()));
  }

  // The first model the server lists (GET …/models), for requests that must name one.
  std::string served_model(const std::string& prefix) const {
    auto res = client->Get(prefix + "/models");
    if (!res) fail_io("{}{}/models: no answer ({})", origin, prefix, httplib::to_string(res.error()));
    const nlohmann::json j = nlohmann::json::parse(res->body, nullptr, false);
    if (res->status != 200 || j.is_discarded() || !j.contains("data") || !j["data"].is_array() || j["data"].empty() ||
        !j["data"][0].is_object() || !j["data"][0].contains("id") || !j["data"][0]["id"].is_string())
      fail_io("{}{}/models: HTTP {}: no model listed (give one with --served-model)", origin, prefix, res->status);
    return j["data"][0]["id"].get<std::string>();
  }

  // One request for up to opt.batch sequences: their token log-probabilities, prompt order.
  std::vector<nlohmann::json> post(const std::vector<std::vector<int32_t>>& prompts) const {
    nlohmann::json body = {{"model", opt.model}, {"prompt", prompts}, {"max_tokens", 0},
                           {"echo", true},       {"logprobs", 1},      {"temperature", 0}};
    auto res = client->Post(path, body.dump(), "application/json");
    if (!res) fail_io("{}{}: no answer ({})", origin, path, httplib::to_string(res.error()));
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
      const size_t i = c.value("index", size_t{0});
      if (i >= prompts.size() || !c.contains("logprobs") || !c["logprobs"].is_object())
        fail_io("{}{}: a choice without logprobs (does the server support echo with logprobs?)", origin, path);
      out[i] = c["logprobs"];
    }
    return out;
  }
};

EndpointScorer::EndpointScorer(const std::string& base_url, const tok::Tokenizer& tok, EndpointOptions opt)
    : impl_(std::make_unique<Impl>(base_url, tok, std::move(opt))) {}
EndpointScorer::~EndpointScorer() = default;

std::vector<std::vector<ContinuationScore>> EndpointScorer::score(std::span<const LoglikelihoodRequest> items,
                                                                  const std::function<void(int64_t)>& progress) const {
  const Impl& m = *impl_;
  // Every pair of every item as one whole sequence: the fed input plus its last target.
  struct Pair {
    size_t item, index;
    std::vector<int32_t> tokens;
    size_t scored;  // the last `scored` tokens are the continuation
  };
  std::vector<Pair> pairs;
  std::vector<std::vector<ContinuationScore>> out(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const LoglikelihoodRequest& req = items[i];
    if (req.contexts.empty() || req.continuations.empty()) fail("item {}: nothing to score", i);
    out[i].assign(req.size(), ContinuationScore{0, true, 0});
    for (size_t j = 0; j < req.size(); ++j) {
      ScoredSequence s = scored_sequence(m.tok, req.context(j), req.continuation(j), m.opt.max_length,
                                         m.opt.prefix_token, fmt::format("item {}, pair {}", i, j));
      s.input.push_back(s.targets.back());
      pairs.push_back({i, j, std::move(s.input), s.targets.size()});
    }
  }
  size_t items_done = 0;
  for (size_t b = 0; b < pairs.size(); b += static_cast<size_t>(m.opt.batch)) {
    const size_t e = std::min(pairs.size(), b + static_cast<size_t>(m.opt.batch));
    std::vector<std::vector<int32_t>> prompts;
    for (size_t k = b; k < e; ++k) prompts.push_back(pairs[k].tokens);
    const auto logprobs = m.post(prompts);
    for (size_t k = b; k < e; ++k) {
      const Pair& p = pairs[k];
      const auto& lp = logprobs[k - b];
      const auto& tl = lp.value("token_logprobs", nlohmann::json());
      const auto& top = lp.value("top_logprobs", nlohmann::json());
      if (!tl.is_array() || tl.size() != p.tokens.size() || !top.is_array() || top.size() != p.tokens.size())
        fail_io("{}{}: token_logprobs/top_logprobs do not cover the {} prompt tokens sent", m.origin, m.path,
                p.tokens.size());
      ContinuationScore& s = out[p.item][p.index];
      s.tokens = static_cast<int64_t>(p.scored);
      for (size_t t = p.tokens.size() - p.scored; t < p.tokens.size(); ++t) {
        if (!tl[t].is_number() || !top[t].is_object())
          fail_io("{}{}: no log-probability for prompt token {}", m.origin, m.path, t);
        const double l = tl[t].get<double>();
        s.loglikelihood += l;
        double best = l;
        for (const auto& [tok, v] : top[t].items())
          if (v.is_number()) best = std::max(best, v.get<double>());
        s.greedy = s.greedy && l >= best;
      }
    }
    // Pairs are in item order: an item is done once its last pair is.
    while (items_done < items.size() && (e == pairs.size() || pairs[e].item > items_done)) ++items_done;
    if (progress) progress(static_cast<int64_t>(items_done));
  }
  return out;
}

}  // namespace kormo::eval
