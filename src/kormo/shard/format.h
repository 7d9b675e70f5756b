// Token shards (.ktok): tokenized documents for pretraining, memory-mapped.
//
// Byte layout (version 2, all integers little-endian):
//   0   char[4]  magic "KTOK"
//   4   u32      version (2)
//   8   u32      vocab_size (every token id is < vocab_size)
//   12  u32      token width in bytes (2 or 4)
//   16  u64      number of tokens
//   24  u64      number of documents
//   32  u32      flags: bit 0 (kHasLossMask) = the loss-mask section is present;
//                other bits are zero (a reader rejects bits it does not know)
//   36  u8[28]   reserved, zero
//   64           token ids (num_tokens × width), zero-padded to a multiple of 8 bytes
//   then         u64 doc_offsets[num_docs + 1]: document d is tokens [off[d], off[d+1]);
//                off[0] = 0, non-decreasing, off[num_docs] = num_tokens
//   then         DocInfo[num_docs], 16 bytes each:
//                  u64 text_bytes (UTF-8 bytes of the document's text, for bits-per-byte)
//                  u32 source_id, u8 lang (see kLangNames), u8 flags (bit 0: synthetic),
//                  u16 reserved (zero)
//   then         only with kHasLossMask: u8 loss_mask[num_tokens], zero-padded to a
//                multiple of 8 bytes; 1 = the token is trained on as a target, 0 = it
//                is not. Without the section every token is trained on.
// The file size must equal exactly what the header implies.
//
// Version 1 is the same layout without flags (bytes 32..63 reserved, ignored), so it
// never has a mask section; readers accept both versions. Writers always write version 2.
// The mask is a byte per token rather than a bit: it stays directly addressable in the
// memory map, other byte values are rejected so a later version can give them meaning,
// and writers omit the section when every byte would be 1, so shards without masked
// spans pay nothing for it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kormo::shard {

inline constexpr char kMagic[4] = {'K', 'T', 'O', 'K'};
inline constexpr uint32_t kVersion = 2;  // written; versions 1 and 2 are read
inline constexpr uint64_t kHeaderBytes = 64;
inline constexpr uint64_t kFlagsOffset = 32;
inline constexpr uint32_t kHasLossMask = 1;  // header flags bit
inline constexpr uint32_t kMaxVocab = uint32_t{1} << 31;  // ids are int32 in memory
inline constexpr uint8_t kFlagSynthetic = 1;  // DocInfo flags bit

// Language ids stored per document.
inline constexpr const char* kLangNames[] = {"unknown", "ko", "en", "other"};
inline constexpr int kNumLangs = 4;
uint8_t lang_id(std::string_view code);  // "ko" → 1, "en" → 2, "" → 0, anything else → 3
const char* lang_name(uint8_t id);

struct DocInfo {
  uint64_t text_bytes = 0;
  uint32_t source_id = 0;
  uint8_t lang = 0;
  uint8_t flags = 0;
};

}  // namespace kormo::shard
