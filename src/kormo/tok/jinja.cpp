#include "kormo/tok/jinja.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"

namespace kormo::tok {
namespace {

using Json = nlohmann::ordered_json;

struct Pos {
  int line = 1, col = 1;
};

[[noreturn]] void fail_at(Pos p, const std::string& what) {
  fail("line {}, column {}: {}", p.line, p.col, what);
}

// ---------------------------------------------------------------- UTF-8 and Python string helpers

// Byte offsets of the code points of s, plus s.size(): Python indexes strings by code point.
std::vector<size_t> code_points(const std::string& s) {
  std::vector<size_t> cp;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) cp.push_back(i);
  cp.push_back(s.size());
  return cp;
}

// Python's str.isspace() characters, as str.strip() and str.split() use them.
size_t space_len(const std::string& s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return 1;
  auto at = [&](std::string_view u) { return s.compare(i, u.size(), u) == 0; };
  if (at("\xC2\x85") || at("\xC2\xA0")) return 2;
  for (std::string_view u : {"\xE1\x9A\x80", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80"})
    if (at(u)) return 3;
  if (at("\xE2\x80") && i + 2 < s.size() && static_cast<unsigned char>(s[i + 2]) >= 0x80 &&
      static_cast<unsigned char>(s[i + 2]) <= 0x8A)
    return 3;
  return 0;
}

// Length of the whitespace code point ending at byte `end` (exclusive), or 0.
size_t space_len_before(const std::string& s, size_t end) {
  for (size_t n = 1; n <= 3 && n <= end; ++n)
    if (space_len(s, end - n) == n) return n;
  return 0;
}

std::string py_strip(const std::string& s, const std::optional<std::string>& chars, bool left, bool right) {
  size_t b = 0, e = s.size();
  if (!chars) {
    while (left && b < e && space_len(s, b)) b += space_len(s, b);
    while (right && e > b && space_len_before(s, e)) e -= space_len_before(s, e);
  } else {
    const auto cps = code_points(*chars);
    std::set<std::string> set;
    for (size_t k = 0; k + 1 < cps.size(); ++k) set.insert(chars->substr(cps[k], cps[k + 1] - cps[k]));
    const auto sc = code_points(s);
    size_t bi = 0, ei = sc.size() - 1;
    while (left && bi < ei && set.count(s.substr(sc[bi], sc[bi + 1] - sc[bi]))) ++bi;
    while (right && ei > bi && set.count(s.substr(sc[ei - 1], sc[ei] - sc[ei - 1]))) --ei;
    b = sc[bi], e = sc[ei];
  }
  return s.substr(b, e - b);
}

std::string ascii_map(std::string s, int (*f)(int)) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(f(c));
  return s;
}
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string py_title(std::string s) {
  bool prev_cased = false;
  for (char& c : s) {
    if (is_alpha(c)) {
      c = static_cast<char>(prev_cased ? std::tolower(c) : std::toupper(c));
      prev_cased = true;
    } else if (static_cast<unsigned char>(c) < 0x80) {
      prev_cased = false;
    }
  }
  return s;
}

std::string py_capitalize(const std::string& s) {
  std::string r = ascii_map(s, [](int c) { return std::tolower(c); });
  if (!r.empty() && is_alpha(r[0])) r[0] = static_cast<char>(std::toupper(r[0]));
  return r;
}

std::string py_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  std::string s = fmt::format("{}", d);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string py_repr_str(const std::string& s) {
  const char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  std::string r(1, q);
  for (unsigned char c : s) {
    if (c == '\\' || c == static_cast<unsigned char>(q)) r += '\\', r += static_cast<char>(c);
    else if (c == '\n') r += "\\n";
    else if (c == '\r') r += "\\r";
    else if (c == '\t') r += "\\t";
    else if (c < 0x20 || c == 0x7F) r += fmt::format("\\x{:02x}", c);
    else r += static_cast<char>(c);
  }
  return r + q;
}

// json.dumps(x, ensure_ascii=False, indent, separators, sort_keys).
void dump_json(const Json& j, std::string& out, const std::string* indent, int level, const std::string& item_sep,
               const std::string& key_sep, bool sort_keys) {
  auto newline = [&](int l) {
    if (!indent) return;
    out += '\n';
    for (int k = 0; k < l; ++k) out += *indent;
  };
  switch (j.type()) {
    case Json::value_t::null: out += "null"; return;
    case Json::value_t::boolean: out += j.get<bool>() ? "true" : "false"; return;
    case Json::value_t::number_integer: out += std::to_string(j.get<int64_t>()); return;
    case Json::value_t::number_unsigned: out += std::to_string(j.get<uint64_t>()); return;
    case Json::value_t::number_float: {
      const double d = j.get<double>();
      out += std::isnan(d) ? "NaN" : std::isinf(d) ? (d > 0 ? "Infinity" : "-Infinity") : py_float(d);
      return;
    }
    case Json::value_t::string: {
      out += '"';
      for (unsigned char c : j.get_ref<const std::string&>()) {
        switch (c) {
          case '"': out += "\\\""; break;
          case '\\': out += "\\\\"; break;
          case '\n': out += "\\n"; break;
          case '\r': out += "\\r"; break;
          case '\t': out += "\\t"; break;
          case '\b': out += "\\b"; break;
          case '\f': out += "\\f"; break;
          default:
            if (c < 0x20) out += fmt::format("\\u{:04x}", c);
            else out += static_cast<char>(c);
        }
      }
      out += '"';
      return;
    }
    case Json::value_t::array: {
      if (j.empty()) { out += "[]"; return; }
      out += '[';
      bool first = true;
      for (const auto& e : j) {
        if (!first) out += item_sep;
        first = false;
        newline(level + 1);
        dump_json(e, out, indent, level + 1, item_sep, key_sep, sort_keys);
      }
      newline(level);
      out += ']';
      return;
    }
    case Json::value_t::object: {
      if (j.empty()) { out += "{}"; return; }
      std::vector<std::pair<std::string, const Json*>> items;
      for (const auto& [k, v] : j.items()) items.emplace_back(k, &v);
      if (sort_keys) std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      bool first = true;
      for (const auto& [k, v] : items) {
        if (!first) out += item_sep;
        first = false;
        newline(level + 1);
        dump_json(Json(k), out, indent, level + 1, item_sep, key_sep, sort_keys);
        out += key_sep;
        dump_json(*v, out, indent, level + 1, item_sep, key_sep, sort_keys);
      }
      newline(level);
      out += '}';
      return;
    }
    default: out += "null"; return;
  }
}

// ---------------------------------------------------------------- lexer

enum class Tk { kName, kInt, kFloat, kString, kOp, kEnd };

struct Token {
  Tk kind;
  std::string text;  // name, operator, or the decoded string
  Json value;        // numbers
  Pos pos;
};

struct Part {
  enum Kind { kText, kVar, kBlock } kind;
  std::string text;
  std::vector<Token> tokens;  // kVar, kBlock: ends with a kEnd token
  Pos pos;
};

class Lexer {
 public:
  Lexer(const std::string& source, const JinjaOptions& opt) : opt_(opt) {
    // Jinja normalises newlines and drops one trailing newline unless keep_trailing_newline.
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        s_ += '\n';
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        s_ += source[i];
      }
    }
    if (!opt.keep_trailing_newline && !s_.empty() && s_.back() == '\n') s_.pop_back();
    line_starts_.push_back(0);
    for (size_t i = 0; i < s_.size(); ++i)
      if (s_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Part> run() {
    std::vector<Part> parts;
    size_t i = 0;
    bool line_starting = true;
    const size_t n = s_.size();
    while (i < n) {
      size_t k = i;
      while (k < n && !(s_[k] == '{' && k + 1 < n && (s_[k + 1] == '{' || s_[k + 1] == '%' || s_[k + 1] == '#'))) ++k;
      std::string text = s_.substr(i, k - i);
      if (k == n) {
        parts.push_back({Part::kText, std::move(text), {}, pos(i)});
        break;
      }
      const char kind = s_[k + 1];
      size_t j = k + 2;
      char sign = 0;
      if (j < n && (s_[j] == '-' || s_[j] == '+')) sign = s_[j++];
      if (sign == '-') {
        while (!text.empty() && space_len_before(text, text.size())) text.resize(text.size() - space_len_before(text, text.size()));
      } else if (opt_.lstrip_blocks && sign != '+' && kind != '{') {
        // lstrip_blocks: a block or comment tag alone on its line takes the line's indent.
        const size_t nl = text.rfind('\n');
        const size_t l = nl == std::string::npos ? 0 : nl + 1;
        if ((l > 0 || line_starting) && l < text.size()) {
          size_t m = l;
          while (m < text.size() && space_len(text, m)) m += space_len(text, m);
          if (m == text.size()) text.resize(l);
        }
      }
      if (!text.empty()) parts.push_back({Part::kText, std::move(text), {}, pos(i)});
      char end_sign = 0;
      if (kind == '#') {
        const size_t e = s_.find("#}", j);
        if (e == std::string::npos) fail_at(pos(k), "comment {# is not closed with #}");
        if (e > j && (s_[e - 1] == '-' || s_[e - 1] == '+')) end_sign = s_[e - 1];
        i = e + 2;
      } else {
        Part p{kind == '{' ? Part::kVar : Part::kBlock, {}, {}, pos(k)};
        i = tokenize(k, j, kind == '{' ? "}}" : "%}", p.tokens, end_sign);
        parts.push_back(std::move(p));
      }
      if (end_sign == '-') {
        while (i < n && space_len(s_, i)) i += space_len(s_, i);
      } else if (opt_.trim_blocks && end_sign != '+' && kind != '{' && i < n && s_[i] == '\n') {
        ++i;  // trim_blocks
      }
      line_starting = s_[i - 1] == '\n';
    }
    return parts;
  }

  Pos pos(size_t off) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), off) - 1;
    // Columns count code points, as an editor shows them.
    const size_t start = *it;
    int col = 1;
    for (size_t q = start; q < off; ++q)
      if ((static_cast<unsigned char>(s_[q]) & 0xC0) != 0x80) ++col;
    return {static_cast<int>(it - line_starts_.begin()) + 1, col};
  }

 private:
  size_t tokenize(size_t tag, size_t j, std::string_view close, std::vector<Token>& out, char& end_sign) {
    const size_t n = s_.size();
    int depth = 0;
    while (true) {
      while (j < n && (s_[j] == ' ' || s_[j] == '\t' || s_[j] == '\n' || s_[j] == '\r' || s_[j] == '\f' || s_[j] == '\v')) ++j;
      if (j >= n) fail_at(pos(tag), fmt::format("tag is not closed with {}", close));
      if (depth == 0) {
        if (s_.compare(j, 2, close) == 0) {
          out.push_back({Tk::kEnd, std::string(close), {}, pos(j)});
          return j + 2;
        }
        if ((s_[j] == '-' || s_[j] == '+') && s_.compare(j + 1, 2, close) == 0) {
          end_sign = s_[j];
          out.push_back({Tk::kEnd, std::string(close), {}, pos(j)});
          return j + 3;
        }
      }
      const Pos p = pos(j);
      const char c = s_[j];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t e = j;
        while (e < n && (std::isalnum(static_cast<unsigned char>(s_[e])) || s_[e] == '_')) ++e;
        out.push_back({Tk::kName, s_.substr(j, e - j), {}, p});
        j = e;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t e = j;
        std::string digits;
        auto take_digits = [&] {
          while (e < n && (std::isdigit(static_cast<unsigned char>(s_[e])) || s_[e] == '_'))
            if (s_[e++] != '_') digits += s_[e - 1];
        };
        take_digits();
        bool is_float = false;
        if (e + 1 < n && s_[e] == '.' && std::isdigit(static_cast<unsigned char>(s_[e + 1]))) {
          is_float = true;
          digits += s_[e++];
          take_digits();
        }
        if (e < n && (s_[e] == 'e' || s_[e] == 'E')) {
          size_t f = e + 1;
          if (f < n && (s_[f] == '+' || s_[f] == '-')) ++f;
          if (f < n && std::isdigit(static_cast<unsigned char>(s_[f]))) {
            is_float = true;
            digits += 'e';
            digits += s_.substr(e + 1, f - e - 1);
            e = f;
            take_digits();
          }
        }
        Token t{is_float ? Tk::kFloat : Tk::kInt, digits, {}, p};
        try {
          t.value = is_float ? Json(std::stod(digits)) : Json(static_cast<int64_t>(std::stoll(digits)));
        } catch (const std::exception&) {
          fail_at(p, fmt::format("number {} is out of range", digits));
        }
        out.push_back(std::move(t));
        j = e;
      } else if (c == '\'' || c == '"') {
        out.push_back({Tk::kString, read_string(j), {}, p});
      } else {
        static const char* kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">",
                                     "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", "="};
        const char* op = nullptr;
        for (const char* o : kOps)
          if (s_.compare(j, std::char_traits<char>::length(o), o) == 0) {
            op = o;
            break;
          }
        if (!op) fail_at(p, fmt::format("unexpected character '{}'", c));
        if (op[0] == '(' || op[0] == '[' || op[0] == '{') ++depth;
        if (op[0] == ')' || op[0] == ']' || op[0] == '}') {
          if (depth == 0) fail_at(p, fmt::format("unexpected '{}'", op));
          --depth;
        }
        out.push_back({Tk::kOp, op, {}, p});
        j += std::char_traits<char>::length(op);
      }
    }
  }

  // A quoted string with Python's escapes; j moves past the closing quote.
  std::string read_string(size_t& j) {
    const Pos p = pos(j);
    const char q = s_[j++];
    std::string r;
    auto append_utf8 = [&](uint32_t cp) {
      if (cp < 0x80) r += static_cast<char>(cp);
      else if (cp < 0x800) r += static_cast<char>(0xC0 | (cp >> 6)), r += static_cast<char>(0x80 | (cp & 0x3F));
      else if (cp < 0x10000)
        r += static_cast<char>(0xE0 | (cp >> 12)), r += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)),
            r += static_cast<char>(0x80 | (cp & 0x3F));
      else
        r += static_cast<char>(0xF0 | (cp >> 18)), r += static_cast<char>(0x80 | ((cp >> 12) & 0x3F)),
            r += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), r += static_cast<char>(0x80 | (cp & 0x3F));
    };
    while (true) {
      if (j >= s_.size()) fail_at(p, "string is not closed");
      const char c = s_[j++];
      if (c == q) return r;
      if (c != '\\') {
        r += c;
        continue;
      }
      if (j >= s_.size()) fail_at(p, "string is not closed");
      const char e = s_[j++];
      int hex = 0;
      switch (e) {
        case 'n': r += '\n'; break;
        case 't': r += '\t'; break;
        case 'r': r += '\r'; break;
        case 'b': r += '\b'; break;
        case 'f': r += '\f'; break;
        case 'v': r += '\v'; break;
        case 'a': r += '\a'; break;
        case '0': r += '\0'; break;
        case '\\': case '\'': case '"': r += e; break;
        case '\n': break;
        case 'x': hex = 2; break;
        case 'u': hex = 4; break;
        case 'U': hex = 8; break;
        default: r += '\\', r += e;
      }
      if (hex) {
        if (j + hex > s_.size()) fail_at(p, "truncated \\x/\\u escape in string");
        uint32_t cp = 0;
        for (int k = 0; k < hex; ++k) {
          const char h = s_[j++];
          if (!std::isxdigit(static_cast<unsigned char>(h))) fail_at(p, "bad \\x/\\u escape in string");
          cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
        }
        if (cp > 0x10FFFF) fail_at(p, "escape beyond U+10FFFF in string");
        append_utf8(cp);
      }
    }
  }

  JinjaOptions opt_;
  std::string s_;
  std::vector<size_t> line_starts_;
};

