// Decontamination: finds documents that share long word n-grams
// (kDefaultNgram words by default) with evaluation sets.
//
// Evaluation files are read as the evaluator reads them: JSON Lines (every
// string and string-array field of each record: llm-foundry {query, choices},
// {context, continuation}, gsm8k {question, answer}, ...), TSV and CSV (every
// cell that is not a number, header row skipped). Each text segment gives its
// n-grams over dedup_normal_form() words; a segment shorter than n words gives
// one n-gram of all its words when it has at least `min_words`, so short
// items (a KoBEST sentence) are still caught. Matching a document scans its
// n-grams (and, for short-segment entries, every window of that length).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kormo::data {

class DecontamIndex {
 public:
  static constexpr int kDefaultNgram = 13, kDefaultMinWords = 8;
  explicit DecontamIndex(int ngram = kDefaultNgram, int min_words = kDefaultMinWords)
      : ngram_(ngram), min_words_(min_words) {}
  // Adds all segments of an evaluation file; returns the number of n-grams added.
  size_t add_file(const std::string& path);
  void add_segment(std::string_view text, uint32_t file_index);

  struct Match {
    size_t ngrams = 0;        // matching n-gram windows
    std::string first_file;   // evaluation file of the first match
  };
  Match match(std::string_view text) const;
  size_t size() const { return grams_.size(); }
  const std::vector<std::string>& files() const { return files_; }

 private:
  int ngram_, min_words_;
  std::unordered_map<uint64_t, uint32_t> grams_;  // window hash -> file index
  std::set<int> lengths_;                         // window lengths present
  std::vector<std::string> files_;
};

}  // namespace kormo::data
