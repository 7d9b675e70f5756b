// Shards from curated documents: the data stage's JSON Lines + a tokenizer.
//
// Each document becomes BOS + encode(text) + EOT (when the tokenizer has those
// special tokens), so document boundaries survive packing: the loader and the
// attention mask see one document per BOS. Special-token text inside a
// document is encoded as plain text, never as a control token.
#pragma once

#include <string>
#include <vector>

namespace kormo::shard {

struct DocsShardOptions {
  std::vector<std::string> inputs;  // documents JSON Lines (.jsonl / .jsonl.zst)
  std::string tokenizer;            // tokenizer.json or its directory
  std::string out_path;
  uint32_t source_id = 0;
  std::string text_field = "text";
};

struct DocsShardSummary {
  uint64_t documents = 0, tokens = 0, bytes = 0;
};

// Errors name the input file and line; nothing is written on error.
DocsShardSummary shard_from_docs(const DocsShardOptions& o);

}  // namespace kormo::shard
