#include "kormo/data/html.h"

#include <cctype>
#include <cstdlib>
#include <unordered_set>

#include "kormo/data/words.h"
#include "kormo/text/utf8.h"

namespace kormo::data {
namespace {

struct Tag {
  std::string name;  // lower-case, without '/'
  bool closing = false, self_closing = false;
  std::string_view attrs;
  size_t end = 0;  // offset after '>'
};

// Parses a tag at s[p] == '<'. Returns false for a stray '<' (treated as text).
bool parse_tag(std::string_view s, size_t p, Tag& t) {
  size_t i = p + 1;
  if (i < s.size() && s[i] == '?') {  // XML declaration or processing instruction
    size_t e = s.find("?>", i);
    t.name = "!";
    t.end = e == std::string_view::npos ? s.size() : e + 2;
    return true;
  }
  if (i < s.size() && s[i] == '!') {  // comment, doctype or CDATA
    size_t e = s.compare(p, 4, "<!--") == 0 ? s.find("-->", p + 4) : s.find('>', p);
    t.name = "!";
    t.end = e == std::string_view::npos ? s.size() : e + (s.compare(p, 4, "<!--") == 0 ? 3 : 1);
    return true;
  }
  if (i < s.size() && s[i] == '/') t.closing = true, ++i;
  size_t n = i;
  while (n < s.size() && (std::isalnum(static_cast<unsigned char>(s[n])) || s[n] == '-')) ++n;
  if (n == i) return false;
  t.name.assign(s.substr(i, n - i));
  for (char& c : t.name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Find the closing '>' outside quotes.
  char q = 0;
  size_t e = n;
  for (; e < s.size(); ++e) {
    if (q) {
      if (s[e] == q) q = 0;
    } else if (s[e] == '"' || s[e] == '\'') {
      q = s[e];
    } else if (s[e] == '>') {
      break;
    }
  }
  if (e >= s.size()) return false;
  t.attrs = s.substr(n, e - n);
  t.self_closing = e > n && s[e - 1] == '/';
  t.end = e + 1;
  return true;
}

std::string attr_value(std::string_view attrs, std::string_view name) {
  size_t p = 0;
  while ((p = attrs.find(name, p)) != std::string_view::npos) {
    bool word_start = p == 0 || std::isspace(static_cast<unsigned char>(attrs[p - 1]));
    size_t e = p + name.size();
    if (word_start && e < attrs.size() && attrs[e] == '=') {
      ++e;
      if (e < attrs.size() && (attrs[e] == '"' || attrs[e] == '\'')) {
        size_t close = attrs.find(attrs[e], e + 1);
        if (close == std::string_view::npos) close = attrs.size();
        return std::string(attrs.substr(e + 1, close - e - 1));
      }
      size_t close = e;
      while (close < attrs.size() && !std::isspace(static_cast<unsigned char>(attrs[close]))) ++close;
      return std::string(attrs.substr(e, close - e));
    }
    p = e;
  }
  return "";
}

bool has_attr(std::string_view attrs, std::string_view name) {
  size_t p = 0;
  while ((p = attrs.find(name, p)) != std::string_view::npos) {
    bool start = p == 0 || std::isspace(static_cast<unsigned char>(attrs[p - 1]));
    size_t e = p + name.size();
    bool end = e >= attrs.size() || attrs[e] == '=' || std::isspace(static_cast<unsigned char>(attrs[e])) ||
               attrs[e] == '/';
    if (start && end) return true;
    p = e;
  }
  return false;
}

const std::unordered_set<std::string_view>& skipped_elements() {
  static const std::unordered_set<std::string_view> s = {"script", "style", "nav",      "header", "footer", "aside",
                                                         "noscript", "head", "template", "svg",   "form",   "button",
                                                         "select", "iframe", "object"};
  return s;
}
const std::unordered_set<std::string_view>& block_elements() {
  static const std::unordered_set<std::string_view> s = {
      "p",  "div", "br", "h1", "h2", "h3", "h4",         "h5",      "h6",     "li",   "ul",      "ol",     "tr",
      "td", "th",  "table", "section", "article", "pre", "blockquote", "dd", "dt", "dl", "hr", "main", "figure",
      "figcaption", "caption", "body", "html", "title", "center", "address"};
  return s;
}
const std::unordered_set<std::string_view>& void_elements() {
  static const std::unordered_set<std::string_view> s = {"br", "hr", "img", "meta", "link", "input", "area",
                                                         "base", "col", "embed", "source", "wbr", "param"};
  return s;
}

// Appends text with whitespace collapsed (unless in <pre>).
void add_text(std::string& out, std::string_view raw, bool pre) {
  std::string t = decode_entities(raw);
  for (char c : t) {
    if (!pre && (c == ' ' || c == '\n' || c == '\t' || c == '\r')) {
      if (!out.empty() && out.back() != ' ' && out.back() != '\n') out += ' ';
    } else {
      out += c;
    }
  }
}

void paragraph_break(std::string& out) {
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.empty()) return;
  if (out.back() != '\n') out += '\n';
  if (out.size() < 2 || out[out.size() - 2] != '\n') out += '\n';
}

// Skips from after an opening tag `name` to after its matching close tag.
size_t skip_element(std::string_view s, size_t p, const std::string& name) {
  int depth = 1;
  while (p < s.size()) {
    size_t lt = s.find('<', p);
    if (lt == std::string_view::npos) return s.size();
    Tag t;
    if (!parse_tag(s, lt, t)) {
      p = lt + 1;
      continue;
    }
    p = t.end;
    if (t.name != name || t.self_closing) continue;
    // Raw-text elements cannot nest; others can.
    if (t.closing) {
      if (--depth == 0) return p;
    } else if (name != "script" && name != "style") {
      ++depth;
    }
  }
  return s.size();
}

// Navigation blocks marked by class (DocBook's toc/navheader/navfooter, common
// site chrome): their text repeats on every page.
bool boilerplate_class(const Tag& t) {
  static const std::unordered_set<std::string_view> names = {
      "toc", "navheader", "navfooter", "navigation", "breadcrumb", "breadcrumbs", "sidebar", "menu", "footer", "header"};
  std::string cls = attr_value(t.attrs, "class");
  size_t b = 0;
  while (b < cls.size()) {
    size_t e = cls.find(' ', b);
    if (e == std::string::npos) e = cls.size();
    if (names.count(std::string_view(cls).substr(b, e - b))) return true;
    b = e + 1;
  }
  return false;
}

bool hidden_variant(const Tag& t) {
  if (!has_attr(t.attrs, "hidden")) return false;
  std::string v = attr_value(t.attrs, "hidden");
  if (v == "false") return false;
  return attr_value(t.attrs, "id").rfind("default", 0) != 0;
}

}  // namespace

std::string decode_entities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += '&';
      continue;
    }
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    char32_t cp = 0;
    if (!ent.empty() && ent[0] == '#') {
      bool hex = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X');
      std::string digits(ent.substr(hex ? 2 : 1));
      char* end = nullptr;
      unsigned long v = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
      if (digits.empty() || *end != 0 || v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) v = 0xFFFD;
      cp = static_cast<char32_t>(v);
    } else if (ent == "amp") cp = '&';
    else if (ent == "lt") cp = '<';
    else if (ent == "gt") cp = '>';
    else if (ent == "quot") cp = '"';
    else if (ent == "apos") cp = '\'';
    else if (ent == "nbsp") cp = ' ';
    else if (ent == "mdash") cp = 0x2014;
    else if (ent == "ndash") cp = 0x2013;
    else if (ent == "hellip") cp = 0x2026;
    else if (ent == "copy") cp = 0xA9;
    else if (ent == "reg") cp = 0xAE;
    else if (ent == "trade") cp = 0x2122;
    else if (ent == "lsquo") cp = 0x2018;
    else if (ent == "rsquo") cp = 0x2019;
    else if (ent == "ldquo") cp = 0x201C;
    else if (ent == "rdquo") cp = 0x201D;
    else if (ent == "middot") cp = 0xB7;
    else if (ent == "laquo") cp = 0xAB;
    else if (ent == "raquo") cp = 0xBB;
    else if (ent == "times") cp = 0xD7;
    if (cp == 0) {
      out += '&';
      continue;
    }
    text::append_utf8(out, cp);
    i = semi;
  }
  return out;
}

