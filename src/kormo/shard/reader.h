// Reading .ktok shards (versions 1 and 2) through a read-only memory map. Opening
// validates the header (reserved bytes zero, known flags, vocab size within [1, 2^31]),
// the exact file size, the document offsets, every token id against vocab_size, every
// document's language, flags and reserved bytes, every loss-mask byte (0 or 1) and the
// zero padding; errors name the file and the byte offset of the problem.
#pragma once

#include <cstdint>
#include <string>

#include "kormo/shard/format.h"
#include "kormo/util/mmap.h"

namespace kormo::shard {

class ShardReader {
 public:
  explicit ShardReader(const std::string& path);
  ~ShardReader();
  ShardReader(const ShardReader&) = delete;
  ShardReader& operator=(const ShardReader&) = delete;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint32_t vocab_size() const { return vocab_; }
  uint32_t token_width() const { return width_; }
  uint64_t num_tokens() const { return num_tokens_; }
  uint64_t num_docs() const { return num_docs_; }
  uint64_t doc_begin(uint64_t d) const;
  uint64_t doc_length(uint64_t d) const { return doc_begin(d + 1) - doc_begin(d); }
  DocInfo doc_info(uint64_t d) const;
  int32_t token(uint64_t i) const;
  // Copies tokens [begin, begin + count) as int32.
  void copy_tokens(uint64_t begin, uint64_t count, int32_t* out) const;
  bool has_mask() const { return mask_ != nullptr; }
  // Copies the loss mask of tokens [begin, begin + count): 1 = trained on as a target,
  // 0 = ignored. All 1 for a shard without a mask section (every version-1 shard).
  void copy_mask(uint64_t begin, uint64_t count, uint8_t* out) const;

 private:
  void check_zero_padding(uint64_t begin, uint64_t end, const char* section) const;

  std::string path_;
  MappedFile map_;
  const unsigned char* base_;
  size_t size_;
  uint32_t version_ = 0, vocab_ = 0, width_ = 0;
  uint64_t num_tokens_ = 0, num_docs_ = 0;
  const unsigned char* offsets_ = nullptr;
  const unsigned char* infos_ = nullptr;
  const unsigned char* mask_ = nullptr;
};

}  // namespace kormo::shard
