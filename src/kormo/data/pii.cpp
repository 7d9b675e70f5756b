#include "kormo/data/pii.h"

#include <cctype>
#include <vector>

#include "kormo/text/utf8.h"

namespace kormo::data {
namespace {

// ASCII only: bytes of UTF-8 sequences (Hangul) are never part of a token,
// whatever the process locale.
bool is_ascii(char c) { return static_cast<unsigned char>(c) < 0x80; }
bool is_alnum(char c) { return is_ascii(c) && std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_hex(char c) { return is_ascii(c) && std::isxdigit(static_cast<unsigned char>(c)) != 0; }
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
    while (p < s.size() && text::is_ascii_digit(s[p]) && p - d < 3) v = v * 10 + (s[p++] - '0');
    if (p == d || v > 255 || (p < s.size() && text::is_ascii_digit(s[p]))) return b;
    if (part < 3) {
      if (p >= s.size() || s[p] != '.') return b;
      ++p;
    }
  }
  // "1.2.3.4.5" is a version or section number, not an address.
  if (p < s.size() && (s[p] == '.' && p + 1 < s.size() && text::is_ascii_digit(s[p + 1]))) return b;
  return p;
}

// IPv6 starting at b: hex groups of <= 4 separated by ':' with "::" or 7 colons.
size_t ipv6_at(std::string_view s, size_t b) {
  if (s[b] == ':' && (b + 1 >= s.size() || s[b + 1] != ':')) return b;  // "주소:fe80::1": ':' is the label's
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

// Month/day of a YYMMDD prefix (any year: Feb 29 allowed) and a gender/century digit 1-8.
bool valid_rrn(std::string_view d6, char gender) {
  static constexpr int kDays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int mm = (d6[2] - '0') * 10 + (d6[3] - '0'), dd = (d6[4] - '0') * 10 + (d6[5] - '0');
  return mm >= 1 && mm <= 12 && dd >= 1 && dd <= kDays[mm - 1] && gender >= '1' && gender <= '8';
}

// The RRN check digit (weights 2..9,2..5, mod 11). Numbers issued since
// October 2020 have no check digit, so it is only demanded where the hyphen,
// the RRN's visible mark, is missing (see mask_pii's header comment).
bool rrn_check_digit(std::string_view d13) {
  static constexpr int kW[12] = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
  int sum = 0;
  for (int k = 0; k < 12; ++k) sum += (d13[k] - '0') * kW[k];
  return (11 - sum % 11) % 10 == d13[12] - '0';
}

// National Tax Service check digit of a 10-digit business registration number.
bool brn_check_digit(std::string_view d10) {
  static constexpr int kW[9] = {1, 3, 7, 1, 3, 7, 1, 3, 5};
  int sum = 0;
  for (int k = 0; k < 9; ++k) sum += (d10[k] - '0') * kW[k];
  sum += (d10[8] - '0') * 5 / 10;
  return (10 - sum % 10) % 10 == d10[9] - '0';
}

// ISBN-13 (978/979 prefix, weights 1,3): a book number, never a card or account.
bool isbn13(std::string_view d) {
  if (d.size() != 13 || !(d.starts_with("978") || d.starts_with("979"))) return false;
  int sum = 0;
  for (size_t k = 0; k < 13; ++k) sum += (d[k] - '0') * (k % 2 ? 3 : 1);
  return sum % 10 == 0;
}

// Account layouts of the major Korean banks (digits per hyphen-separated
// group): masked without a nearby bank word.
bool known_account_layout(const std::vector<std::string_view>& groups) {
  static const std::vector<std::vector<size_t>> kLayouts = {
      {3, 2, 6}, {3, 3, 6}, {3, 6, 5}, {4, 3, 6}, {6, 2, 6}, {4, 2, 7}, {3, 4, 4, 2}, {3, 6, 2, 3}};
  for (const auto& l : kLayouts) {
    if (l.size() != groups.size()) continue;
    bool same = true;
    for (size_t k = 0; k < l.size(); ++k) same = same && groups[k].size() == l[k];
    if (same) return true;
  }
  return false;
}

// Bank context: a bank or transfer word in the kBankWindow bytes before a number.
constexpr size_t kBankWindow = 30;  // about ten Hangul syllables
bool bank_context(std::string_view s, size_t i) {
  static constexpr std::string_view kWords[] = {
      "계좌", "은행", "입금", "송금", "예금주", "뱅크", "농협", "국민", "신한", "우리", "하나", "기업",
      "우체국", "새마을", "신협", "수협", "씨티", "카카오", "토스", "account", "Account", "bank", "Bank"};
  size_t from = i > kBankWindow ? i - kBankWindow : 0;
  std::string_view before = s.substr(from, i - from);
  for (auto w : kWords)
    if (before.find(w) != std::string_view::npos) return true;
  return false;
}

struct Kind {
  const char* tag;
  size_t PiiCounts::*count;
};
constexpr Kind kRrn{"<RRN>", &PiiCounts::rrn}, kBrn{"<BRN>", &PiiCounts::brn}, kCard{"<CARD>", &PiiCounts::card},
    kPhone{"<PHONE>", &PiiCounts::phone}, kAccount{"<ACCOUNT>", &PiiCounts::account};

// Classifies a span of digit groups (`seps`: the separator characters between
// them). Returns nullptr when it is no identifier.
const Kind* classify_number(const std::vector<std::string_view>& groups, std::string_view seps, bool plus,
                            bool bank) {
  std::string digits;
  for (auto g : groups) digits += g;
  if (plus) {
    if (digits.size() >= 8 && digits.size() <= 15 && groups.size() >= 2) return &kPhone;
    return nullptr;
  }
  bool hyphens = !seps.empty() && seps.find_first_not_of('-') == std::string_view::npos;
  bool spaces_only = seps.find_first_not_of(' ') == std::string_view::npos;
  bool has_hyphen = seps.find('-') != std::string_view::npos;
  if (groups.size() == 2 && groups[0].size() == 6 && groups[1].size() == 7 && has_hyphen &&
      seps.find_first_not_of(" -") == std::string_view::npos && valid_rrn(groups[0], groups[1][0]))
    return &kRrn;
  if (digits.size() == 13 && spaces_only && (groups.size() == 1 || groups[0].size() == 6) &&
      valid_rrn(digits, digits[6]) && rrn_check_digit(digits))
    return &kRrn;
  if (isbn13(digits)) return nullptr;
  if (hyphens && groups.size() == 3 && groups[0].size() == 3 && groups[1].size() == 2 && groups[2].size() == 5 &&
      brn_check_digit(digits))
    return &kBrn;
  bool card_groups = groups.size() == 1;
  if (groups.size() >= 3 && groups.size() <= 5) {
    card_groups = true;
    for (auto g : groups) card_groups = card_groups && g.size() >= 4 && g.size() <= 6;
  }
  if (card_groups && digits.size() >= 13 && digits.size() <= 19 && luhn_valid(digits)) return &kCard;
  // Korean numbers: mobile 01X-XXXX-XXXX (10-11 digits), area codes 0XX.
  if (digits[0] == '0' && digits.size() >= 9 && digits.size() <= 11) {
    if (groups.size() == 3 && groups[0].size() >= 2 && groups[0].size() <= 3 && groups[1].size() >= 3 &&
        groups[1].size() <= 4 && groups[2].size() == 4)
      return &kPhone;
    if (groups.size() == 1 && digits.size() >= 10 && digits[1] == '1') return &kPhone;
  }
  if (hyphens && groups.size() >= 3 && digits.size() >= 10 && digits.size() <= 14 &&
      (bank || known_account_layout(groups)))
    return &kAccount;
  return nullptr;
}

// Whether a scan may start at i: the previous byte does not continue a token.
// ASCII letters, digits, '_' and '.' do; ':' does only after a digit (inside
// "12:30" or an IPv6 group), so "연락처:010-…" and "Tel:010-…" start a number.
// Hangul and every other punctuation mark are boundaries.
bool starts_token(std::string_view s, size_t i) {
  if (i == 0) return true;
  char p = s[i - 1];
  if (is_alnum(p) || p == '_' || p == '.') return false;
  return p != ':' || i < 2 || !text::is_ascii_digit(s[i - 2]);
}

// Length of the separator between two digit groups at p (0: none): one of
// "- .()", two different ones ("010-", ") ", " ("), or a hyphen with spaces
// around it ("900101 - 1234567").
size_t separator_at(std::string_view s, size_t p) {
  auto sep = [](char ch) { return ch == '-' || ch == ' ' || ch == '.' || ch == '(' || ch == ')'; };
  auto digit_at = [&](size_t q) { return q < s.size() && text::is_ascii_digit(s[q]); };
  if (p >= s.size() || !sep(s[p])) return 0;
  if (digit_at(p + 1)) return 1;
  if (p + 1 < s.size() && sep(s[p + 1]) && s[p] != s[p + 1] && digit_at(p + 2)) return 2;
  if (s.substr(p, 3) == " - " && digit_at(p + 3)) return 3;
  return 0;
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
    if (c == '@' || text::is_ascii_digit(c) || c == ':') {
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
    bool boundary = starts_token(s, i);
    if (boundary && (is_hex(c) || c == ':')) {
      size_t e6 = ipv6_at(s, i);
      if (e6 > i) {
        out += "<IP>";
        ++counts.ip;
        i = e6;
        continue;
      }
    }
    if (boundary && text::is_ascii_digit(c)) {
      size_t e4 = ipv4_at(s, i);
      if (e4 > i) {
        out += "<IP>";
        ++counts.ip;
        i = e4;
        continue;
      }
    }
    auto digit_at = [&](size_t q) { return q < s.size() && text::is_ascii_digit(s[q]); };
    // '(' belongs to the number only around an area code ("(02) 123-4567");
    // in "(010-1234-5678)" or "(01012345678)" it is the text's bracket and stays.
    bool area_paren = false;
    if (c == '(' && s.substr(i + 1, 1) == "0") {
      size_t q = i + 1;
      while (digit_at(q)) ++q;
      area_paren = q - i - 1 >= 2 && q - i - 1 <= 4 && q < s.size() && s[q] == ')';
    }
    if (boundary && (text::is_ascii_digit(c) || (c == '+' && digit_at(i + 1)) || area_paren)) {
      // A number span: digit groups joined by separators (separator_at).
      bool plus = c == '+';
      size_t p = (c == '+' || c == '(') ? i + 1 : i;
      std::vector<std::string_view> groups;
      std::string seps;
      size_t end = i;
      while (digit_at(p)) {
        size_t g = p;
        while (digit_at(p)) ++p;
        groups.push_back(s.substr(g, p - g));
        end = p;
        size_t n = separator_at(s, p);
        if (n == 0) break;
        seps.append(s.substr(p, n));
        p += n;
      }
      bool clean_end = end >= s.size() || !(is_alnum(s[end]) || s[end] == '_');
      bool bank = bank_context(s, i);
      // Drop trailing groups that make the span too long for any class, one at
      // a time, so "call 010-1234-5678 2024" still masks the phone number. Only
      // across a space: "301-12-345678-9" is one number, not an account plus "-9".
      while (clean_end && !groups.empty()) {
        const Kind* kind = classify_number(groups, seps, plus, bank);
        if (kind) {
          out += kind->tag;
          ++(counts.*(kind->count));
          i = end;
          goto next;
        }
        if (groups.size() == 1) break;
        std::string_view prev = groups[groups.size() - 2];
        size_t prev_end = static_cast<size_t>(prev.data() + prev.size() - s.data());
        size_t sep_len = separator_at(s, prev_end);
        if (s.substr(prev_end, sep_len).find(' ') == std::string_view::npos) break;
        groups.pop_back();
        end = prev_end;
        seps.resize(seps.size() - sep_len);
      }
      // Not PII: copy the whole digit run so its tail is not re-scanned as a new number.
      size_t q = i;
      if (s[q] == '+' || s[q] == '(') out += s[q++];
      while (digit_at(q)) out += s[q++];
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
