#include "kormo/eval/extract.h"

#include <utf8proc.h>

#include <algorithm>
#include <map>
#include <regex>

#include "kormo/text/utf8.h"
#include "kormo/util/error.h"

namespace kormo::eval {

namespace {

// str.isspace: ASCII whitespace and the Unicode separators.
bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Python's pattern as ECMAScript: the places where the two languages differ for the
// patterns task files use (see the header).
std::string to_ecmascript(const std::string& p, const std::string& what, bool& icase) {
  size_t i = 0;
  bool dotall = false;
  icase = false;
  while (p.compare(i, 2, "(?") == 0 && i + 2 < p.size() && std::string_view("aiLmsux").find(p[i + 2]) != std::string_view::npos) {
    const size_t close = p.find(')', i);
    if (close == std::string::npos) fail("{}: unclosed inline flags in '{}'", what, p);
    for (size_t k = i + 2; k < close; ++k) {
      if (p[k] == 's') dotall = true;
      else if (p[k] == 'i') icase = true;
      else fail("{}: inline flag '{}' in '{}' is not supported (only (?s) and (?i))", what, p[k], p);
    }
    i = close + 1;
  }
  std::string out;
  bool in_class = false;
  for (; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') {
      if (i + 1 >= p.size()) fail("{}: '{}' ends in a backslash", what, p);
      out += c;
      out += p[++i];
    } else if (in_class) {
      if (c == ']') in_class = false;
      out += c;
    } else if (c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += "\\]", ++i;  // a leading ']' is literal in Python
    } else if (c == '.') {
      out += dotall ? "[\\s\\S]" : "[^\\n]";
    } else if (c == '$') {
      out += "(?=\\n?$)";
    } else if (c == '(' && i + 1 < p.size() && p[i + 1] == '?' &&
               !(i + 2 < p.size() && (p[i + 2] == ':' || p[i + 2] == '=' || p[i + 2] == '!'))) {
      fail("{}: '(?{}' in '{}' is not supported (only (?:, (?=, (?! and leading (?s)/(?i))", what,
           i + 2 < p.size() ? std::string(1, p[i + 2]) : "", p);
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

struct PyRegex::Impl {
  std::regex re;
};

PyRegex::PyRegex(const std::string& pattern, const std::string& what) : pattern_(pattern), impl_(std::make_unique<Impl>()) {
  bool icase = false;
  const std::string ecma = to_ecmascript(pattern, what, icase);
  try {
    impl_->re = std::regex(ecma, icase ? std::regex::ECMAScript | std::regex::icase : std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail("{}: regex '{}' does not compile: {}", what, pattern, e.what());
  }
}
PyRegex::~PyRegex() = default;
PyRegex::PyRegex(PyRegex&&) noexcept = default;
PyRegex& PyRegex::operator=(PyRegex&&) noexcept = default;

std::vector<std::vector<std::string>> PyRegex::findall(std::string_view text) const {
  std::vector<std::vector<std::string>> out;
  using It = std::regex_iterator<std::string_view::const_iterator>;
  for (It it(text.begin(), text.end(), impl_->re), end; it != end; ++it) {
    const auto& m = *it;
    std::vector<std::string> groups;
    if (m.size() == 1) groups.push_back(m.str(0));
    for (size_t g = 1; g < m.size(); ++g) groups.push_back(m[g].matched ? m.str(g) : std::string());
    out.push_back(std::move(groups));
  }
  return out;
}

std::string PyRegex::remove_all(std::string_view text) const {
  std::string out;
  std::regex_replace(std::back_inserter(out), text.begin(), text.end(), impl_->re, "");
  return out;
}

std::string PyRegex::sub(std::string_view text, std::string_view repl, int64_t count, const std::string& what) const {
  // The replacement parsed once: literal text, or a group number (-1 + literal: none).
  std::vector<std::pair<std::string, int>> parts;
  const int groups = static_cast<int>(impl_->re.mark_count());
  auto group = [&](const std::string& digits) {
    const int g = std::stoi(digits);
    if (g > groups) fail("{}: replacement '{}' names group {}, the pattern has {}", what, repl, g, groups);
    parts.emplace_back("", g);
  };
  static const std::map<char, char> kEscapes = {{'\\', '\\'}, {'n', '\n'}, {'r', '\r'}, {'t', '\t'},
                                                {'a', '\a'}, {'b', '\b'}, {'f', '\f'}, {'v', '\v'}};
  std::string lit;
  const auto flush = [&] {
    if (!lit.empty()) parts.emplace_back(std::move(lit), -1);
    lit.clear();
  };
  for (size_t i = 0; i < repl.size(); ++i) {
    if (repl[i] != '\\') {
      lit += repl[i];
      continue;
    }
    if (i + 1 >= repl.size()) fail("{}: replacement '{}' ends in a backslash", what, repl);
    const char c = repl[++i];
    if (c >= '1' && c <= '9') {
      std::string digits(1, c);
      if (i + 1 < repl.size() && std::isdigit(static_cast<unsigned char>(repl[i + 1]))) digits += repl[++i];
      flush();
      group(digits);
    } else if (c == 'g') {
      const size_t close = repl.find('>', i);
      const std::string_view name = close == std::string_view::npos || i + 1 >= repl.size() || repl[i + 1] != '<'
                                        ? std::string_view()
                                        : repl.substr(i + 2, close - i - 2);
      if (name.empty() || !std::all_of(name.begin(), name.end(), [](char d) { return std::isdigit(static_cast<unsigned char>(d)); }))
        fail("{}: replacement '{}': only numbered group references \\g<N> are supported", what, repl);
      flush();
      group(std::string(name));
      i = close;
    } else if (auto esc = kEscapes.find(c); esc != kEscapes.end()) {
      lit += esc->second;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '0') {
      fail("{}: replacement '{}': escape \\{} is not supported", what, repl, c);
    } else {
      lit += '\\', lit += c;  // Python keeps unknown escapes of non-letters as written
    }
  }
  flush();

  std::string out;
  auto last = text.begin();
  int64_t done = 0;
  using It = std::regex_iterator<std::string_view::const_iterator>;
  for (It it(text.begin(), text.end(), impl_->re), end; it != end && (count <= 0 || done < count); ++it, ++done) {
    const auto& m = *it;
    out.append(last, m[0].first);
    for (const auto& [s, g] : parts) {
      if (g < 0) out += s;
      else if (m[static_cast<size_t>(g)].matched) out.append(m[static_cast<size_t>(g)].first, m[static_cast<size_t>(g)].second);
    }
    last = m[0].second;
  }
  out.append(last, text.end());
  return out;
}

std::string regex_filter(std::string_view response, const PyRegex& re, int64_t group_select,
                         const std::string& fallback) {
  const auto matches = re.findall(response);
  if (matches.empty()) return fallback;
  const int64_t n = static_cast<int64_t>(matches.size());
  const int64_t at = group_select < 0 ? n + group_select : group_select;
  // Python would raise IndexError; an answer that is not there is the fallback.
  if (at < 0 || at >= n) return fallback;
  const auto& groups = matches[static_cast<size_t>(at)];
  if (groups.size() == 1) return python_strip(groups[0]);
  for (const auto& g : groups)
    if (!g.empty()) return python_strip(g);
  return fallback;
}

ExactMatch::ExactMatch(const ExactMatchOptions& opt, const std::string& what) : opt_(opt) {
  for (size_t i = 0; i < opt.regexes_to_ignore.size(); ++i)
    ignore_.emplace_back(opt.regexes_to_ignore[i], fmt::format("{} regexes_to_ignore[{}]", what, i));
}

namespace {

// str.lower() by Unicode simple case mapping.
std::string python_lower(std::string_view x) {
  std::string lower;
  size_t pos = 0;
  char32_t c = 0;
  while (pos < x.size()) {
    const size_t start = pos;
    if (text::decode_next(x, pos, c)) {
      text::append_utf8(lower, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    } else {
      lower += x[start], pos = start + 1;  // invalid bytes pass through
    }
  }
  return lower;
}

// Python's string.punctuation.
bool is_ascii_punctuation(char c) { return std::string_view("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~").find(c) != std::string_view::npos; }

// The code points of KorQuAD's normalised answer, its tokens (str.split) kept apart.
std::vector<std::vector<char32_t>> korquad_tokens(std::string_view s) {
  // remove_() in KorQuAD's script: these symbols become spaces. (The symbols have no
  // common prefix, so one pass over the text replaces every occurrence of each.)
  static constexpr std::string_view kSymbols[] = {"'", "\"", "《", "》", "<", ">", "〈", "〉", "(", ")", "‘", "’"};
  std::string spaced;
  spaced.reserve(s.size());
  for (size_t at = 0; at < s.size();) {
    const std::string_view rest = s.substr(at);
    const auto sym = std::find_if(std::begin(kSymbols), std::end(kSymbols),
                                  [&](std::string_view k) { return rest.starts_with(k); });
    if (sym != std::end(kSymbols)) {
      spaced += ' ';
      at += sym->size();
    } else {
      spaced += s[at++];
    }
  }
  std::string x = python_lower(spaced);
  std::erase_if(x, is_ascii_punctuation);
  std::vector<std::vector<char32_t>> tokens(1);
  size_t pos = 0;
  char32_t c = 0;
  while (pos < x.size()) {
    const size_t start = pos;
    if (!text::decode_next(x, pos, c)) c = 0xFFFD, pos = pos == start ? start + 1 : pos;
    if (is_python_space(c)) {
      if (!tokens.back().empty()) tokens.emplace_back();
    } else {
      tokens.back().push_back(c);
    }
  }
  if (tokens.back().empty()) tokens.pop_back();
  return tokens;
}

}  // namespace

std::string korquad_normalize(std::string_view s) {
  std::string out;
  for (const auto& t : korquad_tokens(s)) {
    if (!out.empty()) out += ' ';
    for (char32_t c : t) text::append_utf8(out, c);
  }
  return out;
}

bool korquad_exact_match(std::string_view prediction, std::string_view reference) {
  return korquad_normalize(prediction) == korquad_normalize(reference);
}

double korquad_f1(std::string_view prediction, std::string_view reference) {
  std::map<char32_t, int64_t> pred, ref;
  int64_t n_pred = 0, n_ref = 0;
  for (const auto& t : korquad_tokens(prediction))
    for (char32_t c : t) ++pred[c], ++n_pred;
  for (const auto& t : korquad_tokens(reference))
    for (char32_t c : t) ++ref[c], ++n_ref;
  int64_t same = 0;
  for (const auto& [c, n] : pred)
    if (auto it = ref.find(c); it != ref.end()) same += std::min(n, it->second);
  if (same == 0) return 0.0;
  const double precision = static_cast<double>(same) / static_cast<double>(n_pred);
  const double recall = static_cast<double>(same) / static_cast<double>(n_ref);
  return 2 * precision * recall / (precision + recall);
}

std::string ExactMatch::normalise(std::string_view s) const {
  std::string x(s);
  for (const auto& re : ignore_) x = re.remove_all(x);
  if (opt_.ignore_case) x = python_lower(x);
  auto drop = [&](auto pred) { x.erase(std::remove_if(x.begin(), x.end(), pred), x.end()); };
  if (opt_.ignore_punctuation) drop(is_ascii_punctuation);
  if (opt_.ignore_numbers) drop([](char c) { return c >= '0' && c <= '9'; });
  return x;
}

bool ExactMatch::operator()(std::string_view prediction, std::string_view reference) const {
  return normalise(prediction) == normalise(reference);
}

std::string cut_at_stop(std::string_view text, const std::vector<std::string>& stop) {
  size_t end = text.size();
  for (const auto& s : stop)
    if (!s.empty()) end = std::min(end, text.substr(0, end).find(s));
  return std::string(text.substr(0, end));
}

std::string utf8_lossy(std::string_view b) {
  std::string out;
  out.reserve(b.size());
  size_t i = 0;
  while (i < b.size()) {
    const auto c0 = static_cast<unsigned char>(b[i]);
    int need = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (c0 < 0x80) {
      out += static_cast<char>(c0), ++i;
      continue;
    } else if (c0 >= 0xC2 && c0 <= 0xDF) {
      need = 1;
    } else if (c0 >= 0xE0 && c0 <= 0xEF) {
      need = 2, lo = c0 == 0xE0 ? 0xA0 : 0x80, hi = c0 == 0xED ? 0x9F : 0xBF;
    } else if (c0 >= 0xF0 && c0 <= 0xF4) {
      need = 3, lo = c0 == 0xF0 ? 0x90 : 0x80, hi = c0 == 0xF4 ? 0x8F : 0xBF;
    }
    size_t j = i + 1;
    int got = 0;
    while (got < need && j < b.size()) {
      const auto c = static_cast<unsigned char>(b[j]);
      if (got == 0 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) break;
      ++j, ++got;
    }
    if (need > 0 && got == need) out.append(b.substr(i, j - i));
    else out += "\xEF\xBF\xBD";  // the lead byte and the continuation bytes that fit it
    i = j;
  }
  return out;
}

size_t trailing_whitespace(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t pos = start;
    char32_t c = 0;
    if (!(text::decode_next(s, pos, c) && pos == end && is_python_space(c))) break;
    end = start;
  }
  return s.size() - end;
}

std::string python_strip(std::string_view s) {
  s.remove_suffix(trailing_whitespace(s));
  size_t pos = 0;
  while (pos < s.size()) {
    size_t next = pos;
    char32_t c = 0;
    if (!text::decode_next(s, next, c) || !is_python_space(c)) break;
    pos = next;
  }
  return std::string(s.substr(pos));
}

}  // namespace kormo::eval
