// Deduplication: exact (xxh3 of normalised text) and near-duplicate
// (MinHash-LSH over word 5-gram shingles).
//
// Normalised text for both: ASCII lower-case, punctuation removed, words from
// split_words() joined by single spaces. MinHash: `bands` x `rows` hash
// functions (default 14 x 8 = 112), each a keyed 64-bit mix of the shingle's
// xxh3. Two documents become candidates when any band's rows all agree; a
// candidate pair is accepted when the fraction of equal MinHash values (the
// unbiased Jaccard estimate over all 112) reaches `verify_threshold` (0.7), which
// keeps false positives at low similarity rare (plain 14x8 banding accepts 5%
// of pairs at Jaccard 0.5). Clusters are connected components; the first
// document by input order is kept, the rest are removed. Deterministic.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kormo::data {

struct MinHashParams {
  int ngram = 5, bands = 14, rows = 8;
  double verify_threshold = 0.7;  // 0 = accept every band collision
  uint64_t seed = 1;
};

std::string dedup_normal_form(std::string_view text);
// Shingle hashes of the normal form (a document shorter than `ngram` words is one shingle).
std::vector<uint64_t> shingles(std::string_view normal_form, int ngram);
// bands*rows MinHash values, kept at 32 bits (memory: 448 bytes a document).
std::vector<uint32_t> minhash_signature(const std::vector<uint64_t>& shingles, const MinHashParams& p);

struct DedupResult {
  // For each document: index of the document it duplicates (itself when kept).
  std::vector<size_t> keeper;
  std::vector<bool> exact;          // removed as an exact duplicate (else near)
  std::vector<size_t> cluster_size; // size of the document's cluster
};

// exact_hashes: one per document (0 disables exact dedup for it); signatures:
// bands*rows values per document, concatenated (empty disables near dedup).
DedupResult cluster_duplicates(const std::vector<uint64_t>& exact_hashes, const std::vector<uint32_t>& signatures,
                               const MinHashParams& p);

}  // namespace kormo::data
