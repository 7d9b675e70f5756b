#include "kormo/data/decontam.h"

#include <nlohmann/json.hpp>

#include "kormo/data/dedup.h"
#include "kormo/data/words.h"
#include "kormo/text/utf8.h"
#include "kormo/util/error.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"

namespace kormo::data {
namespace {

std::vector<uint64_t> word_hashes(std::string_view text) {
  std::string nf = dedup_normal_form(text);
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

uint64_t window_hash(const std::vector<uint64_t>& w, size_t i, size_t n) {
  uint64_t h = 0x51ed270b27a3ull ^ n;
  for (size_t k = 0; k < n; ++k) h = (h ^ w[i + k]) * 0x9e3779b97f4a7c15ull + (h >> 31);
  return h;
}

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

void DecontamIndex::add_segment(std::string_view text, uint32_t file_index) {
  std::vector<uint64_t> w = word_hashes(text);
  size_t n = static_cast<size_t>(ngram_);
  if (w.size() >= n) {
    lengths_.insert(ngram_);
    for (size_t i = 0; i + n <= w.size(); ++i) grams_.try_emplace(window_hash(w, i, n), file_index);
  } else if (w.size() >= static_cast<size_t>(min_words_)) {
    lengths_.insert(static_cast<int>(w.size()));
    grams_.try_emplace(window_hash(w, 0, w.size()), file_index);
  }
}

size_t DecontamIndex::add_file(const std::string& path) {
  size_t before = grams_.size();
  uint32_t index = static_cast<uint32_t>(files_.size());
  files_.push_back(path);
  bool jsonl = path.find(".jsonl") != std::string::npos || path.find(".json") != std::string::npos;
  char sep = path.find(".tsv") != std::string::npos ? '\t' : ',';
  LineReader reader(path);
  std::string_view line;
  while (reader.next(line)) {
    if (trim(line).empty()) continue;
    if (!text::is_valid_utf8(line)) fail("{}:{}: invalid UTF-8 in evaluation file", path, reader.line_number());
    if (jsonl) {
      nlohmann::json j = parse_json_or_discarded(line);
      if (j.is_discarded()) fail("{}:{}: expected a JSON object per line", path, reader.line_number());
      std::vector<std::string> segs;
      collect_strings(j, segs);
      for (const auto& s : segs) add_segment(s, index);
    } else {
      if (reader.line_number() == 1) continue;  // header
      for (const auto& cell : split_cells(line, sep)) add_segment(cell, index);
    }
  }
  return grams_.size() - before;
}

DecontamIndex::Match DecontamIndex::match(std::string_view text) const {
  Match m;
  if (grams_.empty()) return m;
  std::vector<uint64_t> w = word_hashes(text);
  for (int len : lengths_) {
    size_t n = static_cast<size_t>(len);
    for (size_t i = 0; i + n <= w.size(); ++i) {
      auto it = grams_.find(window_hash(w, i, n));
      if (it != grams_.end()) {
        if (m.ngrams++ == 0) m.first_file = files_[it->second];
      }
    }
  }
  return m;
}

}  // namespace kormo::data
