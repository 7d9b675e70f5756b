#include "kormo/synth/builtin.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <unordered_set>

#include "kormo/synth/arith.h"
#include "kormo/synth/faq.h"
#include "kormo/synth/translate.h"
#include "kormo/text/utf8.h"
#include "kormo/util/error.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"
#include "kormo/util/rng.h"

namespace kormo::synth {

namespace {

constexpr size_t kDefaultArith = 1000;

// Applies the length bounds and dedup to one program's candidates, in order.
std::vector<Conversation> admit(std::vector<Conversation> cands, const std::string& program,
                                const BuiltinOptions& opt, std::unordered_set<std::string>& seen,
                                data::Counts& counts) {
  std::vector<Conversation> kept;
  for (auto& c : cands) {
    bool too_long = false;
    for (const auto& m : c.messages)
      too_long |= text::count_code_points(m.content) > opt.max_chars ||
                  text::count_code_points(m.reasoning) > opt.max_chars;
    if (too_long) {
      ++counts[program + ".length.too_long"];
      continue;
    }
    if (text::count_code_points(c.messages.back().content) < opt.min_chars) {
      ++counts[program + ".length.too_short"];
      continue;
    }
    if (!seen.insert(conversation_id(c)).second) {
      ++counts[program + ".dedup.exact"];
      continue;
    }
    kept.push_back(std::move(c));
  }
  return kept;
}

// At most n of `kept`, a seeded sample in input order.
std::vector<Conversation> sample(std::vector<Conversation> kept, size_t n, uint64_t seed, const std::string& program,
                                 data::Counts& counts) {
  if (n == 0 || kept.size() <= n) return kept;
  std::vector<size_t> idx(kept.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  Rng r(xxh3_64("sample/" + program, seed));
  for (size_t i = 0; i < n; ++i) std::swap(idx[i], idx[i + r.below(idx.size() - i)]);
  idx.resize(n);
  std::sort(idx.begin(), idx.end());
  counts[program + ".sampled_out"] += kept.size() - n;
  std::vector<Conversation> out;
  out.reserve(n);
  for (size_t i : idx) out.push_back(std::move(kept[i]));
  return out;
}

}  // namespace

std::vector<std::string> builtin_programs() { return {"translate", "faq", "arith"}; }

std::string default_summary_path(const std::string& output) {
  std::string base = output;
  if (base.ends_with(".zst")) base.resize(base.size() - 4);
  if (base.ends_with(".jsonl")) base.resize(base.size() - 6);
  return base + ".summary.json";
}

data::Counts run_builtin(const BuiltinOptions& opt) {
  const auto known = builtin_programs();
  std::set<std::string> wanted;
  for (const auto& p : opt.programs) {
    if (std::find(known.begin(), known.end(), p) == known.end())
      fail_usage("unknown program \"{}\" (expected one of: {})", p, fmt::join(known, ", "));
    wanted.insert(p);
  }
  if (wanted.empty()) fail_usage("no program given (expected one of: {})", fmt::join(known, ", "));
  bool reads_docs = wanted.count("translate") || wanted.count("faq");
  if (reads_docs && opt.docs.empty()) fail_usage("translate and faq need documents (--docs)");
  if (!reads_docs && !opt.docs.empty()) fail_usage("arith reads no documents; drop --docs");
  if (opt.min_chars > opt.max_chars) fail_usage("--min-chars {} is above --max-chars {}", opt.min_chars, opt.max_chars);
  std::string summary_path = opt.summary.empty() ? default_summary_path(opt.output) : opt.summary;
  if (summary_path == opt.output) fail_usage("the summary and the output are both {}", opt.output);
  check_output_not_input(opt.output, opt.docs);
  check_output_not_input(summary_path, opt.docs);

  data::Counts counts;
  PairCollector collector;
  std::vector<Conversation> faq;
  size_t n_docs = 0;
  if (reads_docs)
    data::for_each_document(
        opt.docs, "text",
        [&](data::Document& d) {
          ++n_docs;
          if (wanted.count("translate")) collector.add(d);
          if (wanted.count("faq"))
            for (auto& c : faq_conversations(d, opt.seed, counts)) faq.push_back(std::move(c));
        },
        [](const std::string& where, const std::string& why) { fail("{}: {}", where, why); });

  std::unordered_set<std::string> seen;
  std::vector<Conversation> out;
  auto finish = [&](const std::string& program, std::vector<Conversation> cands) {
    counts[program + ".candidates"] += cands.size();
    auto kept = sample(admit(std::move(cands), program, opt, seen, counts), opt.n, opt.seed, program, counts);
    counts[program + ".kept"] += kept.size();
    if (kept.empty()) log_warn("synth: {} produced no conversations", program);
    for (auto& c : kept) out.push_back(std::move(c));
  };
  if (wanted.count("translate")) {
    std::vector<TextPair> pairs;
    for (auto& p : collector.pairs(counts)) {
      std::string rule = clean_pair(p);
      if (rule.empty()) pairs.push_back(std::move(p));
      else ++counts[rule];
    }
    counts["translate.pairs"] += pairs.size();
    finish("translate", translate_conversations(pairs, opt.seed));
  }
  if (wanted.count("faq")) finish("faq", std::move(faq));
  if (wanted.count("arith")) {
    // Drawn until n distinct items are kept; the bound only stops a generator
    // that keeps repeating itself.
    size_t n = opt.n ? opt.n : kDefaultArith, got = 0;
    std::vector<Conversation> cands;
    for (uint64_t i = 0; got < n && i < 20 * n + 100; ++i) {
      auto kept = admit({arith_item(opt.seed, i)}, "arith", opt, seen, counts);
      ++counts["arith.candidates"];
      for (auto& c : kept) cands.push_back(std::move(c)), ++got;
    }
    if (got < n) log_warn("synth: arith kept {} of {} items (too many duplicates or length rejects)", got, n);
    counts["arith.kept"] += cands.size();
    for (auto& c : cands) out.push_back(std::move(c));
  }

  AtomicWriter w(opt.output);
  for (const auto& c : out) w.write_line(to_json_line(c));
  nlohmann::ordered_json summary;
  summary["output"] = opt.output;
  summary["documents"] = opt.docs;
  summary["documents_read"] = n_docs;
  summary["seed"] = opt.seed;
  summary["conversations"] = out.size();
  summary["counts"] = data::counts_to_json(counts);
  AtomicWriter s(summary_path);
  s.write_line(summary.dump(2));
  w.commit();
  s.commit();
  for (const auto& p : known)
    if (wanted.count(p)) log_info("synth {}: {} conversations", p, counts[p + ".kept"]);
  log_info("synth: {} conversations -> {} (summary {})", out.size(), opt.output, summary_path);
  return counts;
}

}  // namespace kormo::synth
