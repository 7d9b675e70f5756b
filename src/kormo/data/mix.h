// Mixing to target shares, and corpus statistics.
//
// mix: documents are grouped by a key built from chosen fields (lang, source,
// synthetic; e.g. "ko/synthetic"). Each group g with target share s_g gets
// s_g * total units (documents or characters), where total defaults to the
// input's total. The group's scale f = wanted / have: every document is written
// floor(f) times plus once more when a keyed hash of (seed, document index) falls
// below frac(f). Deterministic by seed, streaming (two passes), and input
// order is kept (repeats are adjacent). Groups without a target are dropped
// unless `keep_others`.
//
// stats: documents, characters, UTF-8 bytes (and tokens through a
// caller-supplied counter, the hook the tokenizer plugs into) by language and
// source, synthetic share per language, and removal counts per rule from
// rejects files.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kormo/data/document.h"

namespace kormo::data {

struct MixOptions {
  std::vector<std::string> by = {"lang"};  // fields forming the group key
  std::map<std::string, double> targets;   // group key -> share (normalised to sum 1)
  bool by_chars = false;                   // shares of characters instead of documents
  double total = 0;                        // 0 = same total as the input
  uint64_t seed = 0;
  bool keep_others = false;
  std::string text_field = "text";
};

std::string group_key(const Document& doc, const std::vector<std::string>& by);

// Returns a report: per group have / wanted / written and the scale.
nlohmann::json mix_files(const std::vector<std::string>& inputs, const std::string& output, const MixOptions& opt);

// Token counter hook: returns the number of tokens of a text. Empty = no tokens column.
using TokenCounter = std::function<uint64_t(const std::string&)>;

nlohmann::json corpus_stats(const std::vector<std::string>& inputs, const std::vector<std::string>& rejects,
                            const TokenCounter& count_tokens = nullptr, const std::string& text_field = "text");

// A human-readable table of corpus_stats() output.
std::string format_stats(const nlohmann::json& stats);

}  // namespace kormo::data
