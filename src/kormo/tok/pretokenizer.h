// The Qwen2 pre-tokenizer: splits text into the pieces BPE merges never cross.
//
// Promises: the pieces are exactly the matches of the Qwen2 split regex
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// as Oniguruma (Hugging Face tokenizers) finds them left to right, so every
// byte of the input lands in exactly one piece and concatenating the pieces
// gives the input back. \p{L}/\p{N} are Unicode general categories L*/N*
// (Hangul and Hanja are letters; each digit is its own piece), \s is Unicode
// White_Space. Implemented as a hand-written scanner (no regex engine) with a
// table lookup per code point. Bytes that are not valid UTF-8 are treated as
// one-byte punctuation so the scanner never fails (HF only accepts valid UTF-8).
//
// The GPT-2 split ('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+,
// HF's ByteLevel(use_regex=true)) is provided too, so GPT-2-style files load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace kormo::tok {

enum class SplitRule : uint8_t { kQwen2, kGpt2 };

// End (exclusive byte offset) of the piece that starts at `pos` (< text.size()).
size_t next_piece(std::string_view text, size_t pos);
size_t next_piece_gpt2(std::string_view text, size_t pos);

// Calls fn(std::string_view piece) for each piece of text, in order.
template <class Fn>
void for_each_piece(std::string_view text, Fn&& fn, SplitRule rule = SplitRule::kQwen2) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = rule == SplitRule::kQwen2 ? next_piece(text, pos) : next_piece_gpt2(text, pos);
    fn(text.substr(pos, end - pos));
    pos = end;
  }
}

std::vector<std::string_view> split_pieces(std::string_view text, SplitRule rule = SplitRule::kQwen2);

}  // namespace kormo::tok
