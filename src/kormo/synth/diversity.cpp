#include "kormo/synth/diversity.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "kormo/data/dedup.h"
#include "kormo/data/words.h"
#include "kormo/text/utf8.h"
#include "kormo/util/hash.h"

namespace kormo::synth {

namespace {

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

// Largest estimated Jaccard to any other text sharing an LSH band with it.
std::vector<double> nearest_neighbour(const std::vector<std::string_view>& texts) {
  const data::MinHashParams mp;
  const size_t k = static_cast<size_t>(mp.bands * mp.rows), n = texts.size();
  std::vector<uint32_t> sigs;
  sigs.reserve(n * k);
  for (auto t : texts) {
    const auto s = data::minhash_signature(data::shingles(data::dedup_normal_form(t), mp.ngram), mp);
    sigs.insert(sigs.end(), s.begin(), s.end());
  }
  std::vector<double> best(n, 0);
  for (int b = 0; b < mp.bands; ++b) {
    std::unordered_map<uint64_t, std::vector<size_t>> buckets;
    for (size_t i = 0; i < n; ++i) {
      const auto* row = &sigs[i * k + static_cast<size_t>(b * mp.rows)];
      buckets[xxh3_64(std::string_view(reinterpret_cast<const char*>(row), sizeof(uint32_t) * mp.rows))].push_back(i);
    }
    for (const auto& [h, members] : buckets)
      for (size_t x = 0; x < members.size(); ++x)
        for (size_t y = x + 1; y < members.size(); ++y) {
          const size_t i = members[x], j = members[y];
          size_t eq = 0;
          for (size_t c = 0; c < k; ++c) eq += sigs[i * k + c] == sigs[j * k + c];
          const double s = static_cast<double>(eq) / static_cast<double>(k);
          best[i] = std::max(best[i], s);
          best[j] = std::max(best[j], s);
        }
  }
  return best;
}

// Words that say nothing about a text's topic: Korean function words and endings by their
// first two syllables (the stem key below), and common English function words by their
// first six letters.
const std::unordered_set<std::string>& non_topic_terms() {
  static const std::unordered_set<std::string> s = [] {
    std::unordered_set<std::string> out;
    for (const char* w :
         {"있는", "있습", "있다", "있으", "있어", "있을", "없는", "없습", "없다", "없이", "하는", "하고", "하지", "합니",
          "하여", "해야", "해서", "했습", "했다", "한다", "하다", "하면", "하게", "하기", "하였", "할수", "되는", "되어",
          "되지", "되면", "됩니", "된다", "되었", "입니", "이다", "이며", "이런", "이러", "이렇", "이는", "이를", "그리",
          "그러", "그런", "그렇", "그래", "그것", "그는", "그의", "저는", "저희", "제가", "우리", "너무", "많은", "많이",
          "모든", "또한", "또는", "때문", "위해", "위한", "대한", "대해", "통해", "같은", "같이", "어떻", "어떤", "아니",
          "아닌", "지금", "현재", "정말", "생각", "것이", "것은", "것을", "수가", "수도", "경우", "부탁", "안녕", "감사",
          "다음", "여러", "가장", "바로", "다른", "함께", "따라", "등의", "있도", "the", "and", "that", "this", "with",
          "from", "have", "was", "were", "for", "are", "not", "but", "his", "her", "they", "their", "which", "been",
          "has", "had", "will", "would", "there", "what", "when", "who", "all", "one", "can", "more", "into", "its",
          "than", "them", "then", "some", "could", "only", "other", "such", "also", "you", "your", "our", "about",
          "these", "those", "may", "how", "very", "most", "many", "each", "any", "should", "where", "while"})
      out.insert(w);
    return out;
  }();
  return s;
}

// A word's topic key: Hangul words by their first two syllables (the eojeol's stem, its
// particles and endings left off: 보육교사는, 보육료 → 보육), others ASCII-lower-cased and
// cut to six code points (a crude stem: education, educational → educat).
std::string topic_term(std::string_view word) {
  const std::string lower = data::ascii_lower(word);
  const bool hangul = lower.size() >= 3 && static_cast<unsigned char>(lower[0]) >= 0xEA &&
                      static_cast<unsigned char>(lower[0]) <= 0xED;
  const size_t keep = hangul ? 2 : 6;
  size_t cps = 0, end = 0;
  for (; end < lower.size(); ++end)
    if ((static_cast<unsigned char>(lower[end]) & 0xC0) != 0x80 && cps++ == keep) break;
  return lower.substr(0, end);
}

// The text's keywords: its kTopicKeywords most frequent topic terms (ties: the earlier).
constexpr size_t kTopicKeywords = 8;
std::vector<std::string> topic_keywords(std::string_view text) {
  std::unordered_map<std::string, std::pair<size_t, size_t>> count;  // term -> (count, first position)
  size_t pos = 0;
  for (const auto& w : data::split_words(text)) {
    // Dates and counts (1월, 3학년) say when and how many, not what about.
    if (w.punct || !w.has_letter || w.chars < 2 ||
        std::any_of(w.text.begin(), w.text.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      continue;
    std::string t = topic_term(w.text);
    if (non_topic_terms().count(t)) continue;
    auto [it, fresh] = count.try_emplace(std::move(t), 0, pos++);
    ++it->second.first;
  }
  std::vector<std::pair<std::string, std::pair<size_t, size_t>>> v(count.begin(), count.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second.first != b.second.first ? a.second.first > b.second.first : a.second.second < b.second.second;
  });
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size() && i < kTopicKeywords; ++i) out.push_back(v[i].first);
  return out;
}

// Texts grouped by topic, in order: a text joins the first group whose first text shares
// at least two of its keywords, else starts a group. Returns the group sizes and the
// first text's keywords of each.
struct TopicGroups {
  std::vector<size_t> sizes;
  std::vector<std::vector<std::string>> keywords;
};
TopicGroups topic_groups(const std::vector<std::string_view>& texts) {
  TopicGroups g;
  std::unordered_map<std::string, std::vector<size_t>> leaders_with;  // keyword -> groups whose leader has it
  for (auto t : texts) {
    std::vector<std::string> kw = topic_keywords(t);
    std::unordered_map<size_t, size_t> shared;
    size_t join = g.sizes.size();
    for (const auto& k : kw)
      if (auto it = leaders_with.find(k); it != leaders_with.end())
        for (size_t grp : it->second)
          if (++shared[grp] == 2) join = std::min(join, grp);
    if (join < g.sizes.size()) {
      ++g.sizes[join];
      continue;
    }
    for (const auto& k : kw) leaders_with[k].push_back(g.sizes.size());
    g.sizes.push_back(1);
    g.keywords.push_back(std::move(kw));
  }
  return g;
}

}  // namespace

nlohmann::ordered_json diversity_stats(const std::vector<DiversityInput>& in) {
  nlohmann::ordered_json j;
  j["texts"] = in.size();
  std::unordered_set<std::string> uni, bi;
  size_t n_uni = 0, n_bi = 0;
  std::string joined;
  std::vector<double> lengths;
  std::vector<std::string_view> texts;
  std::set<std::string_view> seeds, personas;
  for (const auto& d : in) {
    std::string prev;
    for (const auto& w : data::split_words(d.text)) {
      if (w.punct) continue;
      std::string cur = data::ascii_lower(w.text);
      ++n_uni;
      uni.insert(cur);
      if (!prev.empty()) {
        ++n_bi;
        bi.insert(prev + ' ' + cur);
      }
      prev = std::move(cur);
    }
    joined.append(d.text).push_back('\n');
    lengths.push_back(static_cast<double>(
        text::is_valid_utf8(d.text) ? text::count_code_points(d.text) : d.text.size()));
    texts.push_back(d.text);
    seeds.insert(d.seed_id);
    personas.insert(d.persona);
  }
  const double d1 = n_uni ? static_cast<double>(uni.size()) / static_cast<double>(n_uni) : 0;
  const double d2 = n_bi ? static_cast<double>(bi.size()) / static_cast<double>(n_bi) : 0;
  std::string packed(ZSTD_compressBound(joined.size()), '\0');
  const size_t z = ZSTD_compress(packed.data(), packed.size(), joined.data(), joined.size(), 3);
  const double ratio =
      joined.empty() || ZSTD_isError(z) ? 0 : static_cast<double>(z) / static_cast<double>(joined.size());
  const auto nn = nearest_neighbour(texts);
  double nn_sum = 0;
  size_t near = 0;
  for (double s : nn) {
    nn_sum += s;
    near += s >= 0.5;
  }
  double mean = 0, var = 0;
  for (double l : lengths) mean += l;
  if (!lengths.empty()) mean /= static_cast<double>(lengths.size());
  for (double l : lengths) var += (l - mean) * (l - mean);
  if (!lengths.empty()) var /= static_cast<double>(lengths.size());
  const double share = in.empty() ? 0 : static_cast<double>(near) / static_cast<double>(in.size());

  j["distinct_1"] = d1;
  j["distinct_2"] = d2;
  j["compression_ratio"] = ratio;
  j["nn_similarity_mean"] = in.empty() ? 0 : nn_sum / static_cast<double>(in.size());
  j["nn_similarity_p90"] = quantile(nn, 0.9);
  j["near_duplicate_share"] = share;
  j["length"] = {{"mean", mean},
                 {"std", std::sqrt(var)},
                 {"p10", quantile(lengths, 0.1)},
                 {"p50", quantile(lengths, 0.5)},
                 {"p90", quantile(lengths, 0.9)}};
  j["distinct_seeds"] = seeds.size();
  j["distinct_personas"] = personas.size();
  const TopicGroups topics = topic_groups(texts);
  double entropy = 0;
  size_t largest = 0;
  for (size_t i = 0; i < topics.sizes.size(); ++i) {
    const double p = static_cast<double>(topics.sizes[i]) / static_cast<double>(in.size());
    entropy -= p * std::log(p);
    if (topics.sizes[i] > topics.sizes[largest]) largest = i;
  }
  const double largest_share =
      in.empty() ? 0 : static_cast<double>(topics.sizes[largest]) / static_cast<double>(in.size());
  const std::vector<std::string> largest_keywords = in.empty() ? std::vector<std::string>{} : topics.keywords[largest];
  j["topics"] = {{"groups", topics.sizes.size()},
                 {"effective", in.empty() ? 0 : std::exp(entropy)},
                 {"largest_share", largest_share},
                 {"largest_keywords", largest_keywords}};
  auto warnings = nlohmann::ordered_json::array();
  if (in.size() >= 10) {
    if (share >= 0.3) warnings.push_back(fmt::format("collapse: {:.0f}% of texts have a near duplicate", 100 * share));
    if (d2 < 0.2) warnings.push_back(fmt::format("collapse: distinct-2 is {:.3f}", d2));
    if (ratio < 0.1) warnings.push_back(fmt::format("collapse: the texts compress to {:.3f} of their size", ratio));
    if (largest_share >= 0.4)
      warnings.push_back(fmt::format("collapse: {:.0f}% of texts are on one topic ({})", 100 * largest_share,
                                     fmt::join(largest_keywords, ", ")));
  }
  j["warnings"] = warnings;
  return j;
}

}  // namespace kormo::synth
