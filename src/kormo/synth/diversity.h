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
//  - topics: what the texts are about, whatever seeds they came from. A text's keywords
//    are its 8 most frequent topic terms (words of two or more letters by a stem key:
//    a Hangul word's first two syllables, which leaves its particles off; another word's
//    first six letters, ASCII lower-cased), function words left out. In order, a text
//    joins the first group whose first text shares at least two of its keywords, else
//    starts one (a text without keywords is a group of its own). groups; effective = exp(entropy of the group shares), the number of
//    equally large topics that would be as spread; largest_share and largest_keywords
//    (the largest group's first text's keywords).
//  - warnings: collapse, from 10 texts on: near_duplicate_share ≥ 0.3, distinct_2 < 0.2,
//    compression_ratio < 0.1 or topics.largest_share ≥ 0.4.
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
