// Training a tokenizer from one configuration: the entry point that
// `kormo tokenizer train` and the tokenizer stage of `kormo run` share.
//
// The settings are the flags of `kormo tokenizer train` (docs/tokenizer.md);
// in a TOML config they are keys of the same names with '_' for '-'. Flags and
// keys go through the value parsers of trainer.h, so both accept the same
// values and give the same tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kormo/tok/trainer.h"
#include "kormo/util/config.h"

namespace kormo::tok {

// The vocabulary sizes kormo trains: from a tiny test tokenizer to twice KORMo's 125K.
inline constexpr size_t kMinVocabSize = 1000, kMaxVocabSize = 262144;

struct TokenizerTrainConfig {
  std::vector<std::string> inputs;  // files, directories or globs (expand_inputs)
  std::string out_dir;              // gets tokenizer.json, tokenizer_config.json, special_tokens_map.json
  CorpusOptions corpus;
  BpeOptions bpe;                   // memory_budget is set from the counts
  int model_max_length = 4096;      // written to tokenizer_config.json
};

// Reads the settings from `sec`: vocab_size, mix, max_memory, max_input_bytes,
// threads, format, on_invalid, text_field, lang_field, special (a list),
// model_max_length. Inputs and output are the caller's. An unknown key or a
// bad value throws kormo::Error naming the section (file) and the key.
TokenizerTrainConfig tokenizer_train_config_from_section(ConfigSection& sec, std::vector<std::string> inputs,
                                                         std::string out_dir);

struct TokenizerTrainSummary {
  uint64_t documents = 0, text_bytes = 0, words = 0;
  size_t vocab_size = 0, merges = 0;
};

// Counts words, learns merges and writes out_dir (each file atomically; none
// on error). Same config → byte-identical files, whatever the thread count.
TokenizerTrainSummary train_tokenizer(const TokenizerTrainConfig& cfg);

}  // namespace kormo::tok
