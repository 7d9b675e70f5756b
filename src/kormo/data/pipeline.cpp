#include "kormo/data/pipeline.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "kormo/data/debian.h"
#include "kormo/data/dedup_job.h"
#include "kormo/data/ingest.h"
#include "kormo/data/job.h"
#include "kormo/data/kinds.h"
#include "kormo/data/langid.h"
#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"

namespace kormo::data {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void append_lines(AtomicWriter& w, const std::string& path) {
  if (!fs::exists(path)) return;
  LineReader r(path);
  std::string_view line;
  while (r.next(line)) w.write_line(line);
}

}  // namespace

json run_pipeline(const std::string& config_path, const std::string& output_override) {
  toml::table root = load_toml(config_path);
  ConfigSection top(&root, config_path);
  ConfigSection pipe = top.section("pipeline");
  std::string output = pipe.get_string("output", "");
  if (!output_override.empty()) output = output_override;
  if (output.empty()) fail("{} [pipeline]: expected an output path (output = \"...\") or -o", config_path);
  std::string work = pipe.get_string("work_dir", output + ".work");
  std::string rejects = pipe.get_string("rejects", default_rejects_path(output));
  int64_t shard_docs_value = pipe.get_int("shard_docs", 5000);
  if (shard_docs_value < 1) fail("{} [pipeline] shard_docs: expected a positive number", config_path);
  size_t shard_docs = static_cast<size_t>(shard_docs_value);
  std::vector<std::string> inputs = pipe.get_strings("inputs", {});
  double wait_timeout = pipe.get_double("wait_timeout_s", 0);
  pipe.check_unused();
  Launch launch = launch_from_env();
  // Checked before any output is written (ingest included), so a refused
  // run has replaced nothing.
  auto check_outputs = [&](const std::vector<std::string>& patterns) {
    std::vector<std::string> expanded = patterns.empty() ? patterns : expand_inputs(patterns);
    check_output_path(output, expanded);
    check_output_path(rejects, expanded);
  };
  check_outputs(inputs);
  make_dirs(work);

  // Ingest (rank 0; others wait for its marker).
  ConfigSection ing = top.section("ingest");
  std::string ingest_out = work + "/ingested.jsonl.zst", ingest_rej = work + "/ingested.rejects.jsonl";
  Counts ingest_counts;
  bool have_ingest = ing.table() && !ing.table()->empty();
  if (have_ingest) {
    std::string kind = ing.get_string("source", "files");
    IngestOptions io;
    io.format = ing.get_string("format", io.format);
    io.split = ing.get_string("split", io.split);
    io.fields = ing.get_strings("fields", io.fields);
    io.lang = ing.get_string("lang", io.lang);
    io.source = ing.get_string("name", io.source);
    io.limit = static_cast<size_t>(ing.get_int("limit", 0));
    DebianOptions dopt;
    dopt.packages = ing.get_strings("packages", {});
    dopt.cache_dir = ing.get_string("cache_dir", "");
    dopt.limit = io.limit;
    std::vector<std::string> files = ing.get_strings("files", {});
    ing.check_unused();
    check_outputs(files);
    std::string marker = work + "/ingested.done";
    if (launch.rank == 0 && !fs::exists(marker)) {
      AtomicWriter docs(ingest_out), rej(ingest_rej);
      IngestSink sink{&docs, &rej};
      if (kind == "debian") ingest_debian(dopt, sink);
      else if (kind == "files") ingest_files(expand_inputs(files), io, sink);
      else fail("{} [ingest] source: expected \"files\" or \"debian\", got \"{}\"", config_path, kind);
      docs.commit();
      rej.commit();
      write_file_atomic(marker, counts_to_json(sink.counts).dump());
    }
    while (!fs::exists(marker)) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ingest_counts = counts_from_json(json::parse(read_file(marker)));
    inputs.insert(inputs.begin(), ingest_out);
  }
  if (inputs.empty()) fail("{}: give [pipeline] inputs or an [ingest] section", config_path);
  std::vector<std::string> files;
  for (const auto& i : inputs) {
    if (i == ingest_out) {
      files.push_back(i);
      continue;
    }
    for (const auto& f : expand_inputs({i})) files.push_back(f);
  }

  // Per-document stages.
  StageConfig sc;
  default_threshold_table(sc);
  ConfigSection norm = top.section("normalize");
  sc.normalize = norm.get_bool("enabled", true);
  std::string form = norm.get_string("form", "NFC");
  if (form != "NFC" && form != "NFKC") fail("{} [normalize] form: expected NFC or NFKC", config_path);
  sc.form = form == "NFC" ? text::NormForm::kNFC : text::NormForm::kNFKC;
  std::string rules = norm.get_string("rules", "");
  if (!rules.empty()) {
    auto extra = parse_boilerplate_rules(read_file(rules), rules);
    if (!norm.get_bool("builtin_rules", true)) sc.boilerplate.clear();
    sc.boilerplate.insert(sc.boilerplate.end(), extra.begin(), extra.end());
  } else if (!norm.get_bool("builtin_rules", true)) {
    sc.boilerplate.clear();
  }
  norm.check_unused();
  ConfigSection lid = top.section("langid");
  sc.langid = lid.get_bool("enabled", true);
  sc.keep_langs = lid.get_strings("keep", sc.keep_langs);
  sc.set_lang = lid.get_bool("set_lang", true);
  std::string lid_model = lid.get_string("model", "");
  lid.check_unused();
  if (sc.langid && !lid_model.empty()) {
    sc.langid_model = load_language_model(lid_model, sc.keep_langs);
    check_outputs({lid_model});
  }
  ConfigSection flt = top.section("filter");
  sc.filter = flt.get_bool("enabled", true);
  read_filter_config(flt, sc);
  flt.check_unused();
  if (top.has("kind")) sc.kinds = std::make_shared<TextKinds>(sc.thresholds, top);
  sc.classifiers = read_classifier_config(top);
  ConfigSection dc = top.section("decontam");
  std::vector<std::string> eval_files = dc.get_strings("files", {});
  bool dc_on = dc.get_bool("enabled", !eval_files.empty());
  if (dc_on) {
    DecontamOptions o;
    o.ngram = static_cast<int>(dc.get_int("ngram", o.ngram));
    o.min_words = static_cast<int>(dc.get_int("min_words", o.min_words));
    o.hangul_chars = static_cast<int>(dc.get_int("hangul_chars", o.hangul_chars));
    o.min_hangul_chars = static_cast<int>(dc.get_int("min_hangul_chars", o.min_hangul_chars));
    sc.decontam = std::make_shared<DecontamIndex>(o);
    for (const auto& f : expand_inputs(eval_files)) sc.decontam->add_file(f);
    std::string action = dc.get_string("action", "remove");
    if (action != "remove" && action != "flag") fail("{} [decontam] action: expected remove or flag", config_path);
    sc.decontam_flag_only = action == "flag";
  }
  dc.check_unused();
  ConfigSection dd = top.section("dedup");
  DedupOptions dopt;
  bool dedup_on = dd.get_bool("enabled", true);
  dopt.exact = dd.get_bool("exact", true);
  dopt.near = dd.get_bool("near", true);
  MinHashParams& mh = dopt.minhash;
  mh.ngram = static_cast<int>(dd.get_int("ngram", mh.ngram));
  mh.bands = static_cast<int>(dd.get_int("bands", mh.bands));
  mh.rows = static_cast<int>(dd.get_int("rows", mh.rows));
  mh.verify_threshold = dd.get_double("verify_threshold", mh.verify_threshold);
  mh.seed = static_cast<uint64_t>(dd.get_int("seed", static_cast<int64_t>(mh.seed)));
  dopt.where_label = "stages.jsonl";
  if (dopt.minhash.ngram < 1 || dopt.minhash.bands < 1 || dopt.minhash.rows < 1)
    fail("{} [dedup]: ngram, bands and rows must be positive", config_path);
  dd.check_unused();
  top.check_unused();

  JobOptions jo;
  jo.inputs = files;
  jo.output = dedup_on ? work + "/stages.jsonl" : output;
  jo.rejects = work + "/stages.rejects.jsonl";
  jo.work_dir = work + "/shards";
  jo.shard_docs = shard_docs;
  jo.fingerprint = sc.describe();
  jo.wait_timeout_s = wait_timeout;
  JobReport rep = run_sharded_job(jo, document_line_fn(sc), launch);
  json summary = json::object();
  if (!rep.merged) return summary;  // ranks > 0 are done

  Counts all = ingest_counts;
  for (auto& [k, v] : rep.counts)
    if (k != "output.documents") all["stages." + k] += v;
  if (dedup_on) {
    Counts dc_counts = dedup_files({jo.output}, output, work + "/dedup.rejects.jsonl", dopt);
    for (auto& [k, v] : dc_counts)
      if (k != "input.lines" && k != "output.documents") all["dedup." + k] += v;
    all["output.documents"] = dc_counts["output.documents"];
  } else {
    all["output.documents"] = rep.counts["output.documents"];
  }
  AtomicWriter rej(rejects);
  append_lines(rej, ingest_rej);
  append_lines(rej, jo.rejects);
  append_lines(rej, work + "/dedup.rejects.jsonl");
  rej.commit();
  summary = {{"output", output}, {"rejects", rejects}, {"counts", counts_to_json(all)},
             {"shards", rep.shards}, {"shards_done_before", rep.shards_done_before}};
  write_file_atomic(work + "/summary.json", summary.dump(1));
  return summary;
}

}  // namespace kormo::data
