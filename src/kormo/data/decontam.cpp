#include "kormo/data/decontam.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "kormo/data/dedup.h"
#include "kormo/data/words.h"
#include "kormo/text/unicode.h"
#include "kormo/text/utf8.h"
#include "kormo/util/error.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"

namespace kormo::data {
namespace {

// Units of a normal form: its words, or its characters without the spaces.
std::vector<uint64_t> word_units(const std::string& nf) {
  std::vector<uint64_t> out;
  size_t b = 0;
  while (b < nf.size()) {
    size_t e = nf.find(' ', b);
    if (e == std::string::npos) e = nf.size();
    out.push_back(xxh3_64(std::string_view(nf).substr(b, e - b)));
    b = e + 1;
  }
  return out;
}

std::vector<uint64_t> char_units(const std::string& nf) {
  std::vector<uint64_t> out;
  size_t pos = 0;
  char32_t cp = 0;
  while (pos < nf.size()) {
    size_t at = pos;
    if (!text::decode_next(nf, pos, cp)) pos = at + 1, cp = 0xFFFD;
    if (cp != U' ') out.push_back((cp + 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull);
  }
  return out;
}

bool mostly_hangul(std::string_view text) {
  text::ScriptCounts sc = text::count_scripts(text);
  return sc.hangul > 0 && sc.hangul * 2 >= sc.letters();
}

// Polynomial prefix hashes, so that every window of every length costs O(1).
struct Windows {
  static constexpr uint64_t kBase = 0x100000001b3ull * 2 + 1;
  std::vector<uint64_t> prefix{0}, power{1};
  explicit Windows(const std::vector<uint64_t>& units) {
    for (uint64_t u : units) {
      prefix.push_back(prefix.back() * kBase + u);
      power.push_back(power.back() * kBase);
    }
  }
  size_t size() const { return prefix.size() - 1; }
  // `domain` keeps word and character windows of one length apart.
  uint64_t hash(size_t i, size_t n, uint64_t domain) const {
    uint64_t h = prefix[i + n] - prefix[i] * power[n];
    h ^= (n << 1 | domain) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 31;
    return h * 0xd6e8feb86659fd93ull;
  }
};

// Splits a CSV/TSV line into cells (RFC 4180 quotes for CSV).
std::vector<std::string> split_cells(std::string_view line, char sep) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (sep == ',' && c == '"') {
      if (quoted && i + 1 < line.size() && line[i + 1] == '"') cells.back() += '"', ++i;
      else quoted = !quoted;
    } else if (c == sep && !quoted) {
      cells.emplace_back();
    } else if (c != '\r') {
      cells.back() += c;
    }
  }
  return cells;
}

void collect_strings(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_string()) out.push_back(j.get<std::string>());
  else if (j.is_array() || j.is_object())
    for (const auto& v : j) collect_strings(v, out);
}

}  // namespace

DecontamIndex::DecontamIndex(DecontamOptions opt) : opt_(opt) {
  if (opt_.ngram < 1 || opt_.min_words < 1)
    fail_usage("decontam: ngram and min_words must be at least 1 (got {} and {})", opt_.ngram, opt_.min_words);
  if (opt_.hangul_chars < 0 || (opt_.hangul_chars > 0 && opt_.min_hangul_chars < 1))
    fail_usage("decontam: hangul_chars must be 0 (word rule) or positive with min_hangul_chars >= 1 (got {} and {})",
               opt_.hangul_chars, opt_.min_hangul_chars);
}

namespace {

// A segment's windows under the rule: `n` units each (n = 0: too short to index).
struct SegmentWindows {
  bool chars;
  Windows w;
  size_t n;
};

SegmentWindows segment_windows(std::string_view text, const DecontamOptions& opt) {
  std::string nf = dedup_normal_form(text);
  bool chars = opt.hangul_chars > 0 && mostly_hangul(nf);
  Windows w(chars ? char_units(nf) : word_units(nf));
  size_t n = static_cast<size_t>(chars ? opt.hangul_chars : opt.ngram);
  size_t min = static_cast<size_t>(chars ? opt.min_hangul_chars : opt.min_words);
  if (w.size() < n) n = w.size() >= min ? w.size() : 0;  // a short segment is one n-gram of all of it
  return {chars, std::move(w), n};
}

}  // namespace