std::string html_to_text(std::string_view s) {
  std::string out;
  int pre = 0;
  size_t p = 0;
  while (p < s.size()) {
    size_t lt = s.find('<', p);
    if (lt == std::string_view::npos) lt = s.size();
    if (lt > p) add_text(out, s.substr(p, lt - p), pre > 0);
    if (lt >= s.size()) break;
    Tag t;
    if (!parse_tag(s, lt, t)) {
      add_text(out, "<", pre > 0);
      p = lt + 1;
      continue;
    }
    p = t.end;
    if (t.name == "!") continue;
    if (!t.closing && !t.self_closing && (skipped_elements().count(t.name) || hidden_variant(t) || boilerplate_class(t))) {
      if (!void_elements().count(t.name)) p = skip_element(s, p, t.name);
      continue;
    }
    if (t.name == "pre") pre += t.closing ? -1 : 1, pre = std::max(pre, 0);
    if (block_elements().count(t.name)) {
      if (t.name == "br") {
        while (!out.empty() && out.back() == ' ') out.pop_back();
        out += '\n';
      } else if (t.name == "td" || t.name == "th") {
        if (!out.empty() && out.back() != ' ' && out.back() != '\n') out += ' ';
      } else {
        paragraph_break(out);
      }
    }
  }
  // Trim spaces at line ends and the whole text.
  std::string clean;
  for (std::string_view line : split_lines(out)) {
    clean.append(trim(line));
    clean += '\n';
  }
  return std::string(trim(clean));
}

