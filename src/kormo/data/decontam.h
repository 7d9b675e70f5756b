// Decontamination: finds documents that share n-grams with evaluation sets.
//
// Evaluation files are read as the evaluator reads them: JSON Lines (every
// string and string-array field of each record: llm-foundry {query, choices},
// {context, continuation}, gsm8k {question, answer}, ...), TSV and CSV (every
// cell, header row skipped). A file that yields no indexed segment (empty,
// only numbers, only items too short for the rule) is an error: checking
// against it would pass everything.
//
// Two rules, chosen per segment. Mostly-Hangul segments use characters:
// Korean eojeol are long (a KoBEST sentence has 3-7 of them), so word windows
// sized for English never fit them, and Korean spacing varies between copies
// ("할 수 있다" / "할수있다"). Their n-grams are windows of `hangul_chars`
// characters of dedup_normal_form() with spaces removed; a shorter segment of at
// least `min_hangul_chars` characters gives one n-gram of all of it. Other
// segments use dedup_normal_form() words: windows of `ngram` words, a shorter
// segment of at least `min_words` words one n-gram of all its words.
// Matching a document scans its word and character windows of every length
// present in the index. docs/data.md records the recall/false-positive
// measurement behind the defaults (bench/data/decontam_recall.py).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace kormo::data {

// Defaults measured in docs/data.md (bench/data/decontam_recall.py).
struct DecontamOptions {
  int ngram = 13, min_words = 8;              // words, segments not mostly Hangul
  int hangul_chars = 25, min_hangul_chars = 8;  // characters, mostly-Hangul segments (hangul_chars 0: word rule)
};

class DecontamIndex {
 public:
  explicit DecontamIndex(DecontamOptions opt = {});
  // Adds all segments of an evaluation file; returns the number of n-grams
  // added. Fails, naming the file, when no segment of it could be indexed.
  size_t add_file(const std::string& path);
  // Returns whether the segment was long enough to be indexed.
  bool add_segment(std::string_view text, uint32_t file_index);

  struct Match {
    size_t ngrams = 0;        // matching n-gram windows
    std::string first_file;   // evaluation file of the first match
  };
  Match match(std::string_view text) const;
  // Per-item checks (kormo eval --contamination), by the same rule: the n-grams a segment
  // is indexed by (empty when it is too short for the rule), and the indexed n-grams a text
  // contains, added to `found`. An item overlaps a text when the two share one.
  std::vector<uint64_t> segment_ngrams(std::string_view text) const;
  void collect_matches(std::string_view text, std::unordered_set<uint64_t>& found) const;
  size_t size() const { return grams_.size(); }
  const std::vector<std::string>& files() const { return files_; }
  const DecontamOptions& options() const { return opt_; }

 private:
  // Every indexed n-gram is at least this long (units of its domain).
  size_t prefix_length(bool chars) const;
  // Calls on_match(n-gram hash, file index) for every indexed n-gram window of `text`.
  template <class F>
  void for_each_match(std::string_view text, F on_match) const;

  DecontamOptions opt_;
  std::unordered_map<uint64_t, uint32_t> grams_;  // window hash -> file index
  std::set<int> word_lengths_, char_lengths_;     // window lengths present
  // Bit set of the prefix_length() windows that start an indexed n-gram (4 MiB).
  std::vector<uint64_t> starts_ = std::vector<uint64_t>(size_t{1} << 19);
  std::vector<std::string> files_;
};

}  // namespace kormo::data
