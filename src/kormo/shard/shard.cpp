#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "kormo/shard/reader.h"
#include "kormo/shard/writer.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

namespace kormo::shard {

namespace {
template <class T>
void put(std::string& s, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) s.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
}
template <class T>
T get(const unsigned char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return static_cast<T>(v);
}
uint64_t pad8(uint64_t n) { return (n + 7) / 8 * 8; }
}  // namespace

uint8_t lang_id(std::string_view code) {
  if (code.empty()) return 0;
  if (code == "ko") return 1;
  if (code == "en") return 2;
  return 3;
}

const char* lang_name(uint8_t id) { return id < kNumLangs ? kLangNames[id] : "other"; }

ShardWriter::ShardWriter(std::string path, uint32_t vocab_size)
    : path_(std::move(path)), vocab_(vocab_size), width_(vocab_size <= 65536 ? 2 : 4) {
  if (vocab_size == 0 || vocab_size > kMaxVocab)
    fail("{}: vocab_size {} is outside [1, {}] (token ids are int32)", path_, vocab_size, kMaxVocab);
}

void ShardWriter::add(const std::vector<int32_t>& tokens, const DocInfo& info, std::span<const uint8_t> mask) {
  if (!mask.empty() && mask.size() != tokens.size())
    fail("{}: document {} has {} tokens but {} loss-mask bytes", path_, infos_.size(), tokens.size(), mask.size());
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i] > 1)
      fail("{}: document {} loss-mask byte {} is {}, expected 0 or 1", path_, infos_.size(), i, int{mask[i]});
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || static_cast<uint32_t>(tokens[i]) >= vocab_)
      fail("{}: document {} token {} has id {}, outside the vocabulary (size {})", path_, infos_.size(), i, tokens[i],
           vocab_);
    if (width_ == 2)
      put<uint16_t>(tokens_, static_cast<uint16_t>(tokens[i]));
    else
      put<uint32_t>(tokens_, static_cast<uint32_t>(tokens[i]));
  }
  // The mask is materialised at the first 0: a shard whose tokens are all trained on has none.
  if (!has_mask_ && std::find(mask.begin(), mask.end(), 0) != mask.end()) {
    has_mask_ = true;
    mask_.assign(num_tokens_, '\1');
  }
  if (has_mask_) {
    if (mask.empty())
      mask_.append(tokens.size(), '\1');
    else
      mask_.append(reinterpret_cast<const char*>(mask.data()), mask.size());
  }
  num_tokens_ += tokens.size();
  offsets_.push_back(num_tokens_);
  infos_.push_back(info);
}

void ShardWriter::finish() {
  std::string head(kMagic, 4);
  put<uint32_t>(head, kVersion);
  put<uint32_t>(head, vocab_);
  put<uint32_t>(head, width_);
  put<uint64_t>(head, num_tokens_);
  put<uint64_t>(head, infos_.size());
  put<uint32_t>(head, has_mask_ ? kHasLossMask : 0);
  head.append(kHeaderBytes - head.size(), '\0');
  tokens_.append(pad8(tokens_.size()) - tokens_.size(), '\0');
  std::string tail;
  for (uint64_t o : offsets_) put<uint64_t>(tail, o);
  for (const DocInfo& d : infos_) {
    put<uint64_t>(tail, d.text_bytes);
    put<uint32_t>(tail, d.source_id);
    put<uint8_t>(tail, d.lang);
    put<uint8_t>(tail, d.flags);
    put<uint16_t>(tail, 0);
  }
  mask_.append(pad8(mask_.size()) - mask_.size(), '\0');
  AtomicWriter w(path_);
  w.write(head);
  w.write(tokens_);
  w.write(tail);
  w.write(mask_);
  w.commit();
}

void write_shard(const std::string& path, uint32_t vocab_size, const std::vector<std::vector<int32_t>>& docs,
                 const std::vector<DocInfo>& infos) {
  if (docs.size() != infos.size()) fail("{}: {} documents but {} doc infos", path, docs.size(), infos.size());
  ShardWriter w(path, vocab_size);
  for (size_t i = 0; i < docs.size(); ++i) w.add(docs[i], infos[i]);
  w.finish();
}

