// kormo data: curation verbs (ingest, normalize, langid, filter, dedup,
// decontam, mix, stats, pipeline). Argument parsing only; the work is in
// src/kormo/data.
#include <fmt/format.h>
#include <omp.h>

#include <cstdio>
#include <memory>

#include "kormo/data/debian.h"
#include "kormo/data/dedup_job.h"
#include "kormo/data/ingest.h"
#include "kormo/data/job.h"
#include "kormo/data/langid.h"
#include "kormo/data/mix.h"
#include "kormo/data/pipeline.h"
#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"
#include "verb.h"

namespace kormo::cli {
namespace {

using data::Counts;

// Options shared by the sharded per-document verbs.
struct JobArgs {
  std::vector<std::string> inputs;
  std::string output, rejects, work_dir, text_field = "text";
  size_t shard_docs = 5000;
  int threads = 0;
};

void add_job_options(CLI::App* c, JobArgs& a) {
  c->add_option("inputs", a.inputs, "Document files (JSONL, .zst ok), directories or globs")->required();
  c->add_option("-o,--output", a.output, "Output documents (.jsonl or .jsonl.zst)")->required();
  c->add_option("--rejects", a.rejects, "Rejects file (default: OUTPUT with .rejects.jsonl)");
  c->add_option("--work-dir", a.work_dir, "Shards and completion markers (default: OUTPUT.work); rerun to resume");
  c->add_option("--shard-docs", a.shard_docs, "Documents per shard")->check(CLI::PositiveNumber);
  c->add_option("--threads", a.threads, "Worker threads (default: all cores)");
  c->add_option("--text-field", a.text_field, "JSON field holding the text");
}

void print_counts(const Counts& c) {
  for (const auto& [k, v] : c) log_info("  {:<52} {}", k, v);
}

void run_stage_job(const JobArgs& a, const data::StageConfig& sc) {
  if (a.threads > 0) omp_set_num_threads(a.threads);
  data::JobOptions jo;
  jo.inputs = expand_inputs(a.inputs);
  jo.output = a.output;
  jo.rejects = a.rejects;
  jo.work_dir = a.work_dir;
  jo.shard_docs = a.shard_docs;
  jo.fingerprint = sc.describe();
  jo.fingerprint["text_field"] = a.text_field;
  data::JobReport rep = data::run_sharded_job(jo, data::document_line_fn(sc, a.text_field));
  if (!rep.merged) {
    log_info("rank done: {} shards in all", rep.shards);
    return;
  }
  log_info("wrote {} ({} shards, {} reused from an earlier run); rejects in {}", rep.output, rep.shards,
           rep.shards_done_before, rep.rejects);
  print_counts(rep.counts);
}

const char* kDataExamples = R"(Documents are JSON Lines {"id","text","lang","source","synthetic","meta"} (.zst ok).
Every removed or altered document goes to a rejects file with its rule.

Examples:
  kormo data ingest --source debian --limit 500 -o raw.jsonl          # real ko/en text via apt-get download
  kormo data ingest corpus/*.txt --split paragraph -o raw.jsonl
  kormo data ingest petitions.jsonl --field title --field content -o raw.jsonl
  kormo data normalize raw.jsonl -o norm.jsonl
  kormo data langid norm.jsonl -o lid.jsonl --keep ko,en
  kormo data filter lid.jsonl -o good.jsonl                            # Gopher + C4 + FineWeb + PII
  kormo data dedup good.jsonl -o dedup.jsonl
  kormo data decontam dedup.jsonl --eval 'bench/**/*.jsonl' -o clean.jsonl
  kormo data mix clean.jsonl --by lang --target ko=0.6 --target en=0.4 -o mix.jsonl
  kormo data stats mix.jsonl --rejects good.rejects.jsonl
  kormo data pipeline configs/data/debian-demo.toml                    # all of the above from one config
  mpirun -np 4 kormo data pipeline big.toml                            # same output as one process
See docs/data.md for rules, thresholds and file formats.)";

void setup(CLI::App& verb) {
  verb.footer(kDataExamples);
  verb.require_subcommand(1);

  // ingest
  {
    auto* c = verb.add_subcommand("ingest", "Raw files (text, JSONL, JSON, CSV/TSV, HTML) or Debian packages -> documents");
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto out = std::make_shared<std::string>();
    auto rejects = std::make_shared<std::string>();
    auto opt = std::make_shared<data::IngestOptions>();
    auto deb = std::make_shared<data::DebianOptions>();
    auto source = std::make_shared<std::string>("files");
    auto fields = std::make_shared<std::vector<std::string>>();
    c->add_option("inputs", *inputs, "Files, directories or globs (not with --source debian)");
    c->add_option("-o,--output", *out, "Output documents")->required();
    c->add_option("--rejects", *rejects, "Rejects file (default: OUTPUT with .rejects.jsonl)");
    c->add_option("--source", *source, "files (default) or debian (apt-get download + dpkg-deb -x, nothing installed)")
        ->check(CLI::IsMember({"files", "debian"}));
    c->add_option("--format", opt->format, "auto (by suffix), text, jsonl, json, csv, tsv, html");
    c->add_option("--split", opt->split, "text: one document per file, paragraph (blank-line block) or line");
    c->add_option("--field", *fields, "Text field(s) for jsonl/json or column(s) for csv/tsv (repeat to join)");
    c->add_option("--lang", opt->lang, "Language to record (default: empty, set by langid)");
    c->add_option("--name", opt->source, "Source name recorded in each document (default: the format)");
    c->add_option("--limit", opt->limit, "Stop after this many documents");
    c->add_option("--packages", deb->packages, "Debian packages (default: LibreOffice help ko/en, Debian FAQ ko/en, "
                                               "installation guide, coreutils dpkg apt grep findutils catalogs)")
        ->delimiter(',');
    c->add_option("--cache-dir", deb->cache_dir, "Where .deb files are kept and extracted (default ~/.cache/kormo/debian)");
    c->callback([=] {
      std::string rej_path = rejects->empty() ? data::default_rejects_path(*out) : *rejects;
      data::check_output_path(*out);
      data::check_output_path(rej_path);
      AtomicWriter docs(*out);
      AtomicWriter rej(rej_path);
      data::IngestSink sink{&docs, &rej};
      if (*source == "debian") {
        if (!inputs->empty()) fail_usage("--source debian takes no input files");
        deb->limit = opt->limit;
        data::ingest_debian(*deb, sink);
      } else {
        if (inputs->empty()) fail_usage("no input files (or use --source debian)");
        if (!fields->empty()) opt->fields = *fields;
        data::ingest_files(expand_inputs(*inputs), *opt, sink);
      }
      docs.commit();
      rej.commit();
      log_info("wrote {} documents to {}", sink.written, *out);
      print_counts(sink.counts);
    });
  }

  // normalize
  {
    auto* c = verb.add_subcommand("normalize", "NFC/NFKC, whitespace and control characters, boilerplate rules");
    auto a = std::make_shared<JobArgs>();
    add_job_options(c, *a);
    auto form = std::make_shared<std::string>("NFC");
    auto rules = std::make_shared<std::string>();
    auto no_builtin = std::make_shared<bool>(false);
    c->add_option("--form", *form, "NFC (default) or NFKC")->check(CLI::IsMember({"NFC", "NFKC"}));
    c->add_option("--rules", *rules, "Extra boilerplate rules file (cut_before/cut_after/drop_line TEXT)");
    c->add_flag("--no-builtin-rules", *no_builtin, "Do not apply the built-in Project Gutenberg rules");
    c->callback([=] {
      data::StageConfig sc;
      sc.normalize = true;
      sc.form = *form == "NFKC" ? text::NormForm::kNFKC : text::NormForm::kNFC;
      if (*no_builtin) sc.boilerplate.clear();
      if (!rules->empty()) {
        auto extra = data::parse_boilerplate_rules(read_file(*rules), *rules);
        sc.boilerplate.insert(sc.boilerplate.end(), extra.begin(), extra.end());
      }
      run_stage_job(*a, sc);
    });
  }

  // langid
  {
    auto* c = verb.add_subcommand("langid", "Identify ko / en / other with a score; keep chosen languages");
    auto a = std::make_shared<JobArgs>();
    add_job_options(c, *a);
    auto keep = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"ko", "en"});
    auto keep_all = std::make_shared<bool>(false);
    auto min_score = std::make_shared<double>(-1);
    c->add_option("--keep", *keep, "Languages to keep (default ko,en)")->delimiter(',');
    c->add_flag("--keep-all", *keep_all, "Only label (meta.lang_score, lang); remove nothing");
    c->add_option("--min-score", *min_score,
                  fmt::format("Score threshold for every language (default: ko {}, en {})",
                              data::default_thresholds("ko").lang_score, data::default_thresholds("en").lang_score));
    c->callback([=] {
      data::StageConfig sc;
      sc.langid = true;
      default_threshold_table(sc);
      sc.keep_langs = *keep_all ? std::vector<std::string>{} : *keep;
      for (auto& [l, t] : sc.thresholds) t.lang_score = *keep_all ? 0.0 : (*min_score >= 0 ? *min_score : t.lang_score);
      run_stage_job(*a, sc);
    });
  }

  // filter
  {
    auto* c = verb.add_subcommand("filter", "Gopher quality/repetition, C4, FineWeb rules and PII masking");
    auto a = std::make_shared<JobArgs>();
    add_job_options(c, *a);
    auto config = std::make_shared<std::string>();
    auto skip = std::make_shared<std::vector<std::string>>();
    c->add_option("--config", *config, "TOML with a [filter] section ([filter.ko], [filter.en] thresholds)");
    c->add_option("--skip", *skip, "Rule groups to skip: pii, gopher_repetition, gopher_quality, c4, fineweb")
        ->delimiter(',');
    c->callback([=] {
      data::StageConfig sc;
      sc.filter = true;
      default_threshold_table(sc);
      if (!config->empty()) {
        toml::table t = load_toml(*config);
        ConfigSection top(&t, *config);
        ConfigSection f = top.section("filter");
        read_filter_config(f, sc);
        f.check_unused();
      }
      for (const auto& s : *skip) {
        if (s == "pii") sc.pii = false;
        else if (s == "gopher_repetition") sc.gopher_repetition = false;
        else if (s == "gopher_quality") sc.gopher_quality = false;
        else if (s == "c4") sc.c4 = false;
        else if (s == "fineweb") sc.fineweb = false;
        else fail_usage("--skip: unknown rule group \"{}\"", s);
      }
      run_stage_job(*a, sc);
    });
  }

  // decontam
  {
    auto* c = verb.add_subcommand("decontam", "Remove or flag documents sharing long n-grams with evaluation sets");
    auto a = std::make_shared<JobArgs>();
    add_job_options(c, *a);
    auto evals = std::make_shared<std::vector<std::string>>();
    auto ngram = std::make_shared<int>(data::DecontamIndex::kDefaultNgram);
    auto min_words = std::make_shared<int>(data::DecontamIndex::kDefaultMinWords);
    auto flag = std::make_shared<bool>(false);
    c->add_option("--eval", *evals, "Evaluation files (JSONL/TSV/CSV), directories or globs")->required();
    c->add_option("--ngram", *ngram, fmt::format("Words per n-gram (default {})", *ngram))->check(CLI::PositiveNumber);
    c->add_option("--min-words", *min_words, "Shorter eval segments of at least this many words match whole");
    c->add_flag("--flag", *flag, "Keep contaminated documents, marked in meta.contamination");
    c->callback([=] {
      data::StageConfig sc;
      sc.decontam = std::make_shared<data::DecontamIndex>(*ngram, *min_words);
      for (const auto& f : expand_inputs(*evals)) sc.decontam->add_file(f);
      log_info("decontam: {} n-grams from {} evaluation files", sc.decontam->size(), sc.decontam->files().size());
      sc.decontam_flag_only = *flag;
      run_stage_job(*a, sc);
    });
  }

  // dedup
  {
    auto* c = verb.add_subcommand("dedup", "Exact (xxh3) and near-duplicate (MinHash-LSH) removal; keeps the first");
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto out = std::make_shared<std::string>();
    auto rejects = std::make_shared<std::string>();
    auto o = std::make_shared<data::DedupOptions>();
    auto no_exact = std::make_shared<bool>(false), no_near = std::make_shared<bool>(false);
    auto threads = std::make_shared<int>(0);
    c->add_option("inputs", *inputs, "Document files")->required();
    c->add_option("-o,--output", *out, "Output documents")->required();
    c->add_option("--rejects", *rejects, "Rejects file (default: OUTPUT with .rejects.jsonl)");
    data::MinHashParams& mh = o->minhash;
    c->add_option("--ngram", mh.ngram, fmt::format("Words per shingle (default {})", mh.ngram))
        ->check(CLI::PositiveNumber);
    c->add_option("--bands", mh.bands, fmt::format("LSH bands (default {})", mh.bands))->check(CLI::PositiveNumber);
    c->add_option("--rows", mh.rows, fmt::format("Hashes per band (default {})", mh.rows))->check(CLI::PositiveNumber);
    c->add_option("--verify", mh.verify_threshold,
                  fmt::format("Accept a band collision when the MinHash Jaccard estimate reaches this (default {}; 0 = off)",
                              mh.verify_threshold));
    c->add_option("--seed", mh.seed, "Hash seed");
    c->add_flag("--no-exact", *no_exact, "Skip exact dedup");
    c->add_flag("--no-near", *no_near, "Skip near-duplicate dedup");
    c->add_option("--threads", *threads, "Worker threads");
    c->add_option("--text-field", o->text_field, "JSON field holding the text");
    c->callback([=] {
      if (*threads > 0) omp_set_num_threads(*threads);
      o->exact = !*no_exact;
      o->near = !*no_near;
      Counts counts = data::dedup_files(expand_inputs(*inputs), *out,
                                        rejects->empty() ? data::default_rejects_path(*out) : *rejects, *o);
      print_counts(counts);
    });
  }

  // mix
  {
    auto* c = verb.add_subcommand("mix", "Sample to target shares by language/source/synthetic (deterministic)");
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto out = std::make_shared<std::string>();
    auto o = std::make_shared<data::MixOptions>();
    auto targets = std::make_shared<std::vector<std::string>>();
    auto unit = std::make_shared<std::string>("docs");
    c->add_option("inputs", *inputs, "Document files")->required();
    c->add_option("-o,--output", *out, "Output documents")->required();
    c->add_option("--by", o->by, "Group key fields: lang, source, synthetic (default lang)")->delimiter(',');
    c->add_option("--target", *targets, "GROUP=SHARE, e.g. ko=0.6 or ko/synthetic=0.3 (repeat)")->required();
    c->add_option("--unit", *unit, "Shares of docs (default) or chars")->check(CLI::IsMember({"docs", "chars"}));
    c->add_option("--total", o->total, "Output size in units (default: the input's size)");
    c->add_option("--seed", o->seed, "Sampling seed");
    c->add_flag("--keep-others", o->keep_others, "Keep groups without a target unchanged");
    c->callback([=] {
      for (const auto& t : *targets) {
        size_t eq = t.rfind('=');
        if (eq == std::string::npos || eq == 0) fail_usage("--target {}: expected GROUP=SHARE", t);
        try {
          o->targets[t.substr(0, eq)] = std::stod(t.substr(eq + 1));
        } catch (const std::exception&) {
          fail_usage("--target {}: expected a number after '='", t);
        }
      }
      o->by_chars = *unit == "chars";
      auto report = data::mix_files(expand_inputs(*inputs), *out, *o);
      std::printf("%s\n", report.dump(1).c_str());
    });
  }

  // stats
  {
    auto* c = verb.add_subcommand("stats", "Documents, characters, bytes per language/source; synthetic share; rejects");
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto rejects = std::make_shared<std::vector<std::string>>();
    auto json_out = std::make_shared<bool>(false);
    c->add_option("inputs", *inputs, "Document files")->required();
    c->add_option("--rejects", *rejects, "Rejects files to count removals per rule");
    c->add_flag("--json", *json_out, "Print JSON instead of a table");
    c->callback([=] {
      std::vector<std::string> rej;
      if (!rejects->empty()) rej = expand_inputs(*rejects);
      auto s = data::corpus_stats(expand_inputs(*inputs), rej);
      std::printf("%s", *json_out ? (s.dump(1) + "\n").c_str() : data::format_stats(s).c_str());
    });
  }

  // pipeline
  {
    auto* c = verb.add_subcommand("pipeline", "ingest -> normalize -> langid -> filter -> decontam -> dedup from a TOML config");
    auto config = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    auto threads = std::make_shared<int>(0);
    c->add_option("config", *config, "Pipeline config (see configs/data/*.toml)")->required();
    c->add_option("-o,--output", *out, "Override [pipeline] output");
    c->add_option("--threads", *threads, "Worker threads");
    c->callback([=] {
      if (*threads > 0) omp_set_num_threads(*threads);
      auto summary = data::run_pipeline(*config, *out);
      if (!summary.empty()) std::printf("%s\n", summary.dump(1).c_str());
    });
  }
}

}  // namespace

KORMO_VERB("data", "Curate text: ingest, normalize, langid, filter, dedup, decontam, mix, stats, pipeline", 10, setup);

}  // namespace kormo::cli
