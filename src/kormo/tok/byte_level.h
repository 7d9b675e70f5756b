// GPT-2's byte-level alphabet: every byte value has a printable code point, so
// any byte string is a valid Unicode token string in tokenizer.json.
//
// Promises: byte_to_char() and char_to_byte() are inverse bijections between
// the 256 bytes and the 256 code points of GPT-2's bytes_to_unicode();
// kByteOrder lists bytes in the order GPT-2 (and kormo) give them ids 0..255.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace kormo::tok {

namespace detail {
struct ByteLevelTables {
  std::array<char32_t, 256> to_char{};
  std::array<uint8_t, 256> order{};  // order[i] = byte whose token gets id i
  constexpr ByteLevelTables() {
    // Printable Latin-1 bytes map to themselves; the rest get U+0100 upwards.
    int n = 0, k = 0;
    auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
    for (int b = 0; b < 256; ++b)
      if (printable(b)) {
        to_char[b] = static_cast<char32_t>(b);
        order[k++] = static_cast<uint8_t>(b);
      }
    for (int b = 0; b < 256; ++b)
      if (!printable(b)) {
        to_char[b] = static_cast<char32_t>(256 + n++);
        order[k++] = static_cast<uint8_t>(b);
      }
  }
};
inline constexpr ByteLevelTables kByteLevel{};
}  // namespace detail

inline constexpr const std::array<uint8_t, 256>& kByteOrder = detail::kByteLevel.order;

inline char32_t byte_to_char(uint8_t b) { return detail::kByteLevel.to_char[b]; }

// The byte a byte-level code point stands for, or -1 for other code points.
inline int char_to_byte(char32_t cp) {
  if (cp < 256) return detail::kByteLevel.to_char[cp] == cp ? static_cast<int>(cp) : -1;
  if (cp < 256 + 68) {
    for (int b = 0; b < 256; ++b)
      if (detail::kByteLevel.to_char[b] == cp) return b;
  }
  return -1;
}

// Raw bytes -> the token string tokenizer.json stores.
std::string bytes_to_byte_level(std::string_view bytes);
// Token string -> raw bytes. Returns false (out unspecified) if the string holds
// a code point outside the byte-level alphabet (e.g. an added token's text).
bool byte_level_to_bytes(std::string_view token, std::string& out);

}  // namespace kormo::tok
