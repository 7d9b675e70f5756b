// Training a byte-level BPE tokenizer from a corpus.
//
// Two stages, each usable alone:
//  1. count_words(): streams plain text or JSON Lines (optionally .zst), NFC-
//     normalises each document, splits it with the Qwen2 pre-tokenizer and
//     counts the pieces, on many threads, within a memory bound.
//  2. train_bpe(): learns merges from the counts (HF BpeTrainer's algorithm:
//     pair counts, a max-heap with lazy invalidation, and an index from each
//     pair to the words holding it, so a merge only touches those words).
//
// Promises: the same inputs and options give the same tokenizer whatever the
// thread count (counts are integer sums; batches and pruning points depend on
// the input only; merge ties go to the smallest (left id, right id) pair).
// Nothing here is random.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kormo/tok/tokenizer.h"

namespace kormo::tok {

enum class OnInvalid { kSkip, kFail };
enum class InputFormat { kAuto, kText, kJsonl };  // kAuto: .jsonl / .jsonl.zst are JSON Lines

struct CorpusOptions {
  InputFormat format = InputFormat::kAuto;
  std::string text_field = "text";
  std::string lang_field = "lang";
  // Target share of each language in the counts, e.g. {{"ko",0.5},{"en",0.5}}.
  // Documents of unlisted languages are left out. Empty: every document counts once.
  std::vector<std::pair<std::string, double>> mix;
  OnInvalid on_invalid = OnInvalid::kSkip;
  // Bound on the memory of counting and training together, in bytes (0: half
  // the physical memory). When the word table outgrows its share, the
  // least-frequent words are dropped (lossy counting; logged as a warning).
  uint64_t max_memory = 0;
  uint64_t max_input_bytes = 0;  // stop reading after this many text bytes (0: all)
  int threads = 0;               // 0: all hardware threads
};

struct WordCounts {
  std::vector<std::string> words;
  std::vector<int64_t> counts;  // after mixing weights; all > 0
  // What the corpus held.
  uint64_t documents = 0, text_bytes = 0, pieces = 0;
  uint64_t invalid_skipped = 0;     // documents dropped for invalid UTF-8
  uint64_t excluded_bytes = 0;      // documents of languages not in the mix
  std::vector<std::pair<std::string, uint64_t>> language_bytes;  // per mix language (or "all")
  uint64_t prune_threshold = 0;     // largest count dropped by memory pruning (0: exact counts)
  uint64_t memory_budget = 0;       // bytes, as resolved
};

// Whether a path is read as JSON Lines under `format` (kAuto: by .jsonl/.ndjson, before any .zst).
bool is_jsonl_path(const std::string& path, InputFormat format);

WordCounts count_words(const std::vector<std::string>& files, const CorpusOptions& opt);

struct BpeOptions {
  size_t vocab_size = 32000;  // total ids: 256 bytes + merges + special tokens
  SpecialTokenNames specials;
  uint64_t memory_budget = 0;  // from WordCounts; rarest words are dropped if training would exceed it
};

Tokenizer train_bpe(WordCounts counts, const BpeOptions& opt);

// Value parsers shared by the command line and config files; each throws
// kormo::Error quoting the value (the caller adds the flag or key).
//
// "2G", "512M", "100k", "123" (bytes; powers of 1024).
uint64_t parse_byte_size(const std::string& s);
// "ko=0.5,en=0.5"; weights must be positive.
std::vector<std::pair<std::string, double>> parse_mix(const std::string& s);
// "auto", "text" or "jsonl".
InputFormat parse_input_format(const std::string& s);
// "skip" or "fail".
OnInvalid parse_on_invalid(const std::string& s);
// Special tokens in the roles BOS, EOT, PAD, BOT, THINK, THINK_END, then
// extras; roles past the end of the list are left without a token.
SpecialTokenNames special_tokens_in_roles(const std::vector<std::string>& tokens);

}  // namespace kormo::tok
