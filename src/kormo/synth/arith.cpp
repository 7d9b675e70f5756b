#include "kormo/synth/arith.h"

#include <fmt/format.h>

#include <array>
#include <string>
#include <vector>

#include "kormo/synth/korean_numbers.h"
#include "kormo/util/hash.h"
#include "kormo/util/rng.h"

namespace kormo::synth {

namespace {

// Uniform integer in [lo, hi].
uint64_t pick(Rng& r, uint64_t lo, uint64_t hi) { return lo + r.below(hi - lo + 1); }

template <class T, size_t N>
const T& pick_of(Rng& r, const std::array<T, N>& a) {
  return a[r.below(N)];
}

struct Problem {
  std::string question, reasoning, answer, kind, answer_value;
  bool ko = true;
};

// --- shopping ---------------------------------------------------------------

struct Goods {
  const char* ko;          // noun
  const char* ko_counter;  // counter word
  const char* en_one;
  const char* en_many;
};
constexpr std::array<Goods, 6> kGoods = {{{"사과", "개", "apple", "apples"},
                                           {"우유", "팩", "carton of milk", "cartons of milk"},
                                           {"공책", "권", "notebook", "notebooks"},
                                           {"연필", "자루", "pencil", "pencils"},
                                           {"빵", "개", "loaf of bread", "loaves of bread"},
                                           {"계란", "판", "tray of eggs", "trays of eggs"}}};

std::string dollars(uint64_t cents) {
  return fmt::format("${}.{:02}", group_digits(cents / 100), cents % 100);
}

Problem shopping(Rng& r, bool ko, bool change) {
  size_t n = pick(r, 2, 4);
  std::vector<size_t> idx = {0, 1, 2, 3, 4, 5};
  for (size_t i = 0; i < n; ++i) std::swap(idx[i], idx[i + r.below(idx.size() - i)]);
  // Prices in won (multiples of 100) or in cents (multiples of 5).
  std::vector<uint64_t> qty(n), price(n), line(n);
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    qty[i] = pick(r, 1, 6);
    price[i] = ko ? 100 * pick(r, 3, 150) : 5 * pick(r, 5, 300);
    line[i] = qty[i] * price[i];
    total += line[i];
  }
  static constexpr std::array<uint64_t, 3> ko_bills = {1'000, 5'000, 10'000};
  static constexpr std::array<uint64_t, 3> en_bills = {500, 1'000, 2'000};
  uint64_t bill = ko ? pick_of(r, ko_bills) : pick_of(r, en_bills);
  uint64_t paid = (total / bill + 1) * bill;  // always more than the total: some change
  auto money = [&](uint64_t v) { return ko ? group_digits(v) + "원" : dollars(v); };
  Problem p;
  p.ko = ko;
  p.kind = change ? "shopping_change" : "shopping_total";
  std::vector<std::string> parts, sums;
  for (size_t i = 0; i < n; ++i) {
    const Goods& g = kGoods[idx[i]];
    if (ko) {
      parts.push_back(fmt::format("{} {}{}({}당 {})", g.ko, qty[i], g.ko_counter, g.ko_counter, money(price[i])));
      p.reasoning += fmt::format("{}: {} × {} = {}\n", g.ko, qty[i], money(price[i]), money(line[i]));
    } else {
      parts.push_back(fmt::format("{} {} at {} each", qty[i], qty[i] == 1 ? g.en_one : g.en_many, money(price[i])));
      p.reasoning += fmt::format("{} × {} = {}\n", qty[i], money(price[i]), money(line[i]));
    }
    sums.push_back(money(line[i]));
  }
  std::string list;
  for (size_t i = 0; i < n; ++i) list += (i == 0 ? "" : !ko && i + 1 == n ? " and " : ", ") + parts[i];
  p.reasoning += fmt::format("{}: {} = {}", ko ? "합계" : "Total", fmt::join(sums, " + "), money(total));
  if (ko) {
    p.question = fmt::format("가게에서 다음을 샀습니다: {}.", list);
    if (change) {
      p.question += fmt::format(" {}을 냈다면 거스름돈은 얼마인가요?", money(paid));
      p.reasoning += fmt::format("\n거스름돈: {} − {} = {}", money(paid), money(total), money(paid - total));
      p.answer = fmt::format("거스름돈은 {}입니다.", money(paid - total));
    } else {
      p.question += " 모두 얼마인가요?";
      p.answer = fmt::format("모두 {}입니다.", money(total));
    }
  } else {
    p.question = fmt::format("You buy {}.", list);
    if (change) {
      p.question += fmt::format(" You pay {}. How much change do you get?", money(paid));
      p.reasoning += fmt::format("\nChange: {} − {} = {}", money(paid), money(total), money(paid - total));
      p.answer = fmt::format("Your change is {}.", money(paid - total));
    } else {
      p.question += " How much do you pay in total?";
      p.answer = fmt::format("The total is {}.", money(total));
    }
  }
  p.answer_value = std::to_string(change ? paid - total : total);
  return p;
}

// --- unit conversion ----------------------------------------------------------

struct Unit {
  const char* big_ko;
  const char* small_ko;
  const char* big_en;
  const char* small_en;
  uint64_t factor;  // small units per big unit; a multiple of 10
  uint64_t step;    // small values are multiples of this, so big values have at most 2 decimals
};
constexpr std::array<Unit, 5> kUnits = {{{"킬로미터", "미터", "kilometers", "meters", 1000, 10},
                                          {"킬로그램", "그램", "kilograms", "grams", 1000, 10},
                                          {"리터", "밀리리터", "liters", "milliliters", 1000, 10},
                                          {"미터", "센티미터", "meters", "centimeters", 100, 1},
                                          {"시간", "분", "hours", "minutes", 60, 15}}};

Problem unit(Rng& r, bool ko) {
  const Unit& u = pick_of(r, kUnits);
  Problem p;
  p.ko = ko;
  p.kind = "unit";
  bool to_small = r.below(2) == 0;
  const char* big = ko ? u.big_ko : u.big_en;
  const char* small = ko ? u.small_ko : u.small_en;
  std::string fact = ko ? fmt::format("1{} = {}{}", big, group_digits(u.factor), small)
                        : fmt::format("1 {} = {} {}", big, group_digits(u.factor), small);
  if (to_small) {
    uint64_t tenths = pick(r, 11, 999);  // the big value in tenths, never exactly 1
    if (tenths % 10 == 0) ++tenths;
    uint64_t result = tenths * u.factor / 10;
    std::string v = format_decimal(tenths, 1), res = group_digits(result);
    p.answer_value = std::to_string(result);
    if (ko) {
      p.question = fmt::format("{}{}{} 몇 {}인가요?", v, big, particle(big, "은", "는"), small);
      p.reasoning = fmt::format("{}입니다.\n{} × {} = {}", fact, v, group_digits(u.factor), res);
      p.answer = fmt::format("{}{}입니다.", res, small);
    } else {
      p.question = fmt::format("How many {} are in {} {}?", small, v, big);
      p.reasoning = fmt::format("{}.\n{} × {} = {}", fact, v, group_digits(u.factor), res);
      p.answer = fmt::format("{} {} is {} {}.", v, big, res, small);
    }
  } else {
    uint64_t s = u.step * pick(r, 1, 999 * u.factor / u.step / 10);
    if (s == u.factor) s += u.step;
    // s / factor with two decimals: exact because factor divides s × 100 (step chosen so).
    std::string v = group_digits(s), res = format_decimal(s * 100 / u.factor, 2);
    p.answer_value = res;
    if (ko) {
      p.question = fmt::format("{}{}{} 몇 {}인가요?", v, small, particle(small, "은", "는"), big);
      p.reasoning = fmt::format("{}입니다.\n{} ÷ {} = {}", fact, v, group_digits(u.factor), res);
      p.answer = fmt::format("{}{}입니다.", res, big);
    } else {
      p.question = fmt::format("Convert {} {} to {}.", v, small, big);
      p.reasoning = fmt::format("{}.\n{} ÷ {} = {}", fact, v, group_digits(u.factor), res);
      p.answer = fmt::format("{} {} is {} {}.", v, small, res, big);
    }
  }
  return p;
}

// --- Sino-Korean numbers --------------------------------------------------------

// A number with 1–13 digits, often with zero groups (10,005; 3,000,000).
uint64_t reading_number(Rng& r) {
  int digits = static_cast<int>(pick(r, 1, 13));
  uint64_t n = pick(r, 1, 9);
  for (int i = 1; i < digits; ++i) n = n * 10 + (r.below(3) == 0 ? 0 : pick(r, 0, 9));
  return n;
}

// "1억 2345만 6789" — the number cut into 만 groups, in digits.
std::string groups_in_digits(uint64_t n) {
  static constexpr std::array<const char*, 4> units = {"조", "억", "만", ""};
  static constexpr std::array<uint64_t, 4> div = {1'000'000'000'000ull, 100'000'000ull, 10'000ull, 1ull};
  std::string s;
  for (size_t i = 0; i < 4; ++i) {
    uint64_t g = n / div[i] % 10'000;
    if (g == 0) continue;
    if (!s.empty()) s += ' ';
    s += std::to_string(g) + units[i];
  }
  return s;
}

Problem sino(Rng& r, bool ko, bool read) {
  uint64_t n = reading_number(r);
  std::string digits = group_digits(n), words = sino_korean(n), groups = groups_in_digits(n);
  Problem p;
  p.ko = ko;
  p.kind = read ? "sino_read" : "sino_write";
  p.answer_value = std::to_string(n);
  if (ko)
    p.reasoning = fmt::format("만 단위로 끊으면 {}입니다.\n각 묶음을 읽고 단위를 붙입니다: {}", groups, words);
  else
    p.reasoning = fmt::format("Split into groups of four digits (만, 억, 조): {}.\nRead each group and add its unit: {}",
                              groups, words);
  if (read) {
    if (ko) {
      p.question = fmt::format("다음 수를 한글로 읽어 쓰세요: {}", digits);
      // Quoted, so 라고 follows whatever the reading ends in.
      p.answer = fmt::format("{}{} “{}”라고 읽습니다.", digits, particle(words, "은", "는"), words);
    } else {
      p.question = fmt::format("How is {} read in Sino-Korean numbers? Write it in Hangul.", digits);
      p.answer = fmt::format("{} is read as {}.", digits, words);
    }
  } else {
    if (ko) {
      p.question = fmt::format("다음 한글 수를 아라비아 숫자로 쓰세요: {}", words);
      p.answer = fmt::format("{}입니다.", digits);
    } else {
      p.question = fmt::format("Write the Sino-Korean number {} in digits.", words);
      p.answer = fmt::format("{} is {}.", words, digits);
    }
  }
  return p;
}

// --- native Korean numbers with counters -------------------------------------------

struct Counted {
  const char* ko;
  const char* counter;
  const char* en_many;
};
constexpr std::array<Counted, 5> kCounted = {{{"사과", "개", "apples"},
                                               {"학생", "명", "students"},
                                               {"고양이", "마리", "cats"},
                                               {"책", "권", "books"},
                                               {"연필", "자루", "pencils"}}};
struct Name {
  const char* ko;
  const char* en;
};
constexpr std::array<Name, 4> kNames = {{{"민수", "Minsu"}, {"지영", "Jiyoung"}, {"서연", "Seoyeon"}, {"준호", "Junho"}}};

std::string counted(int n, const char* counter) { return native_korean(n, true) + " " + counter; }

std::string native_steps(int n, bool ko) {
  int t = n / 10 * 10, o = n % 10;
  std::string parts = t && o   ? fmt::format("{} = {} + {}: {} + {}", n, t, o, native_korean(t, false),
                                             native_korean(o, false))
                      : t      ? fmt::format("{}: {}", n, native_korean(t, false))
                               : fmt::format("{}: {}", n, native_korean(o, false));
  std::string adn = native_korean(n, true);
  if (adn == native_korean(n, false)) return parts;
  return ko ? fmt::format("{}\n단위 명사 앞에서는 {}{} 씁니다.", parts, adn, particle(adn, "으로", "로"))
            : fmt::format("{}\nBefore a counter it becomes {}.", parts, adn);
}

Problem native_count(Rng& r, bool ko) {
  const Counted& c = pick_of(r, kCounted);
  bool add = r.below(2) == 0;
  int a = static_cast<int>(pick(r, 2, 60)), b = static_cast<int>(add ? pick(r, 1, 99 - a) : pick(r, 1, a - 1));
  int result = add ? a + b : a - b;
  Problem p;
  p.ko = ko;
  p.kind = "native_count";
  p.answer_value = std::to_string(result);
  if (ko) {
    std::string noun = c.ko;
    p.question = add ? fmt::format("{}{} {} 있습니다. {} {}{} 더 생기면 {}{} 모두 몇 {}인가요?", noun,
                                   particle(noun, "이", "가"), counted(a, c.counter), noun, counted(b, c.counter),
                                   particle(c.counter, "이", "가"), noun, particle(noun, "은", "는"), c.counter)
                     : fmt::format("{}{} {} 있습니다. 그중 {}{} 없어지면 남은 {}{} 몇 {}인가요?", noun,
                                   particle(noun, "이", "가"), counted(a, c.counter), counted(b, c.counter),
                                   particle(c.counter, "이", "가"), noun, particle(noun, "은", "는"), c.counter);
    p.reasoning = fmt::format("{}{} {}, {}{} {}입니다.\n{} {} {} = {}\n{}", counted(a, c.counter),
                              particle(c.counter, "은", "는"), a, counted(b, c.counter),
                              particle(c.counter, "은", "는"), b, a, add ? "+" : "−", b, result,
                              native_steps(result, true));
    p.answer = fmt::format("{}{} {}입니다.", add ? "모두 " : "남은 것은 ", noun, counted(result, c.counter));
  } else {
    p.question = add ? fmt::format("There are {} {} ({} {} in Korean). {} more come. How many are there now? "
                                   "Answer in Korean with native numbers.",
                                   a, c.en_many, c.ko, counted(a, c.counter), b)
                     : fmt::format("There are {} {} ({} {} in Korean). {} are taken away. How many are left? "
                                   "Answer in Korean with native numbers.",
                                   a, c.en_many, c.ko, counted(a, c.counter), b);
    p.reasoning = fmt::format("{} {} {} = {}\n{}\nIn Korean, {} are counted with {}.", a, add ? "+" : "−", b, result,
                              native_steps(result, false), c.en_many, c.counter);
    p.answer = fmt::format("There are {} {}: {} {}.", result, c.en_many, c.ko, counted(result, c.counter));
  }
  return p;
}

Problem native_age(Rng& r, bool ko) {
  const Name& who = pick_of(r, kNames);
  std::string name = ko ? who.ko : who.en;
  int age = static_cast<int>(pick(r, 1, 90)), years = static_cast<int>(pick(r, 1, 99 - age));
  int result = age + years;
  Problem p;
  p.ko = ko;
  p.kind = "native_age";
  p.answer_value = std::to_string(result);
  if (ko) {
    p.question = fmt::format("{}{} 올해 {}입니다. {}년 뒤에는 몇 살이 되나요?", name, particle(name, "은", "는"),
                             counted(age, "살"), years);
    p.reasoning = fmt::format("{}은 {}입니다.\n{} + {} = {}\n{}", counted(age, "살"), age, age, years, result,
                              native_steps(result, true));
    p.answer = fmt::format("{}년 뒤에는 {}이 됩니다.", years, counted(result, "살"));
  } else {
    p.question = fmt::format("{} is {} years old ({} in Korean). How old will {} be in {} years? "
                             "Answer in Korean with native numbers.",
                             name, age, counted(age, "살"), name, years);
    p.reasoning = fmt::format("{} + {} = {}\n{}\nAges are counted with 살.", age, years, result,
                              native_steps(result, false));
    p.answer = fmt::format("In {} years {} will be {}: {}.", years, name, result, counted(result, "살"));
  }
  return p;
}

}  // namespace

Conversation arith_item(uint64_t seed, uint64_t index) {
  Rng r(xxh3_64(fmt::format("arith/{}", index), seed));
  bool ko = r.below(2) == 0;
  Problem p;
  switch (r.below(7)) {
    case 0: p = shopping(r, ko, false); break;
    case 1: p = shopping(r, ko, true); break;
    case 2: p = unit(r, ko); break;
    case 3: p = sino(r, ko, true); break;
    case 4: p = sino(r, ko, false); break;
    case 5: p = native_count(r, ko); break;
    default: p = native_age(r, ko); break;
  }
  Conversation c = question_answer(std::move(p.question), std::move(p.answer), std::move(p.reasoning));
  c.lang = ko ? "ko" : "en";
  c.source = "arith";
  c.meta = {{"program", "arith"},
            {"template", p.kind + "." + c.lang},
            {"kind", p.kind},
            {"item", index},
            {"answer", p.answer_value}};
  return c;
}

}  // namespace kormo::synth
