// Shards from pre-tokenized JSON Lines, one document per line:
//   {"ids": [int...], "lang": "ko", "bytes": 123, "text": "...", "synthetic": false, "source": 0}
// Only "ids" is required; "bytes" (or the UTF-8 length of "text") feeds bits-per-byte.
#pragma once

#include <string>
#include <vector>

namespace kormo::shard {

struct IdsShardOptions {
  std::vector<std::string> inputs;
  std::string out_path;
  uint32_t vocab_size = 0;
  uint32_t source_id = 0;
};

// Errors name the input file and line; nothing is written on error.
void shard_from_ids(const IdsShardOptions& o);

}  // namespace kormo::shard
