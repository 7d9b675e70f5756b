#include "kormo/synth/postfilter.h"

#include <algorithm>
#include <optional>

#include "kormo/data/decontam.h"
#include "kormo/data/dedup.h"
#include "kormo/data/langid.h"
#include "kormo/data/words.h"
#include "kormo/text/utf8.h"
#include "kormo/util/hash.h"

namespace kormo::synth {

namespace {

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }
bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Phrases only a model talking about itself uses: anywhere in the text.
constexpr std::string_view kSelfReference[] = {
    ("as an ai"), "as a language model", "as an artificial intelligence", "i am an ai",
    "ai 언어 모델", "언어 모델로서", "인공지능으로서", "ai로서",
};
// Apologies and refusals: only in the opening, where a refusal is (a story may have a
// character say 죄송하지만).
constexpr std::string_view kRefusalOpening[] = {
    ("i'm sorry, but"), "i am sorry, but", "i cannot help", "i can't help", "i can't assist",
    "i cannot assist", "i'm unable to", "i am unable to", "i cannot provide", "i can't provide",
    "죄송하지만", "죄송합니다만", "죄송합니다. ", "도와드릴 수 없", "답변드릴 수 없", "제공할 수 없습니다",
    "작성할 수 없습니다",
};
// A first line announcing the answer instead of being it.
constexpr std::string_view kPreambleStart[] = {
    ("here is"), "here's", "here are", "sure,", "sure!", "certainly", "of course",
    "물론입니다", "물론이죠", "네, ", "알겠습니다",
};
// A last line commenting on the answer.
constexpr std::string_view kSignOff[] = {
    ("i hope this helps"), "let me know if", "도움이 되었기를", "도움이 되길", "도움이 되셨기를",
    "더 궁금한 점이 있으면",
};

}  // namespace

std::string refusal_rule(std::string_view text, const std::vector<std::string>& extra) {
  const std::string lower = data::ascii_lower(text);
  for (auto p : kSelfReference)
    if (contains(lower, p)) return "refusal";
  for (const auto& p : extra)
    if (contains(lower, data::ascii_lower(p))) return "refusal";
  const std::string_view opening = std::string_view(lower).substr(0, 300);
  for (auto p : kRefusalOpening)
    if (contains(opening, p)) return "refusal";

  const auto lines = data::split_lines(lower);
  std::string_view first, last;
  for (auto l : lines)
    if (!data::trim(l).empty()) {
      if (first.empty()) first = data::trim(l);
      last = data::trim(l);
    }
  for (auto p : kPreambleStart)
    if (starts(first, p)) return "meta_commentary";
  // "다음은 영어 원문을 한국어로 번역한 글입니다:" and its kin.
  if (starts(first, "다음은") && contains(first, "입니다") && first.size() < 200) return "meta_commentary";
  if (lines.size() > 1)
    for (auto p : kSignOff)
      if (starts(last, p)) return "meta_commentary";
  return "";
}

struct OutputFilter::Impl {
  FilterOptions opt;
  std::string language;
  std::optional<data::DecontamIndex> decontam;
};

OutputFilter::OutputFilter(const FilterOptions& opt, std::string language) : impl_(std::make_unique<Impl>()) {
  impl_->opt = opt;
  impl_->language = std::move(language);
  if (!opt.decontam.empty()) {
    impl_->decontam.emplace();
    for (const auto& f : opt.decontam) impl_->decontam->add_file(f);
  }
}

OutputFilter::~OutputFilter() = default;

std::string OutputFilter::check(std::string_view text, std::string_view finish_reason) const {
  const FilterOptions& o = impl_->opt;
  if (o.reject_truncated && finish_reason == "length") return "truncated";
  const size_t chars = text::is_valid_utf8(text) ? text::count_code_points(text) : text.size();
  if (chars < o.min_chars) return "length.too_short";
  if (chars > o.max_chars) return "length.too_long";
  if (o.min_lang_score > 0) {
    const data::LangScore ls = data::identify_language(text);
    if (ls.lang != impl_->language || ls.score < o.min_lang_score) return "lang.mismatch";
  }
  if (o.refusals) {
    std::string r = refusal_rule(text, o.extra_refusals);
    if (!r.empty()) return r;
  }
  if (impl_->decontam && impl_->decontam->match(text).ngrams > 0) return "decontam";
  return "";
}

std::vector<std::string> dedup_outputs(const std::vector<std::string_view>& seeds,
                                       const std::vector<std::string_view>& outputs, double near_threshold) {
  data::MinHashParams mp;
  mp.verify_threshold = near_threshold;
  std::vector<uint64_t> hashes;
  std::vector<uint32_t> sigs;
  auto add = [&](std::string_view t) {
    const std::string nf = data::dedup_normal_form(t);
    // An output with no words at all would collide with every other one.
    hashes.push_back(nf.empty() ? 0 : xxh3_64(nf) | 1);
    const auto s = data::minhash_signature(data::shingles(nf, mp.ngram), mp);
    sigs.insert(sigs.end(), s.begin(), s.end());
  };
  for (auto t : seeds) add(t);
  for (auto t : outputs) add(t);
  const data::DedupResult r = data::cluster_duplicates(hashes, sigs, mp);
  std::vector<std::string> out(outputs.size());
  for (size_t k = 0; k < outputs.size(); ++k) {
    const size_t i = seeds.size() + k, keeper = r.keeper[i];
    if (keeper == i) continue;
    out[k] = keeper < seeds.size() ? "dedup.seed" : r.exact[i] ? "dedup.exact" : "dedup.near";
  }
  return out;
}

}  // namespace kormo::synth