ShardReader::ShardReader(const std::string& path) : path_(path), map_(path), base_(map_.data()), size_(map_.size()) {
  if (size_ < kHeaderBytes)
    fail("{}: truncated shard: {} bytes, the header alone is {}", path, size_, kHeaderBytes);
  if (std::memcmp(base_, kMagic, 4) != 0) fail("{}: not a .ktok shard (bad magic at offset 0)", path);
  version_ = get<uint32_t>(base_ + 4);
  if (version_ != 1 && version_ != kVersion)
    fail("{}: unsupported shard version {} at offset 4 (this build reads versions 1 and {})", path, version_, kVersion);
  const uint32_t flags = version_ >= 2 ? get<uint32_t>(base_ + kFlagsOffset) : 0;
  if (flags & ~kHasLossMask)
    fail("{}: unknown header flags {:#x} at offset {} (this build knows {:#x})", path, flags, kFlagsOffset,
         kHasLossMask);
  // Reserved bytes must stay zero so a later version can give them meaning.
  for (uint64_t i = version_ >= 2 ? kFlagsOffset + 4 : kFlagsOffset; i < kHeaderBytes; ++i)
    if (base_[i] != 0) fail("{}: reserved header byte at offset {} is {:#04x}, expected 0", path, i, int{base_[i]});
  vocab_ = get<uint32_t>(base_ + 8);
  width_ = get<uint32_t>(base_ + 12);
  if (width_ != 2 && width_ != 4) fail("{}: bad token width {} at offset 12 (expected 2 or 4)", path, width_);
  if (vocab_ == 0 || vocab_ > kMaxVocab)
    fail("{}: vocab size {} at offset 8 is outside [1, {}]", path, vocab_, kMaxVocab);
  if (width_ == 2 && vocab_ > 65536)
    fail("{}: vocab size {} at offset 8 does not fit token width {}", path, vocab_, width_);
  num_tokens_ = get<uint64_t>(base_ + 16);
  num_docs_ = get<uint64_t>(base_ + 24);
  // Guard the size arithmetic against absurd counts before multiplying.
  if (num_tokens_ > size_ || num_docs_ > size_)
    fail("{}: truncated shard: header counts ({} tokens, {} docs) exceed the file size {}", path, num_tokens_,
         num_docs_, size_);
  const bool masked = flags & kHasLossMask;
  uint64_t off_pos = kHeaderBytes + pad8(num_tokens_ * width_);
  uint64_t info_pos = off_pos + 8 * (num_docs_ + 1);
  uint64_t mask_pos = info_pos + 16 * num_docs_;
  uint64_t expected = mask_pos + (masked ? pad8(num_tokens_) : 0);
  const std::string sections =
      masked ? fmt::format("; offset {}: a loss-mask section at offset {}", kFlagsOffset, mask_pos) : "";
  if (size_ < expected)
    fail("{}: truncated shard: {} bytes, the header (offset 16: {} tokens, {} docs{}) implies {}", path, size_,
         num_tokens_, num_docs_, sections, expected);
  if (size_ > expected)
    fail("{}: corrupt shard: {} trailing bytes after offset {} (header: {} tokens, {} docs{})", path, size_ - expected,
         expected, num_tokens_, num_docs_, sections);
  offsets_ = base_ + off_pos;
  infos_ = base_ + info_pos;
  uint64_t prev = 0;
  for (uint64_t d = 0; d <= num_docs_; ++d) {
    uint64_t o = get<uint64_t>(offsets_ + 8 * d);
    if ((d == 0 && o != 0) || o < prev || o > num_tokens_ || (d == num_docs_ && o != num_tokens_))
      fail("{}: corrupt shard: document offset {} = {} at byte offset {} is out of order or range", path, d, o,
           off_pos + 8 * d);
    prev = o;
  }
  for (uint64_t i = 0; i < num_tokens_; ++i) {
    uint32_t t = width_ == 2 ? get<uint16_t>(base_ + kHeaderBytes + 2 * i) : get<uint32_t>(base_ + kHeaderBytes + 4 * i);
    if (t >= vocab_)
      fail("{}: token id {} at byte offset {} is >= the shard's vocab size {}", path, t, kHeaderBytes + width_ * i,
           vocab_);
  }
  check_zero_padding(kHeaderBytes + num_tokens_ * width_, off_pos, "token section");
  for (uint64_t d = 0; d < num_docs_; ++d) {
    const unsigned char* p = infos_ + 16 * d;
    const uint64_t at = info_pos + 16 * d;
    if (p[12] >= kNumLangs)
      fail("{}: document {} has language id {} at byte offset {} (expected 0..{})", path, d, int{p[12]}, at + 12,
           kNumLangs - 1);
    if (p[13] & ~kFlagSynthetic)
      fail("{}: document {} has unknown flags {:#x} at byte offset {} (this build knows {:#x})", path, d, int{p[13]},
           at + 13, int{kFlagSynthetic});
    if (get<uint16_t>(p + 14) != 0)
      fail("{}: document {} reserved bytes at byte offset {} are not zero", path, d, at + 14);
  }
  if (!masked) return;
  mask_ = base_ + mask_pos;
  for (uint64_t i = 0; i < num_tokens_; ++i)
    if (mask_[i] > 1)
      fail("{}: loss-mask byte {} at byte offset {} is not 0 or 1", path, int{mask_[i]}, mask_pos + i);
  check_zero_padding(mask_pos + num_tokens_, expected, "loss-mask section");
}

void ShardReader::check_zero_padding(uint64_t begin, uint64_t end, const char* section) const {
  for (uint64_t i = begin; i < end; ++i)
    if (base_[i] != 0)
      fail("{}: padding byte at byte offset {} after the {} is {:#04x}, expected 0", path_, i, section, int{base_[i]});
}

ShardReader::~ShardReader() = default;

uint64_t ShardReader::doc_begin(uint64_t d) const { return get<uint64_t>(offsets_ + 8 * d); }

DocInfo ShardReader::doc_info(uint64_t d) const {
  const unsigned char* p = infos_ + 16 * d;
  return {get<uint64_t>(p), get<uint32_t>(p + 8), p[12], p[13]};
}

int32_t ShardReader::token(uint64_t i) const {
  return static_cast<int32_t>(width_ == 2 ? get<uint16_t>(base_ + kHeaderBytes + 2 * i)
                                          : get<uint32_t>(base_ + kHeaderBytes + 4 * i));
}

void ShardReader::copy_tokens(uint64_t begin, uint64_t count, int32_t* out) const {
  if (width_ == 2) {
    const unsigned char* p = base_ + kHeaderBytes + 2 * begin;
    for (uint64_t i = 0; i < count; ++i) out[i] = p[2 * i] | (p[2 * i + 1] << 8);
  } else {
    for (uint64_t i = 0; i < count; ++i) out[i] = token(begin + i);
  }
}

void ShardReader::copy_mask(uint64_t begin, uint64_t count, uint8_t* out) const {
  if (mask_)
    std::memcpy(out, mask_ + begin, count);
  else
    std::memset(out, 1, count);
}

}  // namespace kormo::shard
