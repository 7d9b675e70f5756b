#include "kormo/tok/byte_level.h"

#include "kormo/text/utf8.h"

namespace kormo::tok {

std::string bytes_to_byte_level(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) text::append_utf8(out, byte_to_char(b));
  return out;
}

bool byte_level_to_bytes(std::string_view token, std::string& out) {
  out.clear();
  size_t pos = 0;
  char32_t cp;
  while (pos < token.size()) {
    if (!text::decode_next(token, pos, cp)) return false;
    int b = char_to_byte(cp);
    if (b < 0) return false;
    out.push_back(static_cast<char>(b));
  }
  return true;
}

}  // namespace kormo::tok
