// Shards from curated documents: the data stage's JSON Lines + a tokenizer.
//
// Each document becomes BOS + encode(text) + EOT (when the tokenizer has those
// special tokens), so document boundaries survive packing: the loader and the
// attention mask see one document per BOS. Special-token text inside a
// document is encoded as plain text, never as a control token — except the
// markers of the mask spans, which become their special tokens.
//
// Mask spans write the shard's loss mask: every token from an opening marker to
// the next closing marker, both included, is not trained on as a target (an
// unclosed span runs to the end of its document; a closing marker outside a
// span is an ordinary token). Shards with no masked token carry no mask.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kormo::shard {

struct MaskSpan {
  std::string open, close;  // special tokens of the tokenizer, e.g. "<think>", "</think>"
};

struct DocsShardOptions {
  std::vector<std::string> inputs;  // documents JSON Lines (.jsonl / .jsonl.zst)
  std::string tokenizer;            // tokenizer.json or its directory
  std::string out_path;
  uint32_t source_id = 0;
  std::string text_field = "text";
  std::vector<MaskSpan> mask_spans;
};

struct DocsShardSummary {
  uint64_t documents = 0, tokens = 0, bytes = 0;
  uint64_t masked_tokens = 0;  // tokens with loss mask 0
};

// Errors name the input file and line, or the mask-span token the tokenizer lacks;
// nothing is written on error.
DocsShardSummary shard_from_docs(const DocsShardOptions& o);

}  // namespace kormo::shard
