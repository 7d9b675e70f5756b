// Korean number words, as the arith program writes them.
//
// Convention (the one schools and newspapers use, 한글 맞춤법 제44항 for spacing):
//  - Sino-Korean: digits grouped by 10^4 (만, 억, 조), a space between groups,
//    "일" dropped before 십/백/천 and before 만 when the group is exactly 1
//    (10,000 = "만", 12,345 = "만 이천삼백사십오") but kept before 억 and 조
//    (100,000,000 = "일억"); 0 = "영".
//  - Native Korean: 1–99 (하나 … 아흔아홉); before a counter the adnominal forms
//    한/두/세/네/스무 replace 하나/둘/셋/넷/스물 (스무 살, 스물한 살).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kormo::synth {

// n < 10^16 (below 경); larger values are an internal error.
std::string sino_korean(uint64_t n);

// 1 <= n <= 99; `before_counter` gives the adnominal form.
std::string native_korean(int n, bool before_counter);

// "12,345".
std::string group_digits(uint64_t n);

// A fixed-point value with `decimals` digits after the point, trailing zeros
// dropped: (235, 2) → "2.35", (3500, 1) → "350", (12345000, 0) → "12,345,000".
std::string format_decimal(uint64_t scaled, int decimals);

// Whether the last Hangul syllable of `word` has a final consonant (받침);
// false when the word does not end in a Hangul syllable.
bool has_final_consonant(std::string_view word);

// The particle form that fits after `word`: `with_final` (은, 이, 을, 과, 이라고)
// after a final consonant, otherwise `without` (는, 가, 를, 와, 라고).
std::string particle(std::string_view word, std::string_view with_final, std::string_view without);

}  // namespace kormo::synth
