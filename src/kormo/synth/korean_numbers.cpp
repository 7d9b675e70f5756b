#include "kormo/synth/korean_numbers.h"

#include <array>

#include "kormo/util/error.h"

namespace kormo::synth {

namespace {

constexpr std::array<const char*, 10> kSinoDigits = {"", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"};

// 1 <= g <= 9999; "일" is said only in the ones place (천, not 일천).
std::string sino_group(unsigned g) {
  static constexpr std::array<const char*, 4> places = {"천", "백", "십", ""};
  static constexpr std::array<unsigned, 4> div = {1000, 100, 10, 1};
  std::string s;
  for (size_t i = 0; i < 4; ++i) {
    unsigned d = g / div[i] % 10;
    if (d == 0) continue;
    if (d != 1 || i == 3) s += kSinoDigits[d];
    s += places[i];
  }
  return s;
}

}  // namespace

std::string sino_korean(uint64_t n) {
  if (n >= 10'000'000'000'000'000ull) fail_internal("sino_korean: {} is not below 10^16", n);
  if (n == 0) return "영";
  static constexpr std::array<const char*, 4> units = {"조", "억", "만", ""};
  static constexpr std::array<uint64_t, 4> div = {1'000'000'000'000ull, 100'000'000ull, 10'000ull, 1ull};
  std::string s;
  for (size_t i = 0; i < 4; ++i) {
    unsigned g = static_cast<unsigned>(n / div[i] % 10'000);
    if (g == 0) continue;
    if (!s.empty()) s += ' ';
    // 만 alone for 10,000, but 일억 and 일조.
    if (!(g == 1 && i == 2)) s += sino_group(g);
    s += units[i];
  }
  return s;
}

std::string native_korean(int n, bool before_counter) {
  if (n < 1 || n > 99) fail_internal("native_korean: {} is outside 1..99", n);
  static constexpr std::array<const char*, 10> ones = {"", "하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟", "아홉"};
  static constexpr std::array<const char*, 10> ones_adn = {"", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉"};
  static constexpr std::array<const char*, 10> tens = {"", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔"};
  int t = n / 10, o = n % 10;
  std::string s = tens[t];
  if (o == 0) return before_counter && t == 2 ? "스무" : s;
  return s + (before_counter ? ones_adn[o] : ones[o]);
}

std::string group_digits(uint64_t n) {
  std::string d = std::to_string(n), s;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i > 0 && (d.size() - i) % 3 == 0) s += ',';
    s += d[i];
  }
  return s;
}

std::string format_decimal(uint64_t scaled, int decimals) {
  if (decimals == 0) return group_digits(scaled);
  uint64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  std::string s = group_digits(scaled / scale);
  std::string frac = std::to_string(scaled % scale);
  frac.insert(0, static_cast<size_t>(decimals) - frac.size(), '0');
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return frac.empty() ? s : s + "." + frac;
}

bool has_final_consonant(std::string_view w) {
  // A Hangul syllable (U+AC00–U+D7A3) is three UTF-8 bytes; its final is (cp − 0xAC00) mod 28.
  if (w.size() < 3) return false;
  auto b = [&](size_t i) { return static_cast<unsigned char>(w[w.size() - 3 + i]); };
  if ((b(0) & 0xF0) != 0xE0) return false;
  char32_t cp = ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  return cp >= 0xAC00 && cp <= 0xD7A3 && (cp - 0xAC00) % 28 != 0;
}

std::string particle(std::string_view word, std::string_view with_final, std::string_view without) {
  return std::string(has_final_consonant(word) ? with_final : without);
}

}  // namespace kormo::synth
