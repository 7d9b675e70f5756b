#include "kormo/synth/diversity.h"

#include <fmt/format.h>
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
  auto warnings = nlohmann::ordered_json::array();
  if (in.size() >= 10) {
    if (share >= 0.3) warnings.push_back(fmt::format("collapse: {:.0f}% of texts have a near duplicate", 100 * share));
    if (d2 < 0.2) warnings.push_back(fmt::format("collapse: distinct-2 is {:.3f}", d2));
    if (ratio < 0.1) warnings.push_back(fmt::format("collapse: the texts compress to {:.3f} of their size", ratio));
  }
  j["warnings"] = warnings;
  return j;
}

}  // namespace kormo::synth
