#include "kormo/data/words.h"

#include "kormo/text/unicode.h"
#include "kormo/text/utf8.h"

namespace kormo::data {

std::vector<Word> split_words(std::string_view s) {
  std::vector<Word> words;
  size_t pos = 0, start = std::string::npos;
  Word cur;
  auto close = [&](size_t end) {
    if (start != std::string::npos) {
      cur.text = s.substr(start, end - start);
      words.push_back(cur);
    }
    start = std::string::npos;
    cur = Word{};
  };
  while (pos < s.size()) {
    size_t at = pos;
    char32_t cp;
    unsigned char c = static_cast<unsigned char>(s[pos]);
    text::CharClass cls;
    if (c < 0x80) {
      ++pos;
      cp = c;
      if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v') cls = text::CharClass::kSpace;
      else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') cls = text::CharClass::kLetter;
      else if (c >= '0' && c <= '9') cls = text::CharClass::kNumber;
      else if (c < 0x20 || c == 0x7f) cls = text::CharClass::kControl;
      else if (c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' || c == '`' || c == '|' || c == '~')
        cls = text::CharClass::kSymbol;
      else cls = text::CharClass::kPunct;
    } else if (text::decode_next(s, pos, cp)) {
      cls = text::is_white_space(cp) ? text::CharClass::kSpace : text::general_class(cp);
    } else {
      ++pos;
      cls = text::CharClass::kOther;
    }
    if (cls == text::CharClass::kSpace || cls == text::CharClass::kControl) {
      close(at);
    } else if (cls == text::CharClass::kPunct) {
      close(at);
      // A run of punctuation ("..", "?!", "--") is one token, as word tokenizers make it.
      if (!words.empty() && words.back().punct &&
          words.back().text.data() + words.back().text.size() == s.data() + at) {
        Word& last = words.back();
        size_t begin = static_cast<size_t>(last.text.data() - s.data());
        last.text = s.substr(begin, pos - begin);
        ++last.chars;
        continue;
      }
      Word w;
      w.text = s.substr(at, pos - at);
      w.punct = true;
      w.chars = 1;
      words.push_back(w);
    } else {
      if (start == std::string::npos) start = at;
      ++cur.chars;
      if (cls == text::CharClass::kLetter) cur.has_letter = true;
    }
  }
  close(s.size());
  return words;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t b = 0;
  while (b <= text.size()) {
    size_t e = text.find('\n', b);
    if (e == std::string_view::npos) e = text.size();
    std::string_view line = text.substr(b, e - b);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!(e == text.size() && line.empty() && b == text.size() && b != 0)) lines.push_back(line);
    b = e + 1;
  }
  return lines;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

}  // namespace kormo::data
