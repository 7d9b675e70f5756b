// The teacher-free programs behind `kormo synth builtin`: translate, faq and
// arith (translate.h, faq.h, arith.h), run over documents into one
// conversation JSON Lines file (conversation.h) and a summary.
//
// Shared rules, per program in the order translate, faq, arith: every message
// at most max_chars code points and the answer at least min_chars; a
// conversation equal (same turns) to one already kept is dropped; then at most
// `n` are kept, a seeded sample that keeps input order. arith draws items until
// it has n (default 1000). Same documents, options and seed → same bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kormo/data/document.h"

namespace kormo::synth {

struct BuiltinOptions {
  std::vector<std::string> programs;  // names from builtin_programs()
  std::vector<std::string> docs;      // document files (JSONL/.zst) for translate and faq
  std::string output;                 // conversations (.jsonl or .jsonl.zst)
  std::string summary;                // "" = OUTPUT with .summary.json
  uint64_t seed = 0;
  size_t n = 0;  // at most n per program; 0 = all (translate, faq) or 1000 (arith)
  size_t min_chars = 2, max_chars = 4000;
};

std::vector<std::string> builtin_programs();

// OUTPUT without .jsonl[.zst], plus ".summary.json".
std::string default_summary_path(const std::string& output);

// Writes the output and the summary; returns the counts by rule, keyed
// "<program>.<rule>" ("translate.kept", "faq.length.too_long", …).
data::Counts run_builtin(const BuiltinOptions& opt);

}  // namespace kormo::synth