bool DecontamIndex::add_segment(std::string_view text, uint32_t file_index) {
  const SegmentWindows s = segment_windows(text, opt_);
  if (s.n == 0) return false;
  (s.chars ? char_lengths_ : word_lengths_).insert(static_cast<int>(s.n));
  size_t p = prefix_length(s.chars);
  for (size_t i = 0; i + s.n <= s.w.size(); ++i) {
    grams_.try_emplace(s.w.hash(i, s.n, s.chars), file_index);
    uint64_t h = s.w.hash(i, p, s.chars) % (starts_.size() * 64);
    starts_[h / 64] |= uint64_t{1} << (h % 64);
  }
  return true;
}

std::vector<uint64_t> DecontamIndex::segment_ngrams(std::string_view text) const {
  const SegmentWindows s = segment_windows(text, opt_);
  std::vector<uint64_t> out;
  for (size_t i = 0; s.n > 0 && i + s.n <= s.w.size(); ++i) out.push_back(s.w.hash(i, s.n, s.chars));
  return out;
}

size_t DecontamIndex::prefix_length(bool chars) const {
  return static_cast<size_t>(chars ? std::min(opt_.hangul_chars, opt_.min_hangul_chars)
                                   : std::min(opt_.ngram, opt_.min_words));
}

size_t DecontamIndex::add_file(const std::string& path) {
  size_t before = grams_.size(), indexed = 0, segments = 0;
  uint32_t index = static_cast<uint32_t>(files_.size());
  files_.push_back(path);
  bool jsonl = path.find(".jsonl") != std::string::npos || path.find(".json") != std::string::npos;
  char sep = path.find(".tsv") != std::string::npos ? '\t' : ',';
  LineReader reader(path);
  std::string_view line;
  auto add = [&](std::string_view seg) {
    ++segments;
    indexed += add_segment(seg, index);
  };
  while (reader.next(line)) {
    if (trim(line).empty()) continue;
    if (!text::is_valid_utf8(line)) fail("{}:{}: invalid UTF-8 in evaluation file", path, reader.line_number());
    if (jsonl) {
      nlohmann::json j = parse_json_or_discarded(line);
      if (j.is_discarded()) fail("{}:{}: expected a JSON object per line", path, reader.line_number());
      std::vector<std::string> segs;
      collect_strings(j, segs);
      for (const auto& s : segs) add(s);
    } else {
      if (reader.line_number() == 1) continue;  // header
      for (const auto& cell : split_cells(line, sep)) add(cell);
    }
  }
  if (indexed == 0)
    fail("{}: no evaluation text to check against ({} segments read, every one empty, a number or shorter than "
         "{} words{})",
         path, segments, opt_.min_words,
         opt_.hangul_chars > 0 ? fmt::format(" or {} Hangul characters", opt_.min_hangul_chars) : "");
  return grams_.size() - before;
}

template <class F>
void DecontamIndex::for_each_match(std::string_view text, F on_match) const {
  if (grams_.empty()) return;
  std::string nf = dedup_normal_form(text);
  auto scan = [&](const std::set<int>& lengths, const std::vector<uint64_t>& units, bool chars) {
    Windows w(units);
    size_t p = prefix_length(chars);
    for (size_t i = 0; i + p <= w.size(); ++i) {
      // Most positions start no indexed n-gram: one bit rules out every length.
      uint64_t h = w.hash(i, p, chars) % (starts_.size() * 64);
      if (!(starts_[h / 64] >> (h % 64) & 1)) continue;
      for (int len : lengths) {
        size_t n = static_cast<size_t>(len);
        if (i + n > w.size()) break;
        const uint64_t g = w.hash(i, n, chars);
        auto it = grams_.find(g);
        if (it != grams_.end()) on_match(g, it->second);
      }
    }
  };
  if (!word_lengths_.empty()) scan(word_lengths_, word_units(nf), false);
  if (!char_lengths_.empty()) scan(char_lengths_, char_units(nf), true);
}

DecontamIndex::Match DecontamIndex::match(std::string_view text) const {
  Match m;
  for_each_match(text, [&](uint64_t, uint32_t file) {
    if (m.ngrams++ == 0) m.first_file = files_[file];
  });
  return m;
}

void DecontamIndex::collect_matches(std::string_view text, std::unordered_set<uint64_t>& found) const {
  for_each_match(text, [&](uint64_t g, uint32_t) { found.insert(g); });
}

}  // namespace kormo::data
