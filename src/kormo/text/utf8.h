// UTF-8 decoding and validation.
//
// Promises: decode_next() accepts exactly the well-formed UTF-8 of RFC 3629
// (no overlongs, no surrogates, nothing above U+10FFFF); everything else is
// reported as invalid with its byte offset so callers can name the position.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kormo::text {

inline constexpr size_t kValid = static_cast<size_t>(-1);

// Decodes the code point at s[pos] and advances pos. Returns false (pos
// unchanged) when the bytes there are not well-formed UTF-8.
bool decode_next(std::string_view s, size_t& pos, char32_t& cp);

// '0'..'9' only: std::isdigit depends on the C locale and takes an int.
inline bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

// First position at or after `pos` whose 8-byte block holds a non-ASCII byte
// (or near the end): the fast path of every scanner, since most of the corpora
// are ASCII or 3-byte Hangul.
inline size_t skip_ascii_blocks(std::string_view s, size_t pos) {
  while (pos + 8 <= s.size()) {
    uint64_t w;
    __builtin_memcpy(&w, s.data() + pos, 8);
    if (w & 0x8080808080808080ull) break;
    pos += 8;
  }
  return pos;
}

// Offset of the first ill-formed byte, or kValid.
size_t find_invalid_utf8(std::string_view s);
inline bool is_valid_utf8(std::string_view s) { return find_invalid_utf8(s) == kValid; }

// Replaces each ill-formed sequence by U+FFFD (the WHATWG "maximal subpart" rule
// is not needed here: one U+FFFD per invalid byte keeps offsets easy to explain).
std::string replace_invalid_utf8(std::string_view s);

void append_utf8(std::string& out, char32_t cp);
size_t count_code_points(std::string_view s);  // s must be valid

}  // namespace kormo::text