std::vector<IdParagraph> html_paragraphs_by_id(std::string_view s, const std::vector<std::string>& prefixes) {
  std::vector<IdParagraph> out;
  size_t p = 0;
  while (p < s.size()) {
    size_t lt = s.find('<', p);
    if (lt == std::string_view::npos) break;
    Tag t;
    if (!parse_tag(s, lt, t)) {
      p = lt + 1;
      continue;
    }
    p = t.end;
    if (t.closing || t.self_closing || t.name == "!") continue;
    if (skipped_elements().count(t.name) && !void_elements().count(t.name)) {
      p = skip_element(s, p, t.name);
      continue;
    }
    std::string id = attr_value(t.attrs, "id");
    bool wanted = false;
    for (const auto& pre : prefixes) wanted = wanted || id.rfind(pre, 0) == 0;
    if (!wanted || void_elements().count(t.name)) continue;
    size_t end = skip_element(s, p, t.name);
    // Inner HTML without the closing tag.
    size_t inner_end = s.rfind('<', end - 1);
    if (inner_end == std::string_view::npos || inner_end < p) inner_end = end;
    std::string text = html_to_text(s.substr(p, inner_end - p));
    for (char& c : text)
      if (c == '\n') c = ' ';
    if (!text.empty()) out.push_back({id, std::string(trim(text))});
    p = end;
  }
  return out;
}

std::string html_title(std::string_view s) {
  size_t p = 0;
  while ((p = s.find('<', p)) != std::string_view::npos) {
    Tag t;
    if (!parse_tag(s, p, t)) {
      ++p;
      continue;
    }
    if (t.name == "title" && !t.closing) {
      size_t e = s.find("</", t.end);
      if (e == std::string_view::npos) return "";
      std::string title = decode_entities(s.substr(t.end, e - t.end));
      return std::string(trim(title));
    }
    p = t.end;
  }
  return "";
}

}  // namespace kormo::data
