#include "kormo/data/normalize.h"

#include "kormo/data/words.h"
#include "kormo/text/utf8.h"
#include "kormo/util/error.h"

namespace kormo::data {

namespace {
const char* kDefaultRules = R"(# Project Gutenberg header and licence footer (both "THIS" and "THE" forms).
cut_before START OF THIS PROJECT GUTENBERG EBOOK
cut_before START OF THE PROJECT GUTENBERG EBOOK
cut_after END OF THIS PROJECT GUTENBERG EBOOK
cut_after END OF THE PROJECT GUTENBERG EBOOK
cut_after End of Project Gutenberg's
cut_after End of the Project Gutenberg EBook
)";
}

std::vector<BoilerplateRule> default_boilerplate_rules() {
  return parse_boilerplate_rules(kDefaultRules, "<built-in rules>");
}

std::vector<BoilerplateRule> parse_boilerplate_rules(std::string_view text, const std::string& path) {
  std::vector<BoilerplateRule> rules;
  size_t line_no = 0;
  for (std::string_view line : split_lines(text)) {
    ++line_no;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.find(' ');
    std::string_view kind = line.substr(0, sp);
    std::string_view needle = sp == std::string_view::npos ? std::string_view() : trim(line.substr(sp + 1));
    BoilerplateRule r;
    if (kind == "cut_before") r.kind = BoilerplateRule::kCutBefore;
    else if (kind == "cut_after") r.kind = BoilerplateRule::kCutAfter;
    else if (kind == "drop_line") r.kind = BoilerplateRule::kDropLine;
    else fail("{}:{}: expected cut_before, cut_after or drop_line, got \"{}\"", path, line_no, kind);
    if (needle.empty()) fail("{}:{}: expected text after \"{}\"", path, line_no, kind);
    r.needle = ascii_lower(needle);
    r.name = fmt::format("boilerplate.{}", kind);
    rules.push_back(std::move(r));
  }
  return rules;
}

std::string normalize_text(std::string_view s, text::NormForm form) {
  std::string n = text::normalize(s, form);
  std::string out;
  out.reserve(n.size());
  size_t pos = 0;
  char32_t cp;
  size_t line_start = 0;  // in out
  int newlines = 0;       // consecutive
  auto trim_line_end = [&] {
    while (out.size() > line_start && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  };
  while (pos < n.size()) {
    unsigned char c = static_cast<unsigned char>(n[pos]);
    if (c < 0x80) {
      ++pos;
      cp = c;
    } else if (!text::decode_next(n, pos, cp)) {
      ++pos;  // unreachable after normalize(), which validates
      continue;
    }
    if (cp == '\r') {
      if (pos < n.size() && n[pos] == '\n') continue;
      cp = '\n';
    }
    if (cp == '\n' || cp == 0x2028 || cp == 0x2029) {
      trim_line_end();
      if (out.empty()) continue;  // leading blank lines
      if (++newlines <= 2) out += '\n';
      line_start = out.size();
      continue;
    }
    if (cp == 0xFEFF || cp == 0x200B || (cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp < 0xA0)) continue;
    if (cp != '\t' && cp != ' ' && text::is_white_space(cp)) cp = ' ';
    newlines = 0;
    text::append_utf8(out, cp);
  }
  trim_line_end();
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::vector<std::string> strip_boilerplate(std::string& text, const std::vector<BoilerplateRule>& rules) {
  std::vector<std::string> fired;
  if (rules.empty()) return fired;
  std::vector<std::string_view> lines = split_lines(text);
  std::vector<std::string> lower(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) lower[i] = ascii_lower(lines[i]);
  size_t begin = 0, end = lines.size();
  std::vector<bool> drop(lines.size(), false);
  for (const auto& r : rules) {
    bool hit = false;
    if (r.kind == BoilerplateRule::kCutBefore) {
      for (size_t i = begin; i < end; ++i)
        if (lower[i].find(r.needle) != std::string::npos) {
          begin = i + 1;
          hit = true;
          break;
        }
    } else if (r.kind == BoilerplateRule::kCutAfter) {
      for (size_t i = end; i-- > begin;)
        if (lower[i].find(r.needle) != std::string::npos) {
          end = i;
          hit = true;
          break;
        }
    } else {
      for (size_t i = begin; i < end; ++i)
        if (!drop[i] && lower[i].find(r.needle) != std::string::npos) drop[i] = hit = true;
    }
    if (hit) fired.push_back(r.name);
  }
  if (fired.empty()) return fired;
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    if (drop[i]) continue;
    out.append(lines[i]);
    out += '\n';
  }
  text = std::string(trim(out));
  return fired;
}

}  // namespace kormo::data
