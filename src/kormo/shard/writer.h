// Writing .ktok shards (format.h, always version 2). The whole shard is assembled in
// memory and written atomically, so a failed run never leaves a truncated shard under
// the final name. The loss-mask section is written only when some token is masked out.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "kormo/shard/format.h"

namespace kormo::shard {

class ShardWriter {
 public:
  // token width is 2 bytes when vocab_size ≤ 65536, else 4.
  ShardWriter(std::string path, uint32_t vocab_size);
  // Token ids must be < vocab_size (Error otherwise, naming the document). `mask` is
  // empty (every token trained on) or one 0/1 byte per token (1 = trained on).
  void add(const std::vector<int32_t>& tokens, const DocInfo& info, std::span<const uint8_t> mask = {});
  uint64_t num_tokens() const { return num_tokens_; }
  uint64_t num_docs() const { return infos_.size(); }
  void finish();

 private:
  std::string path_;
  uint32_t vocab_, width_;
  uint64_t num_tokens_ = 0;
  std::string tokens_;
  bool has_mask_ = false;  // set by the first masked-out token
  std::string mask_;       // one byte per token once has_mask_
  std::vector<uint64_t> offsets_{0};
  std::vector<DocInfo> infos_;
};

// One call: docs[i] with infos[i] (same length) into `path`, no loss mask.
void write_shard(const std::string& path, uint32_t vocab_size, const std::vector<std::vector<int32_t>>& docs,
                 const std::vector<DocInfo>& infos);

}  // namespace kormo::shard