// ---------------------------------------------------------------- AST

struct Expr;
using ExprP = std::unique_ptr<Expr>;
struct Expr {
  enum Kind { kLit, kName, kList, kDict, kAttr, kIndex, kSlice, kCall, kFilter, kTest, kNeg, kBin, kNot, kAnd, kOr, kCond, kCmp };
  Kind kind;
  Pos pos;
  std::string name;  // name, attribute, filter, test, binary operator
  Json lit;
  std::vector<ExprP> args;  // operands; kFilter/kTest: subject first; kCall: callee first; kSlice: target,start,stop,step
  std::vector<std::pair<std::string, ExprP>> kwargs;
  std::vector<std::string> ops;  // kCmp: the operators between args
  bool negated = false;          // kTest: `is not`
};

struct Node;
using Body = std::vector<Node>;
struct Node {
  enum Kind { kText, kOutput, kIf, kFor, kSet, kSetBlock, kMacro, kBreak, kContinue };
  Kind kind;
  Pos pos;
  std::string text;                // kText; kSet/kSetBlock/kMacro: the name
  std::string attr;                // kSet: `ns.attr`
  std::vector<std::string> names;  // kFor targets; kMacro parameters
  std::vector<ExprP> exprs;        // kOutput; kIf conditions; kFor iterable and filter; kSet value; kMacro defaults
  std::vector<Body> bodies;        // kIf branches (+ else); kFor body and else; kSetBlock, kMacro body
};

const std::set<std::string> kFilters = {
    "trim", "length", "count", "tojson", "upper", "lower", "default", "d", "first", "last", "join", "replace",
    "string", "int", "float", "list", "capitalize", "title", "selectattr", "rejectattr", "select", "reject", "map",
    "safe", "items", "reverse", "abs", "unique"};
const std::set<std::string> kTests = {"defined", "undefined", "none", "string", "number", "integer", "float",
                                      "mapping", "iterable", "sequence", "true", "false", "boolean", "eq", "equalto",
                                      "==", "ne", "!=", "lt", "<", "le", "<=", "gt", ">", "ge", ">=", "in", "odd",
                                      "even", "divisibleby", "lower", "upper", "sameas"};

class Parser {
 public:
  Parser(std::vector<Part> parts, const std::map<std::string, JinjaFilter>& added)
      : parts_(std::move(parts)), added_(added) {}

  Body parse_template() {
    std::string end;
    Body b = parse_body({}, end, {});
    return b;
  }

 private:
  // ---- tokens of the current tag
  const Token& peek(size_t ahead = 0) const {
    const size_t k = std::min(ti_ + ahead, toks_->size() - 1);
    return (*toks_)[k];
  }
  const Token& next() {
    const Token& t = peek();
    if (ti_ < toks_->size() - 1) ++ti_;
    return t;
  }
  bool is_op(const char* op, size_t ahead = 0) const { return peek(ahead).kind == Tk::kOp && peek(ahead).text == op; }
  bool is_name(const char* n, size_t ahead = 0) const { return peek(ahead).kind == Tk::kName && peek(ahead).text == n; }
  bool accept_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool accept_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  [[noreturn]] void unexpected(const std::string& expected) const {
    const Token& t = peek();
    const std::string got = t.kind == Tk::kEnd ? "the end of the tag" : fmt::format("'{}'", t.text);
    fail_at(t.pos, fmt::format("expected {}, got {}", expected, got));
  }
  void expect_op(const char* op) {
    if (!accept_op(op)) unexpected(fmt::format("'{}'", op));
  }
  std::string expect_name() {
    if (peek().kind != Tk::kName) unexpected("a name");
    return next().text;
  }
  void expect_end() {
    if (peek().kind != Tk::kEnd) unexpected(fmt::format("'{}'", peek(toks_->size()).text));
  }

