#include "kormo/data/dedup.h"

#include <numeric>
#include <unordered_map>

#include "kormo/data/words.h"
#include "kormo/util/hash.h"
#include "kormo/util/rng.h"

namespace kormo::data {

std::string dedup_normal_form(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const Word& w : split_words(text)) {
    if (w.punct) continue;
    if (!out.empty()) out += ' ';
    for (char c : w.text) out += (c >= 'A' && c <= 'Z') ? char(c + 32) : c;
  }
  return out;
}

std::vector<uint64_t> shingles(std::string_view nf, int ngram) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < nf.size(); ++i)
    if (i == 0 || nf[i - 1] == ' ') starts.push_back(i);
  std::vector<uint64_t> out;
  if (starts.empty()) return out;
  size_t n = static_cast<size_t>(ngram);
  if (starts.size() <= n) {
    out.push_back(xxh3_64(nf));
    return out;
  }
  out.reserve(starts.size() - n + 1);
  for (size_t i = 0; i + n <= starts.size(); ++i) {
    size_t end = i + n < starts.size() ? starts[i + n] - 1 : nf.size();
    out.push_back(xxh3_64(nf.substr(starts[i], end - starts[i])));
  }
  return out;
}

std::vector<uint32_t> minhash_signature(const std::vector<uint64_t>& sh, const MinHashParams& p) {
  size_t k = static_cast<size_t>(p.bands) * p.rows;
  std::vector<uint64_t> keys(k);
  uint64_t s = p.seed;
  for (auto& key : keys) key = splitmix64(s);
  std::vector<uint64_t> mins(k, ~0ull);
  for (uint64_t x : sh)
    for (size_t i = 0; i < k; ++i) {
      // A keyed bijective mix per hash function (splitmix64's finaliser).
      uint64_t z = x ^ keys[i];
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      z ^= z >> 31;
      if (z < mins[i]) mins[i] = z;
    }
  std::vector<uint32_t> sig(k);
  for (size_t i = 0; i < k; ++i) sig[i] = static_cast<uint32_t>(mins[i] >> 32);
  return sig;
}

namespace {
size_t find_root(std::vector<size_t>& parent, size_t x) {
  while (parent[x] != x) x = parent[x] = parent[parent[x]];
  return x;
}
// Union keeping the smaller index (the earlier document) as the root.
void unite(std::vector<size_t>& parent, size_t a, size_t b) {
  a = find_root(parent, a);
  b = find_root(parent, b);
  if (a == b) return;
  if (a < b) parent[b] = a;
  else parent[a] = b;
}
}  // namespace

DedupResult cluster_duplicates(const std::vector<uint64_t>& exact_hashes, const std::vector<uint32_t>& sigs,
                               const MinHashParams& p) {
  size_t n = exact_hashes.size();
  std::vector<size_t> parent(n);
  std::iota(parent.begin(), parent.end(), 0);
  DedupResult r;
  r.exact.assign(n, false);
  std::unordered_map<uint64_t, size_t> first;
  first.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (exact_hashes[i] == 0) continue;
    auto [it, fresh] = first.try_emplace(exact_hashes[i], i);
    if (!fresh) {
      unite(parent, it->second, i);
      r.exact[i] = true;
    }
  }
  size_t rows = static_cast<size_t>(p.rows), k = static_cast<size_t>(p.bands) * rows;
  bool near = !sigs.empty();
  for (int b = 0; near && b < p.bands; ++b) {
    std::unordered_map<uint64_t, std::vector<size_t>> buckets;
    buckets.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (r.exact[i]) continue;
      const uint32_t* si = sigs.data() + i * k;
      uint64_t h = xxh3_64(std::string_view(reinterpret_cast<const char*>(si + b * rows), rows * sizeof(uint32_t)), b);
      auto& bucket = buckets[h];
      // Compare with the bucket's members until one verifies (members of one
      // cluster need only one link).
      for (size_t j : bucket) {
        if (find_root(parent, j) == find_root(parent, i)) break;
        const uint32_t* sj = sigs.data() + j * k;
        size_t eq = 0;
        for (size_t q = 0; q < k; ++q) eq += si[q] == sj[q];
        if (double(eq) / k >= p.verify_threshold) {
          unite(parent, j, i);
          break;
        }
      }
      bucket.push_back(i);
    }
  }
  r.keeper.resize(n);
  r.cluster_size.assign(n, 0);
  for (size_t i = 0; i < n; ++i) r.keeper[i] = find_root(parent, i);
  std::vector<size_t> size(n, 0);
  for (size_t i = 0; i < n; ++i) ++size[r.keeper[i]];
  for (size_t i = 0; i < n; ++i) r.cluster_size[i] = size[r.keeper[i]];
  return r;
}

}  // namespace kormo::data
