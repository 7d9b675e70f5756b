#include "kormo/data/pii.h"

#include <cctype>
#include <vector>

namespace kormo::data {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
bool email_local(char c) { return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'; }
bool email_domain(char c) { return is_alnum(c) || c == '.' || c == '-'; }

// An e-mail around the '@' at `at`: returns [b, e) or b == e when none.
std::pair<size_t, size_t> email_at(std::string_view s, size_t at) {
  size_t b = at;
  while (b > 0 && email_local(s[b - 1])) --b;
  while (b < at && s[b] == '.') ++b;
  size_t e = at + 1;
  while (e < s.size() && email_domain(s[e])) ++e;
  while (e > at + 1 && (s[e - 1] == '.' || s[e - 1] == '-')) --e;
  if (b == at || e <= at + 1) return {0, 0};
  std::string_view domain = s.substr(at + 1, e - at - 1);
  size_t dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {0, 0};
  std::string_view tld = domain.substr(dot + 1);
  if (tld.size() < 2) return {0, 0};
  for (char c : tld)
    if (!std::isalpha(static_cast<unsigned char>(c))) return {0, 0};
  return {b, e};
}

// IPv4 starting at b: returns end or b.
size_t ipv4_at(std::string_view s, size_t b) {
  size_t p = b;
  for (int part = 0; part < 4; ++part) {
    size_t d = p;
    int v = 0;
    while (p < s.size() && is_digit(s[p]) && p - d < 3) v = v * 10 + (s[p++] - '0');
    if (p == d || v > 255 || (p < s.size() && is_digit(s[p]))) return b;
    if (part < 3) {
      if (p >= s.size() || s[p] != '.') return b;
      ++p;
    }
  }
  // "1.2.3.4.5" is a version or section number, not an address.
  if (p < s.size() && (s[p] == '.' && p + 1 < s.size() && is_digit(s[p + 1]))) return b;
  return p;
}

// IPv6 starting at b: hex groups of <= 4 separated by ':' with "::" or 7 colons.
size_t ipv6_at(std::string_view s, size_t b) {
  size_t p = b, colons = 0, group = 0, hexdigits = 0;
  bool dbl = false;
  while (p < s.size() && (is_hex(s[p]) || s[p] == ':')) {
    if (s[p] == ':') {
      if (p + 1 < s.size() && s[p + 1] == ':') {
        if (dbl) break;
        dbl = true;
        colons += 2;
        p += 2;
      } else {
        ++colons;
        ++p;
      }
      group = 0;
    } else {
      if (++group > 4) return b;
      ++hexdigits;
      ++p;
    }
  }
  if (p < s.size() && (is_alnum(s[p]) || s[p] == '_')) return b;
  while (p > b && s[p - 1] == ':' && !(p >= b + 2 && s[p - 2] == ':')) --p, --colons;
  if (colons > 7 || hexdigits < 2) return b;
  if (!(dbl && colons >= 2) && colons != 7) return b;
  return p;
}

bool valid_rrn(std::string_view d6, char gender) {
  int mm = (d6[2] - '0') * 10 + (d6[3] - '0'), dd = (d6[4] - '0') * 10 + (d6[5] - '0');
  return mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31 && gender >= '1' && gender <= '8';
}

// Classifies a span of digit groups. Returns the placeholder or "".
const char* classify_number(std::string_view span, const std::vector<std::string_view>& groups, bool plus) {
  std::string digits;
  for (auto g : groups) digits += g;
  if (!plus && groups.size() == 2 && groups[0].size() == 6 && groups[1].size() == 7 &&
      span.find('-') != std::string_view::npos && valid_rrn(groups[0], groups[1][0]))
    return "<RRN>";
  bool card_groups = groups.size() == 1;
  if (groups.size() >= 3 && groups.size() <= 5) {
    card_groups = true;
    for (auto g : groups) card_groups = card_groups && g.size() >= 4 && g.size() <= 6;
  }
  if (!plus && card_groups && digits.size() >= 13 && digits.size() <= 19 && luhn_valid(digits)) return "<CARD>";
  if (plus) {
    if (digits.size() >= 8 && digits.size() <= 15 && groups.size() >= 2) return "<PHONE>";
    return "";
  }
  // Korean numbers: mobile 01X-XXXX-XXXX (10-11 digits), area codes 0XX.
  if (digits[0] == '0' && digits.size() >= 9 && digits.size() <= 11) {
    if (groups.size() == 3 && groups[0].size() >= 2 && groups[0].size() <= 3 && groups[1].size() >= 3 &&
        groups[1].size() <= 4 && groups[2].size() == 4)
      return "<PHONE>";
    if (groups.size() == 1 && digits.size() >= 10 && digits[1] == '1') return "<PHONE>";
  }
  return "";
}

}  // namespace

bool luhn_valid(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return !digits.empty() && sum % 10 == 0;
}

std::string mask_pii(std::string_view s, PiiCounts& counts) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  // Fast path: text without '@', digits or ':' has nothing to mask.
  bool any = false;
  for (char c : s)
    if (c == '@' || is_digit(c) || c == ':') {
      any = true;
      break;
    }
  if (!any) return std::string(s);
  // E-mails first (they may contain digits); collected as ranges.
  std::vector<std::pair<size_t, size_t>> emails;
  for (size_t at = s.find('@'); at != std::string_view::npos; at = s.find('@', at + 1)) {
    auto [b, e] = email_at(s, at);
    if (b != e && (emails.empty() || b >= emails.back().second)) emails.push_back({b, e});
  }
  size_t next_email = 0;
  while (i < s.size()) {
    if (next_email < emails.size() && i == emails[next_email].first) {
      out += "<EMAIL>";
      ++counts.email;
      i = emails[next_email++].second;
      continue;
    }
    char c = s[i];
    bool boundary = i == 0 || !(is_alnum(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == ':' || s[i - 1] == '_');
    if (boundary && (is_hex(c) || c == ':')) {
      size_t e6 = ipv6_at(s, i);
      if (e6 > i) {
        out += "<IP>";
        ++counts.ip;
        i = e6;
        continue;
      }
    }
    if (boundary && is_digit(c)) {
      size_t e4 = ipv4_at(s, i);
      if (e4 > i) {
        out += "<IP>";
        ++counts.ip;
        i = e4;
        continue;
      }
    }
    if (boundary && (is_digit(c) || (c == '+' && i + 1 < s.size() && is_digit(s[i + 1])) ||
                     (c == '(' && i + 1 < s.size() && is_digit(s[i + 1])))) {
      // A number span: digit groups joined by single '-', ' ', '.', or ')'.
      bool plus = c == '+';
      size_t p = (c == '+' || c == '(') ? i + 1 : i;
      std::vector<std::string_view> groups;
      size_t end = i;
      while (p < s.size() && is_digit(s[p])) {
        size_t g = p;
        while (p < s.size() && is_digit(s[p])) ++p;
        groups.push_back(s.substr(g, p - g));
        end = p;
        // Separators: one or two of "-", " ", ".", "(", ")" ("010-", ") ", " (").
        auto sep = [](char ch) { return ch == '-' || ch == ' ' || ch == '.' || ch == '(' || ch == ')'; };
        if (p + 1 < s.size() && sep(s[p]) && is_digit(s[p + 1])) {
          ++p;
        } else if (p + 2 < s.size() && sep(s[p]) && sep(s[p + 1]) && s[p] != s[p + 1] && is_digit(s[p + 2])) {
          p += 2;
        } else {
          break;
        }
      }
      bool clean_end = end >= s.size() || !(is_alnum(s[end]) || s[end] == '_');
      // Drop trailing groups that make the span too long for any class, one at
      // a time, so "call 010-1234-5678 2024" still masks the phone number.
      while (clean_end && !groups.empty()) {
        std::string_view span = s.substr(i, end - i);
        const char* tag = classify_number(span, groups, plus);
        if (*tag) {
          out += tag;
          if (tag[1] == 'R') ++counts.rrn;
          else if (tag[1] == 'C') ++counts.card;
          else ++counts.phone;
          i = end;
          goto next;
        }
        if (groups.size() == 1) break;
        groups.pop_back();
        end = static_cast<size_t>(groups.back().data() + groups.back().size() - s.data());
      }
      // Not PII: copy the whole digit run so its tail is not re-scanned as a new number.
      size_t q = i;
      if (s[q] == '+' || s[q] == '(') out += s[q++];
      while (q < s.size() && is_digit(s[q])) out += s[q++];
      i = q;
      continue;
    }
    out += c;
    ++i;
  next:;
  }
  return out;
}

}  // namespace kormo::data