  static ExprP make(Expr::Kind k, Pos p) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->pos = p;
    return e;
  }

  // ---- expressions (Jinja's precedence)
  ExprP parse_expr(bool with_cond = true) {
    ExprP e = parse_or();
    if (with_cond && is_name("if")) {
      const Pos p = next().pos;
      auto c = make(Expr::kCond, p);
      c->args.push_back(std::move(e));
      c->args.push_back(parse_or());
      c->args.push_back(accept_name("else") ? parse_expr() : nullptr);
      return c;
    }
    return e;
  }
  ExprP parse_or() {
    ExprP e = parse_and();
    while (is_name("or")) {
      auto o = make(Expr::kOr, next().pos);
      o->args.push_back(std::move(e));
      o->args.push_back(parse_and());
      e = std::move(o);
    }
    return e;
  }
  ExprP parse_and() {
    ExprP e = parse_not();
    while (is_name("and")) {
      auto o = make(Expr::kAnd, next().pos);
      o->args.push_back(std::move(e));
      o->args.push_back(parse_not());
      e = std::move(o);
    }
    return e;
  }
  ExprP parse_not() {
    if (is_name("not")) {
      auto o = make(Expr::kNot, next().pos);
      o->args.push_back(parse_not());
      return o;
    }
    return parse_compare();
  }
  ExprP parse_compare() {
    ExprP e = parse_math1();
    ExprP cmp;
    while (true) {
      std::string op;
      const Token& t = peek();
      if (t.kind == Tk::kOp && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" ||
                                t.text == ">" || t.text == ">=")) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && is_name("in", 1)) {
        next(), next();
        op = "not in";
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(Expr::kCmp, t.pos);
        cmp->args.push_back(std::move(e));
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(e);
  }
  ExprP binary(ExprP l, const Token& op, ExprP r) {
    auto b = make(Expr::kBin, op.pos);
    b->name = op.text;
    b->args.push_back(std::move(l));
    b->args.push_back(std::move(r));
    return b;
  }
  ExprP parse_math1() {
    ExprP e = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token op = next();
      e = binary(std::move(e), op, parse_concat());
    }
    return e;
  }
  ExprP parse_concat() {
    ExprP e = parse_math2();
    while (is_op("~")) {
      const Token op = next();
      e = binary(std::move(e), op, parse_math2());
    }
    return e;
  }
  ExprP parse_math2() {
    ExprP e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token op = next();
      e = binary(std::move(e), op, parse_pow());
    }
    return e;
  }
  ExprP parse_pow() {
    ExprP e = parse_unary();
    while (is_op("**")) {
      const Token op = next();
      e = binary(std::move(e), op, parse_unary());
    }
    return e;
  }
  ExprP parse_unary(bool with_filter = true) {
    ExprP e;
    if (is_op("-")) {
      e = make(Expr::kNeg, next().pos);
      e->args.push_back(parse_unary(false));
    } else if (is_op("+")) {
      next();
      e = parse_unary(false);
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }
  ExprP parse_primary() {
    const Token& t = peek();
    switch (t.kind) {
      case Tk::kName: {
        next();
        auto e = make(Expr::kLit, t.pos);
        if (t.text == "true" || t.text == "True") e->lit = true;
        else if (t.text == "false" || t.text == "False") e->lit = false;
        else if (t.text == "none" || t.text == "None") e->lit = nullptr;
        else e->kind = Expr::kName, e->name = t.text;
        return e;
      }
      case Tk::kInt:
      case Tk::kFloat: {
        auto e = make(Expr::kLit, t.pos);
        e->lit = next().value;
        return e;
      }
      case Tk::kString: {
        auto e = make(Expr::kLit, t.pos);
        std::string s = next().text;
        while (peek().kind == Tk::kString) s += next().text;  // adjacent literals concatenate
        e->lit = s;
        return e;
      }
      case Tk::kOp:
        if (t.text == "(") {
          next();
          ExprP first = parse_expr();
          if (is_op(",")) {
            auto l = make(Expr::kList, t.pos);  // a tuple; behaves as a list here
            l->args.push_back(std::move(first));
            while (accept_op(",") && !is_op(")")) l->args.push_back(parse_expr());
            first = std::move(l);
          }
          expect_op(")");
          return first;
        }
        if (t.text == "[") {
          next();
          auto l = make(Expr::kList, t.pos);
          while (!is_op("]")) {
            l->args.push_back(parse_expr());
            if (!accept_op(",")) break;
          }
          expect_op("]");
          return l;
        }
        if (t.text == "{") {
          next();
          auto d = make(Expr::kDict, t.pos);
          while (!is_op("}")) {
            d->args.push_back(parse_expr());
            expect_op(":");
            d->args.push_back(parse_expr());
            if (!accept_op(",")) break;
          }
          expect_op("}");
          return d;
        }
        break;
      default: break;
    }
    unexpected("an expression");
  }
  void parse_call_args(Expr& call) {
    // after '('
    while (!is_op(")")) {
      if (is_op("*") || is_op("**")) fail_at(peek().pos, "unsupported: *args and **kwargs in calls");
      if (peek().kind == Tk::kName && is_op("=", 1)) {
        std::string k = next().text;
        next();
        call.kwargs.emplace_back(std::move(k), parse_expr());
      } else {
        if (!call.kwargs.empty()) fail_at(peek().pos, "positional argument after a keyword argument");
        call.args.push_back(parse_expr());
      }
      if (!accept_op(",")) break;
    }
    expect_op(")");
  }
  ExprP parse_postfix(ExprP e) {
    while (true) {
      if (is_op(".")) {
        const Pos p = next().pos;
        auto a = make(Expr::kAttr, p);
        if (peek().kind == Tk::kInt) {
          a->kind = Expr::kIndex;
          a->args.push_back(std::move(e));
          auto idx = make(Expr::kLit, peek().pos);
          idx->lit = next().value;
          a->args.push_back(std::move(idx));
        } else {
          a->name = expect_name();
          a->args.push_back(std::move(e));
        }
        e = std::move(a);
      } else if (is_op("[")) {
        const Pos p = next().pos;
        ExprP parts[3];
        int n = 0;
        bool slice = false;
        while (true) {
          if (!is_op(":") && !is_op("]")) parts[n] = parse_expr();
          if (is_op(":")) {
            slice = true;
            next();
            if (++n > 2) fail_at(peek().pos, "too many ':' in a slice");
            continue;
          }
          break;
        }
        expect_op("]");
        if (!slice) {
          if (!parts[0]) fail_at(p, "empty subscript");
          auto ix = make(Expr::kIndex, p);
          ix->args.push_back(std::move(e));
          ix->args.push_back(std::move(parts[0]));
          e = std::move(ix);
        } else {
          auto sl = make(Expr::kSlice, p);
          sl->args.push_back(std::move(e));
          for (auto& q : parts) sl->args.push_back(std::move(q));
          e = std::move(sl);
        }
      } else if (is_op("(")) {
        auto c = make(Expr::kCall, next().pos);
        c->args.push_back(std::move(e));
        parse_call_args(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }
  ExprP parse_filter_expr(ExprP e) {
    while (true) {
      if (is_op("|")) {
        next();
        const Token& nt = peek();
        auto f = make(Expr::kFilter, nt.pos);
        f->name = expect_name();
        if (!kFilters.count(f->name) && !added_.count(f->name))
          fail_at(nt.pos, fmt::format("unsupported filter '{}'", f->name));
        f->args.push_back(std::move(e));
        if (accept_op("(")) parse_call_args(*f);
        e = std::move(f);
      } else if (is_name("is")) {
        next();
        const bool neg = accept_name("not");
        const Token nt = peek();
        if (nt.kind != Tk::kName) unexpected("a test name");
        const std::string name = next().text;
        if (!kTests.count(name)) fail_at(nt.pos, fmt::format("unsupported test '{}'", name));
        auto t = make(Expr::kTest, nt.pos);
        t->name = name;
        t->negated = neg;
        t->args.push_back(std::move(e));
        if (accept_op("(")) {
          parse_call_args(*t);
        } else {
          // `x is divisibleby 3`: one argument without parentheses.
          const Token& a = peek();
          const bool arg = (a.kind == Tk::kString || a.kind == Tk::kInt || a.kind == Tk::kFloat ||
                            (a.kind == Tk::kOp && (a.text == "[" || a.text == "{")) ||
                            (a.kind == Tk::kName && a.text != "else" && a.text != "or" && a.text != "and" &&
                             a.text != "is" && a.text != "if" && a.text != "in" && a.text != "not"));
          if (arg) t->args.push_back(parse_postfix(parse_primary()));
        }
        e = std::move(t);
      } else if (is_op("(")) {
        auto c = make(Expr::kCall, next().pos);
        c->args.push_back(std::move(e));
        parse_call_args(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }

  // ---- statements
  // Parses nodes until a block tag named in `ends`; `end` gets its name and the tag's
  // tokens stay current (after the name) for the caller.
  Body parse_body(std::initializer_list<const char*> ends, std::string& end, Pos opened) {
    Body body;
    while (pi_ < parts_.size()) {
      Part& part = parts_[pi_++];
      if (part.kind == Part::kText) {
        Node n{Node::kText, part.pos, std::move(part.text), {}, {}, {}, {}};
        body.push_back(std::move(n));
        continue;
      }
      toks_ = &part.tokens;
      ti_ = 0;
      if (part.kind == Part::kVar) {
        Node n{Node::kOutput, part.pos, {}, {}, {}, {}, {}};
        n.exprs.push_back(parse_expr());
        expect_end();
        body.push_back(std::move(n));
        continue;
      }
      const Token& kw = peek();
      if (kw.kind != Tk::kName) unexpected("a statement name");
      const std::string name = next().text;
      for (const char* e : ends)
        if (name == e) {
          end = name;
          return body;
        }
      parse_statement(name, kw.pos, body);
    }
    if (ends.size() > 0) fail_at(opened, fmt::format("this tag is not closed (expected {{% {} %}})", *ends.begin()));
    return body;
  }

  void parse_statement(const std::string& name, Pos p, Body& body) {
    Node n{Node::kText, p, {}, {}, {}, {}, {}};
    std::string end;
    if (name == "if") {
      n.kind = Node::kIf;
      n.exprs.push_back(parse_expr());
      expect_end();
      while (true) {
        n.bodies.push_back(parse_body({"endif", "elif", "else"}, end, p));
        if (end == "elif") {
          n.exprs.push_back(parse_expr());
          expect_end();
        } else if (end == "else") {
          expect_end();
          n.bodies.push_back(parse_body({"endif"}, end, p));
          expect_end();
          break;
        } else {
          expect_end();
          break;
        }
      }
    } else if (name == "for") {
      n.kind = Node::kFor;
      n.names.push_back(expect_name());
      while (accept_op(",")) n.names.push_back(expect_name());
      if (!accept_name("in")) unexpected("'in'");
      n.exprs.push_back(parse_expr(false));
      n.exprs.push_back(accept_name("if") ? parse_expr(false) : nullptr);
      if (is_name("recursive")) fail_at(peek().pos, "unsupported: recursive loops");
      expect_end();
      ++loop_depth_;
      n.bodies.push_back(parse_body({"endfor", "else"}, end, p));
      --loop_depth_;
      expect_end();
      if (end == "else") {
        n.bodies.push_back(parse_body({"endfor"}, end, p));
        expect_end();
      }
    } else if (name == "set") {
      n.text = expect_name();
      if (accept_op(".")) n.attr = expect_name();
      if (is_op(",")) fail_at(peek().pos, "unsupported: assigning several names in one set");
      if (accept_op("=")) {
        n.kind = Node::kSet;
        n.exprs.push_back(parse_expr());
        expect_end();
      } else {
        if (!n.attr.empty()) unexpected("'='");
        expect_end();
        n.kind = Node::kSetBlock;
        n.bodies.push_back(parse_body({"endset"}, end, p));
        expect_end();
      }
    } else if (name == "macro") {
      n.kind = Node::kMacro;
      n.text = expect_name();
      expect_op("(");
      while (!is_op(")")) {
        n.names.push_back(expect_name());
        n.exprs.push_back(accept_op("=") ? parse_expr() : nullptr);
        if (!accept_op(",")) break;
      }
      expect_op(")");
      expect_end();
      const int saved = loop_depth_;
      loop_depth_ = 0;
      n.bodies.push_back(parse_body({"endmacro"}, end, p));
      loop_depth_ = saved;
      if (peek().kind == Tk::kName) next();  // {% endmacro name %}
      expect_end();
    } else if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) fail_at(p, fmt::format("'{}' outside a for loop", name));
      n.kind = name == "break" ? Node::kBreak : Node::kContinue;
      expect_end();
    } else if (name == "generation") {
      // transformers' assistant-mask marker: renders its body unchanged.
      expect_end();
      Body inner = parse_body({"endgeneration"}, end, p);
      expect_end();
      for (auto& x : inner) body.push_back(std::move(x));
      return;
    } else if (name == "endif" || name == "endfor" || name == "elif" || name == "else" || name == "endset" ||
               name == "endmacro" || name == "endgeneration") {
      fail_at(p, fmt::format("unexpected '{}' without its opening tag", name));
    } else {
      fail_at(p, fmt::format("unsupported tag '{}'", name));
    }
    body.push_back(std::move(n));
  }

  std::vector<Part> parts_;
  const std::map<std::string, JinjaFilter>& added_;
  size_t pi_ = 0;
  const std::vector<Token>* toks_ = nullptr;
  size_t ti_ = 0;
  int loop_depth_ = 0;
};

// ---------------------------------------------------------------- values

struct Value {
  enum Kind { kJson, kUndefined, kNamespace, kMacro };
  Kind kind = kJson;
  Json j;
  std::string hint;            // kUndefined: what was looked up, for messages
  const Node* macro = nullptr;

  static Value undefined(std::string hint) { return {kUndefined, Json(), std::move(hint), nullptr}; }
  static Value of(Json j) { return {kJson, std::move(j), {}, nullptr}; }
  bool is_undefined() const { return kind == kUndefined; }
};

const char* type_name(const Value& v) {
  switch (v.kind) {
    case Value::kUndefined: return "undefined";
    case Value::kNamespace: return "namespace";
    case Value::kMacro: return "macro";
    default: break;
  }
  switch (v.j.type()) {
    case Json::value_t::null: return "None";
    case Json::value_t::boolean: return "bool";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "int";
    case Json::value_t::number_float: return "float";
    case Json::value_t::string: return "str";
    case Json::value_t::array: return "list";
    case Json::value_t::object: return "dict";
    default: return "value";
  }
}

void py_str(const Json& j, std::string& out, bool repr) {
  switch (j.type()) {
    case Json::value_t::null: out += "None"; return;
    case Json::value_t::boolean: out += j.get<bool>() ? "True" : "False"; return;
    case Json::value_t::number_integer: out += std::to_string(j.get<int64_t>()); return;
    case Json::value_t::number_unsigned: out += std::to_string(j.get<uint64_t>()); return;
    case Json::value_t::number_float: out += py_float(j.get<double>()); return;
    case Json::value_t::string: out += repr ? py_repr_str(j.get_ref<const std::string&>()) : j.get<std::string>(); return;
    case Json::value_t::array: {
      out += '[';
      for (size_t i = 0; i < j.size(); ++i) {
        if (i) out += ", ";
        py_str(j[i], out, true);
      }
      out += ']';
      return;
    }
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, v] : j.items()) {
        if (!first) out += ", ";
        first = false;
        out += py_repr_str(k);
        out += ": ";
        py_str(v, out, true);
      }
      out += '}';
      return;
    }
    default: return;
  }
}

std::string to_str(const Value& v) {
  if (v.is_undefined()) return "";
  std::string s;
  if (v.kind == Value::kNamespace) {
    s = "<Namespace ";
    py_str(v.j, s, true);
    return s + ">";
  }
  py_str(v.j, s, false);
  return s;
}

bool truthy(const Value& v) {
  if (v.is_undefined()) return false;
  if (v.kind != Value::kJson) return true;
  const Json& j = v.j;
  switch (j.type()) {
    case Json::value_t::null: return false;
    case Json::value_t::boolean: return j.get<bool>();
    case Json::value_t::number_integer: return j.get<int64_t>() != 0;
    case Json::value_t::number_unsigned: return j.get<uint64_t>() != 0;
    case Json::value_t::number_float: return j.get<double>() != 0;
    case Json::value_t::string: return !j.get_ref<const std::string&>().empty();
    default: return !j.empty();
  }
}

bool is_num(const Json& j) { return j.is_number() || j.is_boolean(); }
bool is_int(const Json& j) { return j.is_number_integer() || j.is_boolean(); }
double as_double(const Json& j) { return j.is_boolean() ? (j.get<bool>() ? 1 : 0) : j.get<double>(); }
int64_t as_int(const Json& j) { return j.is_boolean() ? (j.get<bool>() ? 1 : 0) : j.get<int64_t>(); }

bool py_equal(const Value& a, const Value& b) {
  if (a.is_undefined() || b.is_undefined()) return a.is_undefined() && b.is_undefined();
  if (a.kind != Value::kJson || b.kind != Value::kJson) return a.kind == b.kind && a.j == b.j;
  if (is_num(a.j) && is_num(b.j)) {
    if (is_int(a.j) && is_int(b.j)) return as_int(a.j) == as_int(b.j);
    return as_double(a.j) == as_double(b.j);
  }
  return a.j == b.j;
}

// ---------------------------------------------------------------- evaluator

enum class Flow { kNormal, kBreak, kContinue };

struct Renderer {
  std::vector<std::unordered_map<std::string, Value>> frames;
  int macro_depth = 0;
  bool strict = false;  // StrictUndefined: printing or joining an undefined value is an error
  const std::map<std::string, JinjaFilter>* added = nullptr;  // JinjaOptions::filters

  [[noreturn]] static void err(const Expr& e, const std::string& what) { fail_at(e.pos, what); }

  Value lookup(const std::string& name) const {
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
      auto f = it->find(name);
      if (f != it->end()) return f->second;
    }
    return Value::undefined(fmt::format("'{}' is undefined", name));
  }
  Value* find_var(const std::string& name) {
    for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
      auto f = it->find(name);
      if (f != it->end()) return &f->second;
    }
    return nullptr;
  }

  static Json to_json(const Expr& e, const Value& v) {
    if (v.is_undefined()) err(e, fmt::format("{} (an undefined value cannot be stored or serialised)", v.hint));
    if (v.kind == Value::kMacro) err(e, "a macro cannot be stored or serialised");
    return v.j;
  }
  static void need_defined(const Expr& e, const Value& v) {
    if (v.is_undefined()) err(e, v.hint);
  }

  // The items a for loop or filter walks: list elements, dict keys, string characters.
  static std::vector<Json> iterate(const Expr& e, const Value& v) {
    std::vector<Json> out;
    if (v.is_undefined()) return out;
    if (v.kind != Value::kJson) err(e, fmt::format("'{}' object is not iterable", type_name(v)));
    const Json& j = v.j;
    if (j.is_array()) {
      for (const auto& x : j) out.push_back(x);
    } else if (j.is_object()) {
      for (const auto& [k, x] : j.items()) out.emplace_back(k);
    } else if (j.is_string()) {
      const std::string& s = j.get_ref<const std::string&>();
      const auto cp = code_points(s);
      for (size_t k = 0; k + 1 < cp.size(); ++k) out.emplace_back(s.substr(cp[k], cp[k + 1] - cp[k]));
    } else {
      err(e, fmt::format("'{}' object is not iterable", type_name(v)));
    }
    return out;
  }

  static int64_t length(const Expr& e, const Value& v) {
    if (v.is_undefined()) return 0;
    if (v.kind == Value::kJson && v.j.is_string()) return static_cast<int64_t>(code_points(v.j.get_ref<const std::string&>()).size() - 1);
    if (v.kind == Value::kJson && (v.j.is_array() || v.j.is_object())) return static_cast<int64_t>(v.j.size());
    err(e, fmt::format("object of type '{}' has no len()", type_name(v)));
  }

  // Jinja's getattr/getitem: a missing key or index gives Undefined; only Undefined itself refuses.
  static Value get_item(const Expr& e, const Value& obj, const Json& key, const std::string& shown) {
    need_defined(e, obj);
    auto missing = [&] { return Value::undefined(fmt::format("'{}' has no attribute or item {}", type_name(obj), shown)); };
    if (obj.kind == Value::kMacro) return missing();
    const Json& j = obj.j;
    if (j.is_object() && key.is_string()) {
      auto it = j.find(key.get<std::string>());
      return it == j.end() ? missing() : Value::of(*it);
    }
    if ((j.is_array() || j.is_string()) && is_int(key)) {
      int64_t i = as_int(key);
      if (j.is_array()) {
        const auto n = static_cast<int64_t>(j.size());
        if (i < 0) i += n;
        return i < 0 || i >= n ? missing() : Value::of(j[static_cast<size_t>(i)]);
      }
      const std::string& s = j.get_ref<const std::string&>();
      const auto cp = code_points(s);
      const auto n = static_cast<int64_t>(cp.size()) - 1;
      if (i < 0) i += n;
      if (i < 0 || i >= n) return missing();
      return Value::of(s.substr(cp[static_cast<size_t>(i)], cp[static_cast<size_t>(i) + 1] - cp[static_cast<size_t>(i)]));
    }
    return missing();
  }

  // Python's slice.indices: the positions a[start:stop:step] takes.
  std::vector<int64_t> slice_positions(const Expr& e, int64_t n) {
    auto opt = [&](size_t k) -> std::optional<int64_t> {
      if (!e.args[k]) return std::nullopt;
      Value v = eval(*e.args[k]);
      if (v.kind == Value::kJson && v.j.is_null()) return std::nullopt;
      if (v.kind != Value::kJson || !is_int(v.j)) err(*e.args[k], "slice indices must be integers or None");
      return as_int(v.j);
    };
    const auto a = opt(1), b = opt(2), c = opt(3);
    const int64_t step = c.value_or(1);
    if (step == 0) err(e, "slice step cannot be zero");
    auto clamp = [&](std::optional<int64_t> x, int64_t def) {
      if (!x) return def;
      int64_t v = *x;
      if (v < 0) v += n;
      if (step > 0) return std::clamp<int64_t>(v, 0, n);
      return std::clamp<int64_t>(v, -1, n - 1);
    };
    const int64_t start = clamp(a, step > 0 ? 0 : n - 1), stop = clamp(b, step > 0 ? n : -1);
    std::vector<int64_t> out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(i);
    return out;
  }

  Value eval_slice(const Expr& e) {
    Value obj = eval(*e.args[0]);
    need_defined(e, obj);
    if (obj.kind == Value::kJson && obj.j.is_array()) {
      Json r = Json::array();
      for (int64_t i : slice_positions(e, static_cast<int64_t>(obj.j.size()))) r.push_back(obj.j[static_cast<size_t>(i)]);
      return Value::of(std::move(r));
    }
    if (obj.kind == Value::kJson && obj.j.is_string()) {
      const std::string& s = obj.j.get_ref<const std::string&>();
      const auto cp = code_points(s);
      std::string r;
      for (int64_t i : slice_positions(e, static_cast<int64_t>(cp.size()) - 1))
        r += s.substr(cp[static_cast<size_t>(i)], cp[static_cast<size_t>(i) + 1] - cp[static_cast<size_t>(i)]);
      return Value::of(std::move(r));
    }
    err(e, fmt::format("'{}' object cannot be sliced", type_name(obj)));
  }

  Value arith(const Expr& e, const std::string& op, const Value& a, const Value& b) {
    if (op == "~") {
      if (strict && (a.is_undefined() || b.is_undefined())) err(e, a.is_undefined() ? a.hint : b.hint);
      return Value::of(to_str(a) + to_str(b));
    }
    need_defined(*e.args[0], a);
    need_defined(*e.args[1], b);
    const Json &x = a.j, &y = b.j;
    auto type_error = [&]() -> Value {
      err(e, fmt::format("unsupported operand types for {}: '{}' and '{}'", op, type_name(a), type_name(b)));
    };
    if (a.kind != Value::kJson || b.kind != Value::kJson) return type_error();
    if (op == "+") {
      if (x.is_string() && y.is_string()) return Value::of(x.get<std::string>() + y.get<std::string>());
      if (x.is_array() && y.is_array()) {
        Json r = x;
        for (const auto& v : y) r.push_back(v);
        return Value::of(std::move(r));
      }
    }
    if (op == "*" && (((x.is_string() || x.is_array()) && is_int(y)) || ((y.is_string() || y.is_array()) && is_int(x)))) {
      const Json& seq = x.is_string() || x.is_array() ? x : y;
      const int64_t n = x.is_string() || x.is_array() ? as_int(y) : as_int(x);
      if (n > 1000000) err(e, "repetition count too large");
      Json r = seq.is_string() ? Json("") : Json::array();
      for (int64_t k = 0; k < n; ++k) {
        if (seq.is_string()) r.get_ref<std::string&>() += seq.get_ref<const std::string&>();
        else for (const auto& v : seq) r.push_back(v);
      }
      return Value::of(std::move(r));
    }
    if (!is_num(x) || !is_num(y)) return type_error();
    const bool ints = is_int(x) && is_int(y);
    if (op == "/") {
      if (as_double(y) == 0) err(e, "division by zero");
      return Value::of(as_double(x) / as_double(y));
    }
    if (ints) {
      const int64_t p = as_int(x), q = as_int(y);
      if (op == "+") return Value::of(p + q);
      if (op == "-") return Value::of(p - q);
      if (op == "*") return Value::of(p * q);
      if (op == "//" || op == "%") {
        if (q == 0) err(e, "integer division or modulo by zero");
        int64_t d = p / q, m = p % q;
        if (m != 0 && ((m < 0) != (q < 0))) --d, m += q;
        return Value::of(op == "//" ? d : m);
      }
      if (op == "**") {
        if (q < 0) return Value::of(std::pow(static_cast<double>(p), static_cast<double>(q)));
        int64_t r = 1;
        for (int64_t k = 0; k < q; ++k) r *= p;
        return Value::of(r);
      }
    }
    const double p = as_double(x), q = as_double(y);
    if (op == "+") return Value::of(p + q);
    if (op == "-") return Value::of(p - q);
    if (op == "*") return Value::of(p * q);
    if (op == "**") return Value::of(std::pow(p, q));
    if (q == 0) err(e, "float division or modulo by zero");
    double d = std::floor(p / q);
    if (op == "//") return Value::of(d);
    double m = std::fmod(p, q);
    if (m != 0 && ((m < 0) != (q < 0))) m += q;
    return Value::of(m);
  }

  bool compare(const Expr& e, const std::string& op, const Value& a, const Value& b) {
    if (op == "==") return py_equal(a, b);
    if (op == "!=") return !py_equal(a, b);
    if (op == "in" || op == "not in") {
      bool found = false;
      if (b.kind == Value::kJson && b.j.is_string()) {
        if (a.kind != Value::kJson || !a.j.is_string())
          err(e, fmt::format("'in <string>' requires a string on the left, not '{}'", type_name(a)));
        found = b.j.get_ref<const std::string&>().find(a.j.get_ref<const std::string&>()) != std::string::npos;
      } else if (b.kind == Value::kJson && b.j.is_object()) {
        found = a.kind == Value::kJson && a.j.is_string() && b.j.contains(a.j.get<std::string>());
      } else {
        for (const auto& x : iterate(e, b))
          if (py_equal(a, Value::of(x))) found = true;
      }
      return op == "in" ? found : !found;
    }
    need_defined(e, a);
    need_defined(e, b);
    int c = 0;
    if (a.kind == Value::kJson && b.kind == Value::kJson && is_num(a.j) && is_num(b.j)) {
      const double p = as_double(a.j), q = as_double(b.j);
      c = p < q ? -1 : p > q ? 1 : 0;
    } else if (a.kind == Value::kJson && b.kind == Value::kJson && a.j.is_string() && b.j.is_string()) {
      const int r = a.j.get_ref<const std::string&>().compare(b.j.get_ref<const std::string&>());
      c = r < 0 ? -1 : r > 0 ? 1 : 0;
    } else if (a.kind == Value::kJson && b.kind == Value::kJson && a.j.is_array() && b.j.is_array()) {
      c = a.j < b.j ? -1 : b.j < a.j ? 1 : 0;
    } else {
      err(e, fmt::format("'{}' not supported between '{}' and '{}'", op, type_name(a), type_name(b)));
    }
    if (op == "<") return c < 0;
    if (op == "<=") return c <= 0;
    if (op == ">") return c > 0;
    return c >= 0;
  }

  // Positional and keyword arguments of a call, filter or test, bound to parameter names.
  struct Args {
    std::vector<Value> pos;
    std::vector<std::pair<std::string, Value>> kw;
  };
  Args eval_args(const Expr& e, size_t first) {
    Args a;
    for (size_t k = first; k < e.args.size(); ++k) a.pos.push_back(eval(*e.args[k]));
    for (const auto& [k, v] : e.kwargs) a.kw.emplace_back(k, eval(*v));
    return a;
  }
  // Binds `a` to `params`; missing optional ones stay nullopt.
  static std::vector<std::optional<Value>> bind(const Expr& e, const std::string& what, const Args& a,
                                               std::initializer_list<const char*> params, size_t required = 0) {
    std::vector<std::optional<Value>> out(params.size());
    if (a.pos.size() > params.size()) err(e, fmt::format("{} takes at most {} arguments", what, params.size()));
    for (size_t k = 0; k < a.pos.size(); ++k) out[k] = a.pos[k];
    for (const auto& [name, v] : a.kw) {
      size_t k = 0;
      for (const char* p : params) {
        if (name == p) break;
        ++k;
      }
      if (k == params.size()) err(e, fmt::format("{} got an unexpected keyword argument '{}'", what, name));
      out[k] = v;
    }
    for (size_t k = 0; k < required; ++k)
      if (!out[k]) err(e, fmt::format("{} is missing argument '{}'", what, *(params.begin() + k)));
    return out;
  }
  static const std::string& need_str(const Expr& e, const std::optional<Value>& v, const char* what) {
    if (!v || v->kind != Value::kJson || !v->j.is_string())
      err(e, fmt::format("{} expects a string, got '{}'", what, v ? type_name(*v) : "nothing"));
    return v->j.get_ref<const std::string&>();
  }
  static int64_t need_int(const Expr& e, const std::optional<Value>& v, const char* what) {
    if (!v || v->kind != Value::kJson || !is_int(v->j))
      err(e, fmt::format("{} expects an integer, got '{}'", what, v ? type_name(*v) : "nothing"));
    return as_int(v->j);
  }

  static Json split(const std::string& s, const std::optional<std::string>& sep, int64_t maxsplit) {
    Json r = Json::array();
    if (sep) {
      size_t b = 0;
      while (maxsplit != 0) {
        const size_t f = s.find(*sep, b);
        if (f == std::string::npos) break;
        r.push_back(s.substr(b, f - b));
        b = f + sep->size();
        --maxsplit;
      }
      r.push_back(s.substr(b));
      return r;
    }
    size_t i = 0;
    while (true) {
      while (i < s.size() && space_len(s, i)) i += space_len(s, i);
      if (i >= s.size()) break;
      if (maxsplit == 0) {
        r.push_back(py_strip(s.substr(i), std::nullopt, false, true));
        break;
      }
      size_t e = i;
      while (e < s.size() && !space_len(s, e)) ++e;
      r.push_back(s.substr(i, e - i));
      i = e;
      --maxsplit;
    }
    return r;
  }

  static std::string replace(const std::string& s, const std::string& old, const std::string& with, int64_t count) {
    std::string r;
    if (old.empty()) {
      // Python inserts `with` around every code point.
      const auto cp = code_points(s);
      for (size_t k = 0; k + 1 < cp.size(); ++k) {
        if (count != 0) r += with, --count;
        r += s.substr(cp[k], cp[k + 1] - cp[k]);
      }
      if (count != 0) r += with;
      return r;
    }
    size_t b = 0;
    while (count != 0) {
      const size_t f = s.find(old, b);
      if (f == std::string::npos) break;
      r += s.substr(b, f - b);
      r += with;
      b = f + old.size();
      --count;
    }
    return r + s.substr(b);
  }

  Value call_method(const Expr& e, const Value& obj, const std::string& m, const Args& a) {
    need_defined(*e.args[0], obj);
    const std::string what = fmt::format("{}.{}()", type_name(obj), m);
    if (obj.kind == Value::kJson && obj.j.is_string()) {
      const std::string& s = obj.j.get_ref<const std::string&>();
      if (m == "strip" || m == "lstrip" || m == "rstrip") {
        auto p = bind(e, what, a, {"chars"});
        std::optional<std::string> chars;
        if (p[0] && !(p[0]->kind == Value::kJson && p[0]->j.is_null())) chars = need_str(e, p[0], what.c_str());
        return Value::of(py_strip(s, chars, m != "rstrip", m != "lstrip"));
      }
      if (m == "split") {
        auto p = bind(e, what, a, {"sep", "maxsplit"});
        std::optional<std::string> sep;
        if (p[0] && !(p[0]->kind == Value::kJson && p[0]->j.is_null())) sep = need_str(e, p[0], what.c_str());
        if (sep && sep->empty()) err(e, "empty separator");
        return Value::of(split(s, sep, p[1] ? need_int(e, p[1], what.c_str()) : -1));
      }
      if (m == "startswith" || m == "endswith") {
        auto p = bind(e, what, a, {"prefix"}, 1);
        std::vector<std::string> alts;
        if (p[0]->kind == Value::kJson && p[0]->j.is_array()) {
          for (const auto& x : p[0]->j) {
            if (!x.is_string()) err(e, fmt::format("{} expects strings", what));
            alts.push_back(x.get<std::string>());
          }
        } else {
          alts.push_back(need_str(e, p[0], what.c_str()));
        }
        for (const auto& x : alts)
          if (m == "startswith" ? s.compare(0, x.size(), x) == 0
                                : (s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0))
            return Value::of(true);
        return Value::of(false);
      }
      if (m == "replace") {
        auto p = bind(e, what, a, {"old", "new", "count"}, 2);
        return Value::of(replace(s, need_str(e, p[0], what.c_str()), need_str(e, p[1], what.c_str()),
                                 p[2] ? need_int(e, p[2], what.c_str()) : -1));
      }
      if (m == "upper" || m == "lower" || m == "title" || m == "capitalize") {
        bind(e, what, a, {});
        if (m == "upper") return Value::of(ascii_map(s, [](int c) { return std::toupper(c); }));
        if (m == "lower") return Value::of(ascii_map(s, [](int c) { return std::tolower(c); }));
        return Value::of(m == "title" ? py_title(s) : py_capitalize(s));
      }
      if (m == "join") {
        auto p = bind(e, what, a, {"iterable"}, 1);
        std::string r;
        bool first = true;
        for (const auto& x : iterate(e, *p[0])) {
          if (!x.is_string()) err(e, fmt::format("{}: sequence item is '{}', not a string", what, type_name(Value::of(x))));
          if (!first) r += s;
          first = false;
          r += x.get<std::string>();
        }
        return Value::of(std::move(r));
      }
    } else if (obj.kind == Value::kJson && obj.j.is_object()) {
      const Json& d = obj.j;
      if (m == "items" || m == "keys" || m == "values") {
        bind(e, what, a, {});
        Json r = Json::array();
        for (const auto& [k, v] : d.items()) {
          if (m == "items") r.push_back(Json::array({k, v}));
          else if (m == "keys") r.push_back(k);
          else r.push_back(v);
        }
        return Value::of(std::move(r));
      }
      if (m == "get") {
        auto p = bind(e, what, a, {"key", "default"}, 1);
        if (p[0]->kind == Value::kJson && p[0]->j.is_string()) {
          auto it = d.find(p[0]->j.get<std::string>());
          if (it != d.end()) return Value::of(*it);
        }
        return p[1] ? *p[1] : Value::of(nullptr);
      }
    }
    err(e, fmt::format("unsupported method {}", what));
  }

  Value call_macro(const Expr& e, const Node& macro, const Args& a) {
    if (a.pos.size() > macro.names.size()) err(e, fmt::format("macro '{}' takes {} arguments", macro.text, macro.names.size()));
    std::unordered_map<std::string, Value> args;
    for (size_t k = 0; k < macro.names.size(); ++k) {
      if (k < a.pos.size()) args[macro.names[k]] = a.pos[k];
    }
    for (const auto& [name, v] : a.kw) {
      if (std::find(macro.names.begin(), macro.names.end(), name) == macro.names.end())
        err(e, fmt::format("macro '{}' has no argument '{}'", macro.text, name));
      args[name] = v;
    }
    // Runaway recursion must end in an error, not a stack overflow.
    if (macro_depth >= 64) err(e, fmt::format("macro '{}': calls nested deeper than 64", macro.text));
    // A macro sees the template's top-level names and its arguments, not the caller's locals.
    std::vector<std::unordered_map<std::string, Value>> saved;
    saved.swap(frames);
    frames.push_back(saved.front());
    for (size_t k = 0; k < macro.names.size(); ++k)
      if (!args.count(macro.names[k]))
        args[macro.names[k]] = macro.exprs[k] ? eval(*macro.exprs[k])
                                              : Value::undefined(fmt::format("'{}' is undefined", macro.names[k]));
    frames.push_back(std::move(args));
    std::string out;
    ++macro_depth;
    try {
      exec(macro.bodies[0], out);
    } catch (...) {
      --macro_depth;
      frames.swap(saved);
      throw;
    }
    --macro_depth;
    frames.swap(saved);
    return Value::of(std::move(out));
  }

  Value call(const Expr& e) {
    const Expr& callee = *e.args[0];
    if (callee.kind == Expr::kAttr) {
      Value obj = eval(*callee.args[0]);
      if (obj.kind == Value::kJson && (obj.j.is_string() || obj.j.is_object()))
        return call_method(e, obj, callee.name, eval_args(e, 1));
      need_defined(*callee.args[0], obj);
      err(e, fmt::format("unsupported method {}.{}()", type_name(obj), callee.name));
    }
    if (callee.kind != Expr::kName) err(e, "only named functions, macros and methods can be called");
    const std::string& name = callee.name;
    Value v = lookup(name);
    Args a = eval_args(e, 1);
    if (v.kind == Value::kMacro) return call_macro(e, *v.macro, a);
    if (!v.is_undefined()) err(e, fmt::format("'{}' object is not callable", type_name(v)));
    if (name == "raise_exception") {
      auto p = bind(e, name, a, {"message"}, 1);
      fail("raise_exception at line {}: {}", e.pos.line, to_str(*p[0]));
    }
    if (name == "range") {
      auto p = bind(e, name, a, {"start", "stop", "step"}, 1);
      int64_t start = 0, stop, step = 1;
      if (p[1]) start = need_int(e, p[0], "range"), stop = need_int(e, p[1], "range");
      else stop = need_int(e, p[0], "range");
      if (p[2]) step = need_int(e, p[2], "range");
      if (step == 0) err(e, "range() step must not be zero");
      Json r = Json::array();
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        if (r.size() >= 100000) err(e, "range() too long (over 100000 items)");
        r.push_back(i);
      }
      return Value::of(std::move(r));
    }
    if (name == "namespace" || name == "dict") {
      Json o = Json::object();
      if (a.pos.size() > 1) err(e, fmt::format("{}() takes at most one positional argument", name));
      if (!a.pos.empty()) {
        if (a.pos[0].kind != Value::kJson || !a.pos[0].j.is_object()) err(e, fmt::format("{}() expects a mapping", name));
        o = a.pos[0].j;
      }
      for (const auto& [k, x] : a.kw) o[k] = to_json(e, x);
      if (name == "dict") return Value::of(std::move(o));
      for (const auto& [k, x] : o.items())
        if (!k.empty() && k[0] == '_') err(e, fmt::format("namespace attributes cannot start with '_' ('{}')", k));
      return {Value::kNamespace, std::move(o), {}, nullptr};
    }
    if (name == "strftime_now") {
      auto p = bind(e, name, a, {"format"}, 1);
      const std::string& f = need_str(e, p[0], "strftime_now");
      const std::time_t t = std::time(nullptr);
      std::tm tm{};
      localtime_r(&t, &tm);
      char buf[512];
      const size_t n = std::strftime(buf, sizeof buf, f.c_str(), &tm);
      return Value::of(std::string(buf, n));
    }
    err(e, fmt::format("'{}' is undefined (not a variable, macro or supported function)", name));
  }

  bool test(const Expr& e, const Value& v, const Args& a) {
    const std::string& t = e.name;
    const Json& j = v.j;
    const bool js = v.kind == Value::kJson;
    if (t == "defined") return !v.is_undefined();
    if (t == "undefined") return v.is_undefined();
    if (t == "none") return js && j.is_null();
    if (t == "string") return js && j.is_string();
    if (t == "number") return js && is_num(j);
    if (t == "integer") return js && j.is_number_integer();
    if (t == "float") return js && j.is_number_float();
    if (t == "boolean") return js && j.is_boolean();
    if (t == "true") return js && j.is_boolean() && j.get<bool>();
    if (t == "false") return js && j.is_boolean() && !j.get<bool>();
    if (t == "mapping") return (js && j.is_object()) || v.kind == Value::kNamespace;
    if (t == "iterable") return v.is_undefined() || (js && (j.is_array() || j.is_object() || j.is_string()));
    if (t == "sequence") return v.is_undefined() || (js && (j.is_array() || j.is_object() || j.is_string()));
    if (t == "lower" || t == "upper") {
      if (!js || !j.is_string()) return false;
      const std::string& s = j.get_ref<const std::string&>();
      int (*f)(int) = t == "lower" ? +[](int c) { return std::tolower(c); } : +[](int c) { return std::toupper(c); };
      return s == ascii_map(s, f);
    }
    if (t == "odd" || t == "even") {
      need_defined(e, v);
      if (!js || !is_int(j)) err(e, fmt::format("test '{}' expects an integer", t));
      return (as_int(j) % 2 != 0) == (t == "odd");
    }
    auto p = bind(e, "test " + t, a, {"other"}, 1);
    const Value& o = *p[0];
    if (t == "divisibleby") {
      const int64_t d = need_int(e, p[0], "divisibleby");
      if (!js || !is_int(j)) err(e, "test 'divisibleby' expects an integer");
      if (d == 0) err(e, "divisibleby 0");
      return as_int(j) % d == 0;
    }
    if (t == "sameas") return py_equal(v, o) && (!js || j.type() == o.j.type());
    if (t == "in") return compare(e, "in", v, o);
    static const std::unordered_map<std::string, std::string> kOps = {
        {"eq", "=="}, {"equalto", "=="}, {"==", "=="}, {"ne", "!="}, {"!=", "!="}, {"lt", "<"}, {"<", "<"},
        {"le", "<="}, {"<=", "<="}, {"gt", ">"}, {">", ">"}, {"ge", ">="}, {">=", ">="}};
    return compare(e, kOps.at(t), v, o);
  }

  // map/select/selectattr: the attribute of each item (a dotted path), as Jinja's attrgetter.
  static Value attr_of(const Expr& e, const Json& item, const std::string& path) {
    Value v = Value::of(item);
    size_t b = 0;
    while (true) {
      const size_t d = path.find('.', b);
      const std::string part = path.substr(b, d == std::string::npos ? std::string::npos : d - b);
      const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
      v = get_item(e, v, digits ? Json(std::stoll(part)) : Json(part), "'" + part + "'");
      if (d == std::string::npos) return v;
      b = d + 1;
    }
  }

  Value filter(const Expr& e, const Value& v, const Args& a) {
    const std::string& f = e.name;
    const std::string what = "filter " + f;
    auto str_of = [&](const Value& x) -> std::string {
      need_defined(e, x);
      return to_str(x);
    };
    if (f == "safe") return v;
    if (f == "default" || f == "d") {
      auto p = bind(e, what, a, {"default_value", "boolean"});
      const bool boolean = p[1] && truthy(*p[1]);
      if (v.is_undefined() || (boolean && !truthy(v))) return p[0] ? *p[0] : Value::of("");
      return v;
    }
    if (f == "length" || f == "count") return Value::of(length(e, v));
    if (f == "tojson") {
      auto p = bind(e, what, a, {"ensure_ascii", "indent", "separators", "sort_keys"});
      if (p[0] && truthy(*p[0])) err(e, "tojson(ensure_ascii=True) is not supported");
      std::optional<std::string> indent;
      if (p[1] && !(p[1]->kind == Value::kJson && p[1]->j.is_null())) {
        if (p[1]->kind == Value::kJson && p[1]->j.is_string()) indent = p[1]->j.get<std::string>();
        else indent = std::string(static_cast<size_t>(std::max<int64_t>(0, need_int(e, p[1], "tojson indent"))), ' ');
      }
      std::string item_sep = indent ? "," : ", ", key_sep = ": ";
      if (p[2] && !(p[2]->kind == Value::kJson && p[2]->j.is_null())) {
        const Json& s = p[2]->j;
        if (!s.is_array() || s.size() != 2 || !s[0].is_string() || !s[1].is_string())
          err(e, "tojson separators must be a pair of strings");
        item_sep = s[0].get<std::string>(), key_sep = s[1].get<std::string>();
      }
      std::string out;
      dump_json(to_json(e, v), out, indent ? &*indent : nullptr, 0, item_sep, key_sep, p[3] && truthy(*p[3]));
      return Value::of(std::move(out));
    }
    if (f == "string") return Value::of(to_str(v));
    if (f == "upper" || f == "lower" || f == "capitalize" || f == "title") {
      bind(e, what, a, {});
      const std::string s = str_of(v);
      if (f == "upper") return Value::of(ascii_map(s, [](int c) { return std::toupper(c); }));
      if (f == "lower") return Value::of(ascii_map(s, [](int c) { return std::tolower(c); }));
      return Value::of(f == "title" ? py_title(s) : py_capitalize(s));
    }
    if (f == "trim") {
      auto p = bind(e, what, a, {"chars"});
      std::optional<std::string> chars;
      if (p[0] && !(p[0]->kind == Value::kJson && p[0]->j.is_null())) chars = need_str(e, p[0], "trim");
      return Value::of(py_strip(str_of(v), chars, true, true));
    }
    if (f == "replace") {
      auto p = bind(e, what, a, {"old", "new", "count"}, 2);
      return Value::of(replace(str_of(v), to_str(*p[0]), to_str(*p[1]), p[2] ? need_int(e, p[2], "replace") : -1));
    }
    if (f == "first" || f == "last") {
      need_defined(e, v);
      auto items = iterate(e, v);
      if (items.empty()) return Value::undefined(fmt::format("{} of an empty sequence", f));
      return Value::of(f == "first" ? items.front() : items.back());
    }
    if (f == "reverse") {
      need_defined(e, v);
      if (v.kind == Value::kJson && v.j.is_string()) {
        auto items = iterate(e, v);
        std::string r;
        for (auto it = items.rbegin(); it != items.rend(); ++it) r += it->get<std::string>();
        return Value::of(std::move(r));
      }
      auto items = iterate(e, v);
      return Value::of(Json(std::vector<Json>(items.rbegin(), items.rend())));
    }
    if (f == "list") return Value::of(Json(iterate(e, v)));
    if (f == "unique") {
      Json r = Json::array();
      for (const auto& x : iterate(e, v))
        if (std::none_of(r.begin(), r.end(), [&](const Json& y) { return py_equal(Value::of(x), Value::of(y)); })) r.push_back(x);
      return Value::of(std::move(r));
    }
    if (f == "items") {
      need_defined(e, v);
      if (v.kind != Value::kJson || !v.j.is_object()) err(e, "filter items expects a mapping");
      Json r = Json::array();
      for (const auto& [k, x] : v.j.items()) r.push_back(Json::array({k, x}));
      return Value::of(std::move(r));
    }
    if (f == "join") {
      auto p = bind(e, what, a, {"d", "attribute"});
      const std::string sep = p[0] ? to_str(*p[0]) : "";
      std::string r;
      bool first = true;
      for (const auto& x : iterate(e, v)) {
        if (!first) r += sep;
        first = false;
        r += p[1] ? to_str(attr_of(e, x, to_str(*p[1]))) : to_str(Value::of(x));
      }
      return Value::of(std::move(r));
    }
    if (f == "int" || f == "float") {
      auto p = bind(e, what, a, {"default", "base"});
      const Json def = p[0] ? to_json(e, *p[0]) : (f == "int" ? Json(0) : Json(0.0));
      if (v.kind != Value::kJson) return Value::of(def);
      const Json& j = v.j;
      double d;
      if (is_num(j)) {
        d = as_double(j);
        if (f == "int" && is_int(j)) return Value::of(as_int(j));
      } else if (j.is_string()) {
        const std::string s = py_strip(j.get<std::string>(), std::nullopt, true, true);
        size_t used = 0;
        try {
          d = std::stod(s, &used);
        } catch (const std::exception&) {
          return Value::of(def);
        }
        if (used != s.size()) return Value::of(def);
      } else {
        return Value::of(def);
      }
      if (f == "float") return Value::of(d);
      if (!std::isfinite(d)) return Value::of(def);
      return Value::of(static_cast<int64_t>(std::trunc(d)));
    }
    if (f == "abs") {
      need_defined(e, v);
      if (v.kind != Value::kJson || !is_num(v.j)) err(e, "filter abs expects a number");
      return is_int(v.j) ? Value::of(std::llabs(as_int(v.j))) : Value::of(std::fabs(as_double(v.j)));
    }
    if (f == "map") {
      Json r = Json::array();
      auto items = iterate(e, v);
      if (a.pos.empty()) {
        auto p = bind(e, what, a, {"attribute", "default"}, 1);
        const std::string path = to_str(*p[0]);
        for (const auto& x : items) {
          Value got = attr_of(e, x, path);
          if (got.is_undefined() && p[1]) got = *p[1];
          r.push_back(to_json(e, got));
        }
        return Value::of(std::move(r));
      }
      // map('filter', args…)
      Expr sub;
      sub.kind = Expr::kFilter;
      sub.pos = e.pos;
      sub.name = to_str(a.pos[0]);
      if ((!kFilters.count(sub.name) && !added->count(sub.name)) || sub.name == "map")
        err(e, fmt::format("map: unsupported filter '{}'", sub.name));
      Args rest{{a.pos.begin() + 1, a.pos.end()}, a.kw};
      for (const auto& x : items) r.push_back(to_json(e, filter(sub, Value::of(x), rest)));
      return Value::of(std::move(r));
    }
    if (f == "select" || f == "reject" || f == "selectattr" || f == "rejectattr") {
      const bool by_attr = f == "selectattr" || f == "rejectattr";
      const bool keep = f == "select" || f == "selectattr";
      size_t k = 0;
      std::string path;
      if (by_attr) {
        if (a.pos.empty()) err(e, fmt::format("{} needs an attribute name", what));
        path = to_str(a.pos[k++]);
      }
      std::optional<Expr> sub;
      Args rest;
      if (k < a.pos.size()) {
        sub.emplace();
        sub->kind = Expr::kTest;
        sub->pos = e.pos;
        sub->name = to_str(a.pos[k++]);
        if (!kTests.count(sub->name)) err(e, fmt::format("{}: unsupported test '{}'", what, sub->name));
        rest.pos.assign(a.pos.begin() + static_cast<std::ptrdiff_t>(k), a.pos.end());
        rest.kw = a.kw;
      }
      Json r = Json::array();
      for (const auto& x : iterate(e, v)) {
        const Value subject = by_attr ? attr_of(e, x, path) : Value::of(x);
        const bool ok = sub ? test(*sub, subject, rest) : truthy(subject);
        if (ok == keep) r.push_back(x);
      }
      return Value::of(std::move(r));
    }
    if (auto it = added->find(f); it != added->end()) {
      if (!a.kw.empty()) err(e, fmt::format("{} takes no keyword arguments", what));
      std::vector<Json> args;
      for (const auto& x : a.pos) args.push_back(to_json(e, x));
      try {
        return Value::of(it->second(to_json(e, v), args));
      } catch (const Error& x) {
        err(e, fmt::format("{}: {}", what, x.what()));
      }
    }
    err(e, fmt::format("unsupported filter '{}'", f));
  }

  Value eval(const Expr& e) {
    switch (e.kind) {
      case Expr::kLit: return Value::of(e.lit);
      case Expr::kName: return lookup(e.name);
      case Expr::kList: {
        Json r = Json::array();
        for (const auto& x : e.args) r.push_back(to_json(*x, eval(*x)));
        return Value::of(std::move(r));
      }
      case Expr::kDict: {
        Json r = Json::object();
        for (size_t k = 0; k < e.args.size(); k += 2) {
          Value key = eval(*e.args[k]);
          if (key.kind != Value::kJson || !key.j.is_string()) err(*e.args[k], "dictionary keys must be strings here");
          r[key.j.get<std::string>()] = to_json(*e.args[k + 1], eval(*e.args[k + 1]));
        }
        return Value::of(std::move(r));
      }
      case Expr::kAttr: {
        Value obj = eval(*e.args[0]);
        if (obj.kind == Value::kUndefined) err(e, obj.hint);
        return get_item(e, obj, Json(e.name), "'" + e.name + "'");
      }
      case Expr::kIndex: {
        Value obj = eval(*e.args[0]);
        Value key = eval(*e.args[1]);
        if (obj.is_undefined()) err(e, obj.hint);
        return get_item(e, obj, to_json(*e.args[1], key), to_str(key));
      }
      case Expr::kSlice: return eval_slice(e);
      case Expr::kCall: return call(e);
      case Expr::kFilter: {
        Value v = eval(*e.args[0]);
        return filter(e, v, eval_args(e, 1));
      }
      case Expr::kTest: {
        Value v = eval(*e.args[0]);
        const bool r = test(e, v, eval_args(e, 1));
        return Value::of(r != e.negated);
      }
      case Expr::kNeg: {
        Value v = eval(*e.args[0]);
        need_defined(e, v);
        if (v.kind != Value::kJson || !is_num(v.j)) err(e, fmt::format("bad operand type for unary -: '{}'", type_name(v)));
        return is_int(v.j) ? Value::of(-as_int(v.j)) : Value::of(-as_double(v.j));
      }
      case Expr::kBin: return arith(e, e.name, eval(*e.args[0]), eval(*e.args[1]));
      case Expr::kNot: return Value::of(!truthy(eval(*e.args[0])));
      case Expr::kAnd: {
        Value a = eval(*e.args[0]);
        return truthy(a) ? eval(*e.args[1]) : a;
      }
      case Expr::kOr: {
        Value a = eval(*e.args[0]);
        return truthy(a) ? a : eval(*e.args[1]);
      }
      case Expr::kCond:
        if (truthy(eval(*e.args[1]))) return eval(*e.args[0]);
        return e.args[2] ? eval(*e.args[2]) : Value::undefined("the conditional expression had no else branch");
      case Expr::kCmp: {
        Value left = eval(*e.args[0]);
        for (size_t k = 0; k < e.ops.size(); ++k) {
          Value right = eval(*e.args[k + 1]);
          if (!compare(e, e.ops[k], left, right)) return Value::of(false);
          left = std::move(right);
        }
        return Value::of(true);
      }
    }
    err(e, "internal: unknown expression");
  }

  Flow exec(const Body& body, std::string& out) {
    for (const Node& n : body) {
      switch (n.kind) {
        case Node::kText: out += n.text; break;
        case Node::kOutput: {
          const Value v = eval(*n.exprs[0]);
          if (strict && v.is_undefined()) err(*n.exprs[0], v.hint);
          out += to_str(v);
          break;
        }
        case Node::kIf: {
          size_t k = 0;
          for (; k < n.exprs.size(); ++k)
            if (truthy(eval(*n.exprs[k]))) break;
          if (k < n.bodies.size()) {
            const Flow f = exec(n.bodies[k], out);
            if (f != Flow::kNormal) return f;
          }
          break;
        }
        case Node::kFor: exec_for(n, out); break;
        case Node::kSet:
          if (n.attr.empty()) {
            frames.back()[n.text] = eval(*n.exprs[0]);
          } else {
            Value* ns = find_var(n.text);
            if (!ns || ns->kind != Value::kNamespace)
              fail_at(n.pos, fmt::format("'{}' is not a namespace; only namespace() objects take attribute assignment", n.text));
            if (!n.attr.empty() && n.attr[0] == '_') fail_at(n.pos, "namespace attributes cannot start with '_'");
            Value v = eval(*n.exprs[0]);
            ns->j[n.attr] = to_json(*n.exprs[0], v);
          }
          break;
        case Node::kSetBlock: {
          std::string s;
          exec(n.bodies[0], s);
          frames.back()[n.text] = Value::of(std::move(s));
          break;
        }
        case Node::kMacro: frames.back()[n.text] = {Value::kMacro, Json(), {}, &n}; break;
        case Node::kBreak: return Flow::kBreak;
        case Node::kContinue: return Flow::kContinue;
      }
    }
    return Flow::kNormal;
  }

  void exec_for(const Node& n, std::string& out) {
    const Expr& iter_e = *n.exprs[0];
    Value seq = eval(iter_e);
    if (seq.kind == Value::kJson && seq.j.is_null()) err(iter_e, "'NoneType' object is not iterable");
    std::vector<Json> items = iterate(iter_e, seq);
    frames.emplace_back();
    auto bind_targets = [&](const Json& item) {
      auto& f = frames.back();
      if (n.names.size() == 1) {
        f[n.names[0]] = Value::of(item);
        return;
      }
      if (!item.is_array() || item.size() != n.names.size())
        err(iter_e, fmt::format("cannot unpack a '{}' into {} names", type_name(Value::of(item)), n.names.size()));
      for (size_t k = 0; k < n.names.size(); ++k) f[n.names[k]] = Value::of(item[k]);
    };
    if (n.exprs[1]) {
      std::vector<Json> kept;
      for (const auto& item : items) {
        bind_targets(item);
        if (truthy(eval(*n.exprs[1]))) kept.push_back(item);
      }
      items.swap(kept);
      frames.back().clear();
    }
    const auto len = static_cast<int64_t>(items.size());
    try {
      for (int64_t i = 0; i < len; ++i) {
        frames.back().clear();
        bind_targets(items[static_cast<size_t>(i)]);
        Json loop = {{"index", i + 1},        {"index0", i},        {"revindex", len - i}, {"revindex0", len - i - 1},
                     {"first", i == 0},       {"last", i == len - 1}, {"length", len}};
        if (i > 0) loop["previtem"] = items[static_cast<size_t>(i - 1)];
        if (i + 1 < len) loop["nextitem"] = items[static_cast<size_t>(i + 1)];
        frames.back()["loop"] = Value::of(std::move(loop));
        if (exec(n.bodies[0], out) == Flow::kBreak) break;
      }
      if (len == 0 && n.bodies.size() > 1) {
        frames.back().clear();
        exec(n.bodies[1], out);
      }
    } catch (...) {
      frames.pop_back();
      throw;
    }
    frames.pop_back();
  }
};

}  // namespace

struct JinjaTemplate::Impl {
  std::string source;
  JinjaOptions opt;
  Body body;
};

JinjaTemplate::JinjaTemplate(std::string source, JinjaOptions opt) {
  auto impl = std::make_shared<Impl>();
  impl->source = std::move(source);
  for (const auto& [name, f] : opt.filters)
    if (kFilters.count(name) || !f) fail("filter '{}': a built-in filter's name, or no function", name);
  impl->opt = std::move(opt);
  Lexer lexer(impl->source, impl->opt);
  impl->body = Parser(lexer.run(), impl->opt.filters).parse_template();
  impl_ = std::move(impl);
}

std::string JinjaTemplate::render(const nlohmann::ordered_json& variables) const {
  if (!variables.is_object()) fail("the template variables must be a JSON object");
  Renderer r;
  r.strict = impl_->opt.strict_undefined;
  r.added = &impl_->opt.filters;
  r.frames.emplace_back();
  for (const auto& [k, v] : variables.items()) r.frames.back()[k] = Value::of(v);
  std::string out;
  r.exec(impl_->body, out);
  return out;
}

const std::string& JinjaTemplate::source() const { return impl_->source; }

}  // namespace kormo::tok
