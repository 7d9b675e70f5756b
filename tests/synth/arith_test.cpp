// arith: every generated item is re-verified from its text alone by a parser and
// evaluator written independently of the generator (own number-word tables, own
// unit table), so a wrong answer, a wrong reading or a wrong step fails here.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "kormo/synth/arith.h"
#include "kormo/synth/korean_numbers.h"

namespace kormo::synth {
namespace arith_test {

// Sino-Korean words → value: digits multiply the place that follows them
// (a bare place means 1), 만/억/조 close a group.
int64_t parse_sino(const std::string& s) {
  static const std::map<std::string, int64_t> digit = {{"영", 0}, {"일", 1}, {"이", 2}, {"삼", 3}, {"사", 4},
                                                       {"오", 5}, {"육", 6}, {"칠", 7}, {"팔", 8}, {"구", 9}};
  static const std::map<std::string, int64_t> place = {{"십", 10}, {"백", 100}, {"천", 1000}};
  static const std::map<std::string, int64_t> unit = {{"만", 10'000}, {"억", 100'000'000}, {"조", 1'000'000'000'000}};
  int64_t value = 0, group = 0, cur = -1;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    std::string ch = s.substr(i, 3);  // every word here is one 3-byte syllable
    i += 3;
    if (digit.count(ch)) {
      if (cur >= 0) return -1;  // two digits in a row
      cur = digit.at(ch);
    } else if (place.count(ch)) {
      group += (cur < 0 ? 1 : cur) * place.at(ch);
      cur = -1;
    } else if (unit.count(ch)) {
      group += cur < 0 ? 0 : cur;
      value += (group == 0 ? 1 : group) * unit.at(ch);
      group = 0;
      cur = -1;
    } else {
      return -1;
    }
  }
  return value + group + (cur < 0 ? 0 : cur);
}

// Native Korean 1–99, plain or before a counter.
int parse_native(const std::string& w) {
  static const std::vector<std::pair<std::string, int>> tens = {
      {"열", 10}, {"스물", 20}, {"스무", 20}, {"서른", 30}, {"마흔", 40},
      {"쉰", 50}, {"예순", 60}, {"일흔", 70}, {"여든", 80}, {"아흔", 90}};
  static const std::map<std::string, int> ones = {{"하나", 1}, {"한", 1},   {"둘", 2},   {"두", 2},
                                                  {"셋", 3},   {"세", 3},   {"넷", 4},   {"네", 4},
                                                  {"다섯", 5}, {"여섯", 6}, {"일곱", 7}, {"여덟", 8}, {"아홉", 9}};
  if (ones.count(w)) return ones.at(w);
  for (const auto& [t, v] : tens) {
    if (w.rfind(t, 0) != 0) continue;
    std::string rest = w.substr(t.size());
    if (rest.empty()) return v;
    if (t == "스무" || !ones.count(rest)) return -1;  // 스무 never takes ones (스물한, not 스무한)
    return v + ones.at(rest);
  }
  return -1;
}

// "12,345" / "2.35" / "$1,234.50" / "3,600원" → value.
long double number(std::string s) {
  std::string d;
  for (char c : s)
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') d += c;
  return std::stold(d);
}

bool near(long double a, long double b) { return std::fabs(a - b) < 1e-6L; }

// Checks every reasoning line of the form "[label: ]a OP b [OP c …] = r".
int check_steps(const std::string& reasoning, const std::string& where) {
  static const std::regex line(R"(^(?:[^:]*: )?(\$?[\d,.]+(?:원)?(?: (?:×|\+|−|÷) \$?[\d,.]+(?:원)?)+) = (\$?[\d,.]+(?:원)?)$)");
  static const std::regex term(R"((×|\+|−|÷)? ?(\$?[\d,.]+(?:원)?))");
  int checked = 0;
  size_t b = 0;
  while (b <= reasoning.size()) {
    size_t e = reasoning.find('\n', b);
    std::string l = reasoning.substr(b, e == std::string::npos ? std::string::npos : e - b);
    b = e == std::string::npos ? reasoning.size() + 1 : e + 1;
    std::smatch m;
    if (!std::regex_match(l, m, line)) continue;
    long double acc = 0;
    std::string expr = m[1];
    bool first = true;
    for (auto it = std::sregex_iterator(expr.begin(), expr.end(), term); it != std::sregex_iterator(); ++it) {
      std::string op = (*it)[1];
      long double v = number((*it)[2]);
      if (first) acc = v, first = false;
      else if (op == "×") acc *= v;
      else if (op == "+") acc += v;
      else if (op == "−") acc -= v;
      else if (op == "÷") acc /= v;
    }
    EXPECT_TRUE(near(acc, number(m[2]))) << where << ": step \"" << l << "\" evaluates to " << (double)acc;
    ++checked;
  }
  return checked;
}

std::string capture(const std::string& s, const std::string& re, const std::string& where, int group = 1) {
  std::smatch m;
  if (!std::regex_search(s, m, std::regex(re))) {
    ADD_FAILURE() << where << ": /" << re << "/ not found in: " << s;
    return "";
  }
  return m[group];
}

void verify(const Conversation& c, const std::string& where) {
  ASSERT_EQ(c.messages.size(), 2u) << where;
  const std::string& q = c.messages[0].content;
  const std::string& a = c.messages[1].content;
  const std::string& r = c.messages[1].reasoning;
  const std::string kind = c.meta.at("kind");
  const bool ko = c.lang == "ko";
  ASSERT_TRUE(c.lang == "ko" || c.lang == "en") << where;
  EXPECT_FALSE(r.empty()) << where;
  if (kind == "shopping_total" || kind == "shopping_change") {
    long double total = 0;
    int items = 0;
    std::regex item(ko ? R"((\d+)\S+?\(\S+?당 ([\d,]+)원\))" : R"((\d+) [a-z ]+? at (\$[\d,]+\.\d\d) each)");
    for (auto it = std::sregex_iterator(q.begin(), q.end(), item); it != std::sregex_iterator(); ++it, ++items)
      total += number((*it)[1]) * number((*it)[2]);
    EXPECT_GE(items, 2) << where << ": " << q;
    long double expect = total;
    if (kind == "shopping_change") {
      long double paid = number(capture(q, ko ? R"(([\d,]+)원을 냈다면)" : R"(You pay (\$[\d,]+\.\d\d)\.)", where));
      EXPECT_GT(paid, total) << where;
      expect = paid - total;
    }
    EXPECT_TRUE(near(number(capture(a, ko ? R"(([\d,]+)원입니다\.$)" : R"((\$[\d,]+\.\d\d)\.$)", where)), expect))
        << where << ": " << q << " -> " << a;
    EXPECT_GE(check_steps(r, where), items + 1) << where << ": " << r;
  } else if (kind == "unit") {
    // name → (unit size in a base unit); pairs convert within one dimension.
    static const std::map<std::string, long double> size = {
        {"킬로미터", 1000}, {"미터", 1},   {"센티미터", 0.01}, {"킬로그램", 1000}, {"그램", 1},
        {"리터", 1000},     {"밀리리터", 1}, {"시간", 60},      {"분", 1},
        {"kilometers", 1000}, {"meters", 1}, {"centimeters", 0.01}, {"kilograms", 1000}, {"grams", 1},
        {"liters", 1000},   {"milliliters", 1}, {"hours", 60},  {"minutes", 1}};
    std::smatch m;
    std::string from, to, value;
    if (ko && std::regex_match(q, m, std::regex(R"(^([\d,.]+)(\S+?)(?:은|는) 몇 (\S+?)인가요\?$)"))) {
      value = m[1], from = m[2], to = m[3];
    } else if (!ko && std::regex_match(q, m, std::regex(R"(^How many (\w+) are in ([\d,.]+) (\w+)\?$)"))) {
      to = m[1], value = m[2], from = m[3];
    } else if (!ko && std::regex_match(q, m, std::regex(R"(^Convert ([\d,.]+) (\w+) to (\w+)\.$)"))) {
      value = m[1], from = m[2], to = m[3];
    } else {
      FAIL() << where << ": unparsed unit question: " << q;
    }
    ASSERT_TRUE(size.count(from) && size.count(to)) << where << ": " << q;
    long double expect = number(value) * size.at(from) / size.at(to);
    std::string got = capture(a, ko ? R"(^([\d,.]+)(\S+)입니다\.$)" : R"( is ([\d,.]+) (\w+)\.$)", where);
    std::string got_unit = capture(a, ko ? R"(^([\d,.]+)(\S+)입니다\.$)" : R"( is ([\d,.]+) (\w+)\.$)", where, 2);
    EXPECT_EQ(got_unit, to) << where;
    EXPECT_TRUE(near(number(got), expect)) << where << ": " << q << " -> " << a;
    EXPECT_GE(check_steps(r, where), 1) << where << ": " << r;
  } else if (kind == "sino_read") {
    std::string digits = capture(q, ko ? R"(: ([\d,]+)$)" : R"(^How is ([\d,]+) read)", where);
    std::string words = capture(a, ko ? R"(“(.+)”라고 읽습니다\.$)" : R"( is read as (.+)\.$)", where);
    EXPECT_EQ(parse_sino(words), static_cast<int64_t>(number(digits))) << where << ": " << q << " -> " << a;
  } else if (kind == "sino_write") {
    std::string words = capture(q, ko ? R"(: (.+)$)" : R"(^Write the Sino-Korean number (.+) in digits\.$)", where);
    std::string digits = capture(a, ko ? R"(^([\d,]+)입니다\.$)" : R"( is ([\d,]+)\.$)", where);
    EXPECT_EQ(parse_sino(words), static_cast<int64_t>(number(digits))) << where << ": " << q << " -> " << a;
  } else if (kind == "native_count") {
    int start, change, got;
    bool add;
    if (ko) {
      start = parse_native(capture(q, R"(^\S+ (\S+) \S+ 있습니다\.)", where));
      add = q.find("더 생기면") != std::string::npos;
      change = parse_native(capture(q, add ? R"(\S+ (\S+) \S+ 더 생기면)" : R"(그중 (\S+) \S+ 없어지면)", where));
      got = parse_native(capture(a, R"( (\S+) \S+입니다\.$)", where));
    } else {
      start = std::stoi(capture(q, R"(^There are (\d+) )", where));
      EXPECT_EQ(parse_native(capture(q, R"(\(\S+ (\S+) \S+ in Korean\))", where)), start) << where << ": " << q;
      add = q.find("more come") != std::string::npos;
      change = std::stoi(capture(q, R"(\. (\d+) (?:more come|are taken away)\.)", where));
      got = parse_native(capture(a, R"(: \S+ (\S+) \S+\.$)", where));
      EXPECT_EQ(std::stoi(capture(a, R"(^There are (\d+) )", where)), got) << where << ": " << a;
    }
    EXPECT_EQ(got, add ? start + change : start - change) << where << ": " << q << " -> " << a;
    EXPECT_GT(got, 0) << where;
    EXPECT_GE(check_steps(r, where), 1) << where << ": " << r;
  } else if (kind == "native_age") {
    int age, years, got;
    if (ko) {
      age = parse_native(capture(q, R"(올해 (\S+) 살입니다\.)", where));
      years = std::stoi(capture(q, R"((\d+)년 뒤에는)", where));
      got = parse_native(capture(a, R"( (\S+) 살이 됩니다\.$)", where));
    } else {
      age = std::stoi(capture(q, R"( is (\d+) years old)", where));
      EXPECT_EQ(parse_native(capture(q, R"(\((\S+) 살 in Korean\))", where)), age) << where << ": " << q;
      years = std::stoi(capture(q, R"( in (\d+) years\?)", where));
      got = parse_native(capture(a, R"(: (\S+) 살\.$)", where));
      EXPECT_EQ(std::stoi(capture(a, R"( will be (\d+):)", where)), got) << where << ": " << a;
    }
    EXPECT_EQ(got, age + years) << where << ": " << q << " -> " << a;
    EXPECT_GE(check_steps(r, where), 1) << where << ": " << r;
  } else {
    FAIL() << where << ": unknown kind " << kind;
  }
}

TEST(Arith, ThousandItemsVerifiedFromTheirText) {
  std::map<std::string, int> kinds;
  std::set<std::string> langs;
  for (uint64_t i = 0; i < 1000; ++i) {
    Conversation c = arith_item(42, i);
    verify(c, "item " + std::to_string(i));
    ++kinds[c.meta.at("kind").get<std::string>()];
    langs.insert(c.lang);
    EXPECT_EQ(c.source, "arith");
    EXPECT_EQ(c.meta.at("program"), "arith");
  }
  EXPECT_EQ(kinds.size(), 7u);  // every kind drawn
  for (const auto& [k, n] : kinds) EXPECT_GE(n, 50) << k;
  EXPECT_EQ(langs.size(), 2u);
}

TEST(Arith, DeterministicPerSeed) {
  for (uint64_t i = 0; i < 50; ++i) EXPECT_EQ(to_json_line(arith_item(7, i)), to_json_line(arith_item(7, i)));
  int differ = 0;
  for (uint64_t i = 0; i < 50; ++i) differ += to_json_line(arith_item(7, i)) != to_json_line(arith_item(8, i));
  EXPECT_GE(differ, 45);
}

TEST(KoreanNumbers, SinoKoreanKnownValues) {
  EXPECT_EQ(sino_korean(0), "영");
  EXPECT_EQ(sino_korean(1), "일");
  EXPECT_EQ(sino_korean(10), "십");
  EXPECT_EQ(sino_korean(11), "십일");
  EXPECT_EQ(sino_korean(110), "백십");
  EXPECT_EQ(sino_korean(1000), "천");
  EXPECT_EQ(sino_korean(2024), "이천이십사");
  EXPECT_EQ(sino_korean(10'000), "만");
  EXPECT_EQ(sino_korean(12'345), "만 이천삼백사십오");
  EXPECT_EQ(sino_korean(20'001), "이만 일");
  EXPECT_EQ(sino_korean(110'000), "십일만");
  EXPECT_EQ(sino_korean(100'000'000), "일억");
  EXPECT_EQ(sino_korean(100'010'000), "일억 만");
  EXPECT_EQ(sino_korean(1'234'567'898), "십이억 삼천사백오십육만 칠천팔백구십팔");
  EXPECT_EQ(sino_korean(1'000'000'000'000), "일조");
  EXPECT_EQ(sino_korean(9'999'999'999'999'999), "구천구백구십구조 구천구백구십구억 구천구백구십구만 구천구백구십구");
}

TEST(KoreanNumbers, NativeKoreanAndCounters) {
  EXPECT_EQ(native_korean(1, false), "하나");
  EXPECT_EQ(native_korean(1, true), "한");
  EXPECT_EQ(native_korean(4, true), "네");
  EXPECT_EQ(native_korean(20, false), "스물");
  EXPECT_EQ(native_korean(20, true), "스무");
  EXPECT_EQ(native_korean(21, true), "스물한");
  EXPECT_EQ(native_korean(33, false), "서른셋");
  EXPECT_EQ(native_korean(99, true), "아흔아홉");
  // The generator's words agree with the test's own parser for every value.
  for (int n = 1; n <= 99; ++n) {
    EXPECT_EQ(parse_native(native_korean(n, false)), n) << n;
    EXPECT_EQ(parse_native(native_korean(n, true)), n) << n;
  }
  for (uint64_t n : {0ull, 7ull, 10'005ull, 3'000'000ull, 100'000'001ull, 12'000'000'000'000ull})
    EXPECT_EQ(parse_sino(sino_korean(n)), static_cast<int64_t>(n)) << n;
}

TEST(KoreanNumbers, FormattingAndParticles) {
  EXPECT_EQ(group_digits(0), "0");
  EXPECT_EQ(group_digits(1234567), "1,234,567");
  EXPECT_EQ(format_decimal(235, 2), "2.35");
  EXPECT_EQ(format_decimal(250, 2), "2.5");
  EXPECT_EQ(format_decimal(300, 2), "3");
  EXPECT_EQ(format_decimal(12345000, 0), "12,345,000");
  EXPECT_EQ(particle("사과", "이", "가"), "가");
  EXPECT_EQ(particle("책", "이", "가"), "이");
  EXPECT_EQ(particle("이십", "은", "는"), "은");
  EXPECT_EQ(particle("abc", "은", "는"), "는");
}

}  // namespace arith_test

}  // namespace kormo::synth
