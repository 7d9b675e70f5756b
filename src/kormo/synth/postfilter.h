// Filters on teacher outputs before they are kept, built on the data stage's code
// (identify_language, MinHash dedup, DecontamIndex) so synthetic text is judged as
// curated text is.
//
// Rules, in the order applied (the first that fires names the reject):
//   truncated        the teacher stopped at max_tokens (finish_reason "length")
//   length.too_short / length.too_long   the answer's code points outside the bounds
//   lang.mismatch    identify_language() does not give the target language with at least
//                    min_lang_score (Korean output that is mostly English)
//   refusal          "As an AI…", "I'm sorry, but I can't…", "죄송하지만 … 수 없습니다",
//                    "AI 언어 모델로서…", and the configured extra patterns
//   meta_commentary  a preamble or sign-off about the answer instead of the answer:
//                    "다음은 … 번역입니다:", "Here is the rewritten text:", "물론입니다!",
//                    "I hope this helps"
//   decontam         shares an n-gram with an evaluation set
//   dedup.seed / dedup.exact / dedup.near   (dedup_outputs) equal or near-equal to a seed
//                    text or to an output kept before it in plan order
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kormo/synth/program.h"

namespace kormo::synth {

// "refusal", "meta_commentary" or "" for a text; `extra` patterns count as refusals.
std::string refusal_rule(std::string_view text, const std::vector<std::string>& extra = {});

class OutputFilter {
 public:
  OutputFilter(const FilterOptions& opt, std::string language);
  ~OutputFilter();
  // The rule that rejects one output (every rule but dedup), or "".
  std::string check(std::string_view text, std::string_view finish_reason) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Exact and near dedup of `outputs` (in plan order) against `seeds` and each other: per
// output "" (kept), "dedup.seed", "dedup.exact" or "dedup.near".
std::vector<std::string> dedup_outputs(const std::vector<std::string_view>& seeds,
                                       const std::vector<std::string_view>& outputs, double near_threshold);

}  // namespace kormo::synth
