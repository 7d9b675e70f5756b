#include "kormo/data/dedup_job.h"

#include <fmt/format.h>

#include "kormo/data/job.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"
#include "kormo/util/parallel.h"
#include "kormo/util/progress.h"

namespace kormo::data {

using nlohmann::json;

Counts dedup_files(const std::vector<std::string>& inputs, const std::string& output, const std::string& rejects,
                   const DedupOptions& opt) {
  check_output_path(output, inputs);
  check_output_path(rejects, inputs);
  const size_t k = static_cast<size_t>(opt.minhash.bands) * opt.minhash.rows;
  std::vector<uint64_t> exact;
  std::vector<uint32_t> sigs;
  std::vector<std::string> ids;
  std::vector<bool> good;  // parsed (bad lines go to rejects in pass 2)
  Counts counts;
  // Pass 1: batches of lines hashed on all threads.
  const size_t batch = 4096;
  std::vector<std::string> lines;
  auto run_batch = [&] {
    size_t base = exact.size();
    exact.resize(base + lines.size(), 0);
    ids.resize(base + lines.size());
    good.resize(base + lines.size());
    if (opt.near) sigs.resize((base + lines.size()) * k, 0);
    std::vector<char> ok(lines.size(), 0);
    FirstError err;
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t i = 0; i < lines.size(); ++i) {
      err.run([&] {
        Document doc;
        std::string rule, why;
        if (!parse_document(lines[i], doc, rule, why, opt.text_field)) return;
        ok[i] = 1;
        std::string nf = dedup_normal_form(doc.text);
        if (opt.exact) exact[base + i] = xxh3_64(nf) | 1;  // never 0 (0 = "no exact hash")
        if (opt.near) {
          std::vector<uint32_t> s = minhash_signature(shingles(nf, opt.minhash.ngram), opt.minhash);
          std::copy(s.begin(), s.end(), sigs.begin() + (base + i) * k);
        }
        ids[base + i] = std::move(doc.id);
      });
    }
    err.rethrow();
    for (size_t i = 0; i < lines.size(); ++i) good[base + i] = ok[i] != 0;
    lines.clear();
  };
  Progress progress("dedup", 0, "docs");
  for (const auto& f : inputs) {
    LineReader r(f);
    std::string_view line;
    while (r.next(line)) {
      lines.emplace_back(line);
      if (lines.size() == batch) run_batch(), progress.update(double(exact.size()));
    }
  }
  run_batch();
  // Bad lines take no part in clustering.
  for (size_t i = 0; i < good.size(); ++i)
    if (!good[i]) exact[i] = 0;
  std::vector<uint32_t> no_sigs;
  if (opt.near)
    for (size_t i = 0; i < good.size(); ++i)
      if (!good[i])  // a unique signature so it never collides
        for (size_t q = 0; q < k; ++q) sigs[i * k + q] = static_cast<uint32_t>(xxh3_64(std::to_string(i), q));
  DedupResult res = cluster_duplicates(exact, opt.near ? sigs : no_sigs, opt.minhash);
  sigs.clear();
  sigs.shrink_to_fit();

  // Pass 2: write.
  AtomicWriter out(output);
  AtomicWriter rej(rejects);
  size_t i = 0;
  for (const auto& f : inputs) {
    LineReader r(f);
    std::string_view line;
    while (r.next(line)) {
      std::string where = fmt::format("{}:{}", opt.where_label.empty() ? f : opt.where_label, r.line_number());
      ++counts["input.lines"];
      Document doc;
      std::string rule, why;
      if (!parse_document(line, doc, rule, why, opt.text_field)) {
        ++counts["removed." + rule];
        rej.write_line(bad_input_record(rule, where, why, line));
      } else if (res.keeper[i] != i) {
        std::string r_rule = res.exact[i] ? "dedup.exact" : "dedup.near";
        ++counts["removed." + r_rule];
        rej.write_line(reject_record(r_rule, where, doc,
                                     json{{"duplicate_of", ids[res.keeper[i]]}, {"cluster_size", res.cluster_size[i]}}));
      } else {
        if (res.cluster_size[i] > 1) doc.meta["dedup_cluster_size"] = res.cluster_size[i];
        ++counts["output.documents"];
        out.write_line(to_json_line(doc));
      }
      ++i;
    }
  }
  out.commit();
  rej.commit();
  progress.update(double(i));
  progress.finish(fmt::format("{} kept of {}", counts["output.documents"], i));
  return counts;
}

}  // namespace kormo::data
