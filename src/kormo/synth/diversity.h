// How varied a set of synthetic texts is, so a teacher that collapses toward a few forms
// is seen while the run goes on, not after training on its output.
//
//  - distinct_1 / distinct_2: distinct word unigrams / bigrams over all of them (words of
//    data::split_words, ASCII lower-cased, punctuation left out).
//  - compression_ratio: zstd (level 3) size / raw size of the texts joined by '\n'.
//    Repeated forms compress well, so a falling ratio means repetition.
//  - nn_similarity_mean / _p90: each text's nearest neighbour among the others by MinHash
//    (the data stage's signatures, 14 × 8); candidates come from LSH band collisions, so a
//    text with no colliding neighbour (Jaccard well below 0.3) counts as 0.
//  - near_duplicate_share: texts whose nearest neighbour is at least 0.5 similar.
//  - length: code points per text (mean, std, p10, p50, p90).
//  - distinct_seeds / distinct_personas: how many of each the texts came from.
//  - warnings: collapse, from 10 texts on: near_duplicate_share ≥ 0.3, distinct_2 < 0.2
//    or compression_ratio < 0.1.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace kormo::synth {

struct DiversityInput {
  std::string_view text;
  std::string_view seed_id, persona;
};

nlohmann::ordered_json diversity_stats(const std::vector<DiversityInput>& texts);

}  // namespace kormo::synth
