#include "kormo/text/utf8.h"

namespace kormo::text {

bool decode_next(std::string_view s, size_t& pos, char32_t& cp) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + pos;
  size_t left = s.size() - pos;
  if (left == 0) return false;
  unsigned char b0 = p[0];
  if (b0 < 0x80) {
    cp = b0;
    pos += 1;
    return true;
  }
  auto cont = [&](size_t i) { return i < left && (p[i] & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!cont(1)) return false;
    cp = (char32_t(b0 & 0x1F) << 6) | (p[1] & 0x3F);
    pos += 2;
    return true;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) return false;
    if (b0 == 0xE0 && p[1] < 0xA0) return false;  // overlong
    if (b0 == 0xED && p[1] >= 0xA0) return false;  // surrogates
    cp = (char32_t(b0 & 0x0F) << 12) | (char32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    pos += 3;
    return true;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return false;
    if (b0 == 0xF0 && p[1] < 0x90) return false;  // overlong
    if (b0 == 0xF4 && p[1] >= 0x90) return false;  // above U+10FFFF
    cp = (char32_t(b0 & 0x07) << 18) | (char32_t(p[1] & 0x3F) << 12) | (char32_t(p[2] & 0x3F) << 6) |
         (p[3] & 0x3F);
    pos += 4;
    return true;
  }
  return false;
}

size_t find_invalid_utf8(std::string_view s) {
  size_t pos = 0;
  char32_t cp;
  while (pos < s.size()) {
    pos = skip_ascii_blocks(s, pos);
    if (pos >= s.size()) break;
    if (!decode_next(s, pos, cp)) return pos;
  }
  return kValid;
}

std::string replace_invalid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  char32_t cp;
  while (pos < s.size()) {
    size_t start = pos;
    if (decode_next(s, pos, cp)) out.append(s.substr(start, pos - start));
    else {
      out.append("\xEF\xBF\xBD");
      pos += 1;
    }
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t count_code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace kormo::text
