// kormo data: curation verbs (ingest, normalize, langid, filter, classify,
// pairs, perplexity, dedup, decontam, mix, stats, pipeline), one add_<subcommand>() each. Argument
// parsing only; the work is in src/kormo/data.
#include <fmt/format.h>
#include <omp.h>

#include <cstdio>
#include <memory>
#include <span>
#include <stdexcept>
#include <tuple>

#include "kormo/data/classifier.h"
#include "kormo/data/debian.h"
#include "kormo/data/dedup_job.h"
#include "kormo/data/ingest.h"
#include "kormo/data/job.h"
#include "kormo/data/kinds.h"
#include "kormo/data/langid.h"
#include "kormo/data/mix.h"
#include "kormo/data/pairs.h"
#include "kormo/data/pipeline.h"
#include "kormo/eval/perplexity.h"
#include "kormo/model/runner.h"
#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"
#include "verb.h"

namespace kormo::cli {
namespace cmd_data {

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

void set_threads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}

void print_counts(const Counts& c) {
  for (const auto& [k, v] : c) log_info("  {:<52} {}", k, v);
}

// `also_read`: files the stages read besides the documents (eval sets, rules),
// which the outputs must not replace either.
void run_stage_job(const JobArgs& a, const data::StageConfig& sc, const std::vector<std::string>& also_read = {}) {
  set_threads(a.threads);
  data::JobOptions jo;
  jo.inputs = expand_inputs(a.inputs);
  data::check_output_path(a.output, also_read);
  data::check_output_path(a.rejects.empty() ? data::default_rejects_path(a.output) : a.rejects, also_read);
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

void add_ingest(CLI::App& verb) {
  struct Args {
    std::vector<std::string> inputs, fields;
    std::string output, rejects, source = "files";
    data::IngestOptions files;
    data::DebianOptions debian;
  };
  auto a = std::make_shared<Args>();
  auto* c = verb.add_subcommand("ingest", "Raw files (text, JSONL, JSON, CSV/TSV, HTML) or Debian packages -> documents");
  c->add_option("inputs", a->inputs, "Files, directories or globs (not with --source debian)");
  c->add_option("-o,--output", a->output, "Output documents")->required();
  c->add_option("--rejects", a->rejects, "Rejects file (default: OUTPUT with .rejects.jsonl)");
  c->add_option("--source", a->source, "files (default) or debian (apt-get download + dpkg-deb -x, nothing installed)")
      ->check(CLI::IsMember({"files", "debian"}));
  c->add_option("--format", a->files.format, "auto (by suffix), text, jsonl, json, csv, tsv, html");
  c->add_option("--split", a->files.split, "text: one document per file, paragraph (blank-line block) or line");
  c->add_option("--field", a->fields, "Text field(s) for jsonl/json or column(s) for csv/tsv (repeat to join)");
  c->add_option("--lang", a->files.lang, "Language to record (default: empty, set by langid)");
  c->add_option("--name", a->files.source, "Source name recorded in each document (default: the format)");
  c->add_option("--limit", a->files.limit, "Stop after this many documents");
  c->add_option("--packages", a->debian.packages, "Debian packages (default: LibreOffice help ko/en, Debian FAQ ko/en, "
                                                  "installation guide, coreutils dpkg apt grep findutils catalogs)")
      ->delimiter(',');
  c->add_option("--cache-dir", a->debian.cache_dir, "Where .deb files are kept and extracted (default ~/.cache/kormo/debian)");
  c->callback([a] {
    const bool debian = a->source == "debian";
    if (debian && !a->inputs.empty()) fail_usage("--source debian takes no input files");
    if (!debian && a->inputs.empty()) fail_usage("no input files (or use --source debian)");
    std::string rej_path = a->rejects.empty() ? data::default_rejects_path(a->output) : a->rejects;
    std::vector<std::string> inputs = debian ? std::vector<std::string>{} : expand_inputs(a->inputs);
    data::check_output_path(a->output, inputs);
    data::check_output_path(rej_path, inputs);
    AtomicWriter docs(a->output);
    AtomicWriter rej(rej_path);
    data::IngestSink sink{&docs, &rej};
    if (debian) {
      a->debian.limit = a->files.limit;
      data::ingest_debian(a->debian, sink);
    } else {
      if (!a->fields.empty()) a->files.fields = a->fields;
      data::ingest_files(inputs, a->files, sink);
    }
    docs.commit();
    rej.commit();
    log_info("wrote {} documents to {}", sink.written, a->output);
    print_counts(sink.counts);
  });
}

void add_normalize(CLI::App& verb) {
  struct Args {
    JobArgs job;
    std::string form = "NFC", rules;
    bool no_builtin = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = verb.add_subcommand("normalize", "NFC/NFKC, whitespace and control characters, boilerplate rules");
  add_job_options(c, a->job);
  c->add_option("--form", a->form, "NFC (default) or NFKC")->check(CLI::IsMember({"NFC", "NFKC"}));
  c->add_option("--rules", a->rules, "Extra boilerplate rules file (cut_before/cut_after/drop_line TEXT)");
  c->add_flag("--no-builtin-rules", a->no_builtin, "Do not apply the built-in Project Gutenberg rules");
  c->callback([a] {
    data::StageConfig sc;
    sc.normalize = true;
    sc.form = a->form == "NFKC" ? text::NormForm::kNFKC : text::NormForm::kNFC;
    if (a->no_builtin) sc.boilerplate.clear();
    if (!a->rules.empty()) {
      auto extra = data::parse_boilerplate_rules(read_file(a->rules), a->rules);
      sc.boilerplate.insert(sc.boilerplate.end(), extra.begin(), extra.end());
    }
    run_stage_job(a->job, sc, a->rules.empty() ? std::vector<std::string>{} : std::vector<std::string>{a->rules});
  });
}

void add_langid(CLI::App& verb) {
  struct Args {
    JobArgs job;
    std::vector<std::string> keep = {"ko", "en"};
    bool keep_all = false;
    double min_score = -1;  // < 0: each language's default
    std::string model;
  };
  auto a = std::make_shared<Args>();
  auto* c = verb.add_subcommand("langid", "Identify ko / en / other with a score; keep chosen languages");
  add_job_options(c, a->job);
  c->add_option("--model", a->model,
                "fastText language-ID model (lid.176.bin-style, labels __label__ko, __label__en, ...) instead of the "
                "built-in identifier");
  c->add_option("--keep", a->keep, "Languages to keep (default ko,en)")->delimiter(',');
  c->add_flag("--keep-all", a->keep_all, "Only label (meta.lang_score, lang); remove nothing");
  c->add_option("--min-score", a->min_score,
                fmt::format("Score threshold for every language (default: ko {}, en {})",
                            data::default_thresholds("ko").lang_score, data::default_thresholds("en").lang_score));
  c->callback([a] {
    data::StageConfig sc;
    sc.langid = true;
    default_threshold_table(sc);
    sc.keep_langs = a->keep_all ? std::vector<std::string>{} : a->keep;
    for (auto& [l, t] : sc.thresholds)
      t.lang_score = a->keep_all ? 0.0 : (a->min_score >= 0 ? a->min_score : t.lang_score);
    if (!a->model.empty()) sc.langid_model = data::load_language_model(a->model, sc.keep_langs);
    run_stage_job(a->job, sc, a->model.empty() ? std::vector<std::string>{} : std::vector<std::string>{a->model});
  });
}

void add_filter(CLI::App& verb) {
  struct Args {
    JobArgs job;
    std::string config, kind;
    std::vector<std::string> skip;
  };
  auto a = std::make_shared<Args>();
  auto* c = verb.add_subcommand("filter", "Gopher quality/repetition, C4, FineWeb rules, PII masking, fastText classifiers");
  add_job_options(c, a->job);
  c->add_option("--config", a->config,
                "TOML with a [filter] section ([filter.ko], [filter.en] thresholds) and [classifier.NAME] steps");
  c->add_option("--skip", a->skip,
                "Rule groups to skip: pii, gopher_repetition, gopher_quality, c4, fineweb, classifier")
      ->delimiter(',');
  c->add_option("--kind", a->kind,
                "Short-text kind of documents that name none in meta.kind: comment, qa, chat, title, or a [kind.NAME] "
                "of --config");
  c->callback([a] {
    data::StageConfig sc;
    sc.filter = true;
    default_threshold_table(sc);
    toml::table t = a->config.empty() ? toml::table{} : load_toml(a->config);
    ConfigSection top(&t, a->config);
    ConfigSection f = top.section("filter");
    read_filter_config(f, sc);
    f.check_unused();
    sc.classifiers = data::read_classifier_config(top);
    if (top.has("kind") || !a->kind.empty()) sc.kinds = std::make_shared<data::TextKinds>(sc.thresholds, top, a->kind);
    for (const auto& s : a->skip) {
      if (s == "classifier") sc.classifiers.clear();
      else if (s == "pii") sc.pii = false;
      else if (s == "gopher_repetition") sc.gopher_repetition = false;
      else if (s == "gopher_quality") sc.gopher_quality = false;
      else if (s == "c4") sc.c4 = false;
      else if (s == "fineweb") sc.fineweb = false;
      else fail_usage("--skip: unknown rule group \"{}\"", s);
    }
    std::vector<std::string> models;
    for (const auto& cl : sc.classifiers) models.push_back(cl.model_path);
    run_stage_job(a->job, sc, models);
  });
}

void add_classify(CLI::App& verb) {
  auto o = std::make_shared<data::ClassifierTrainOptions>();
  auto maps = std::make_shared<std::vector<std::string>>();
  auto* c = verb.add_subcommand("classify", "fastText document classifiers (quality, toxicity, ...)");
  c->require_subcommand(1);
  auto* t = c->add_subcommand("train", "Train a fastText classifier; prints validation precision/recall as JSON");
  t->add_option("labelled", o->labelled, "Labelled documents (JSONL with text and a label field)");
  t->add_option("--positive", o->positive, "Documents labelled with --pos-label (with --negative)");
  t->add_option("--negative", o->negative, "Documents labelled with --neg-label (with --positive)");
  t->add_option("--pos-label", o->pos_label, "Label of --positive documents (default pos)");
  t->add_option("--neg-label", o->neg_label, "Label of --negative documents (default neg)");
  t->add_option("-o,--output", o->output, "The model (.bin), written under a temporary name and renamed")->required();
  t->add_option("--valid", o->valid, "Labelled validation documents (default: hold out --valid-fraction)");
  t->add_option("--valid-fraction", o->valid_fraction, "Share held out for validation, by text hash (default 0.1)");
  t->add_option("--text-field", o->text_field, "JSON field holding the text (default text)");
  t->add_option("--label-field", o->label_field, "JSON field holding the label (default label)");
  t->add_option("--label-map", *maps, "FROM=TO: rename a label (repeat; e.g. hate=toxic offensive=toxic)");
  t->add_option("--dim", o->dim, fmt::format("Vector size (default {})", o->dim));
  t->add_option("--epoch", o->epoch, fmt::format("Passes over the data (default {})", o->epoch));
  t->add_option("--lr", o->lr, fmt::format("Learning rate (default {})", o->lr));
  t->add_option("--word-ngrams", o->word_ngrams, fmt::format("Word n-gram length (default {})", o->word_ngrams));
  t->add_option("--minn", o->minn, "Shortest character n-gram (default 0: none)");
  t->add_option("--maxn", o->maxn, "Longest character n-gram (default 0: none)");
  t->add_option("--bucket", o->bucket, fmt::format("Hash buckets for n-grams (default {})", o->bucket));
  t->add_option("--min-count", o->min_count, "Minimum word count (default 1)");
  t->add_option("--loss", o->loss, "softmax (default), hs or ova");
  t->add_option("--threads", o->threads, "Training threads (default 1: the same model on every run)");
  t->add_option("--seed", o->seed, "Seed of the shuffle, the split and fastText (default 0)");
  t->callback([o, maps] {
    for (const auto& m : *maps) {
      size_t eq = m.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == m.size()) fail_usage("--label-map {}: expected FROM=TO", m);
      o->label_map[m.substr(0, eq)] = m.substr(eq + 1);
    }
    std::vector<std::string> inputs;
    for (const auto* list : {&o->labelled, &o->positive, &o->negative, &o->valid})
      for (const auto& f : expand_inputs(*list)) inputs.push_back(f);
    data::check_output_path(o->output, inputs);
    nlohmann::json report = data::train_classifier(*o);
    log_info("wrote {}", o->output);
    std::printf("%s\n", report.dump(1).c_str());
  });
}

// Options of the verbs that score text with a checkpoint.
struct ModelArgs {
  std::string precision = "fp32", backend = "auto";
  int64_t batch_tokens = 4096;
  int threads = 0;
  eval::ScorerOptions scorer_options() const {
    return {.batch_tokens = batch_tokens, .precision = model::parse_precision(precision, "--precision")};
  }
};

void add_model_options(CLI::App* c, ModelArgs& m) {
  c->add_option("--precision", m.precision, "Model matrix products: fp32 (default) or bf16 (fp32 accumulation)");
  c->add_option("--backend", m.backend, "Backend: cpu, cuda, or auto (the GPU when one is visible, else cpu; docs/inference.md)");
  c->add_option("--batch-tokens", m.batch_tokens, "Tokens per forward pass (default 4096)")->check(CLI::PositiveNumber);
  c->add_option("--threads", m.threads, "CPU threads (default: all cores)");
}

// "A,B" -> (A, B); `what` names the option in errors.
std::pair<double, double> number_pair(const std::string& s, const std::string& what) {
  const size_t comma = s.find(',');
  try {
    size_t n1 = 0, n2 = 0;
    if (comma == std::string::npos) throw std::invalid_argument(s);
    double a = std::stod(s.substr(0, comma), &n1), b = std::stod(s.substr(comma + 1), &n2);
    if (n1 != comma || n2 != s.size() - comma - 1) throw std::invalid_argument(s);
    return {a, b};
  } catch (const std::exception&) {
    fail_usage("{} \"{}\": expected two numbers A,B", what, s);
  }
}

void add_perplexity(CLI::App& verb) {
  struct Args {
    std::string model, quantiles = "0.3,0.6";
    std::vector<std::string> thresholds;
    eval::PerplexityOptions o;
    ModelArgs m;
  };
  auto a = std::make_shared<Args>();
  auto* c = verb.add_subcommand("perplexity",
                                "Score documents with a kormo checkpoint: meta.perplexity and a head/middle/tail bucket per language");
  c->add_option("model", a->model, "Checkpoint directory (config.json, model.safetensors, tokenizer.json)")->required();
  c->add_option("inputs", a->o.inputs, "Document files (JSONL, .zst ok), directories or globs")->required();
  c->add_option("-o,--output", a->o.output, "Scored documents (.jsonl or .jsonl.zst)")->required();
  c->add_option("--rejects", a->o.rejects, "Rejects file (default: OUTPUT with .rejects.jsonl)");
  c->add_option("--text-field", a->o.text_field, "JSON field holding the text");
  c->add_option("--quantiles", a->quantiles,
                "HEAD,TAIL: per language, head = perplexity up to the HEAD quantile, tail = above the TAIL "
                "quantile (default 0.3,0.6)");
  c->add_option("--thresholds", a->thresholds,
                "LANG=HEAD,TAIL (repeatable; LANG default = every other language): fixed perplexity thresholds "
                "instead of quantiles");
  c->add_flag("--drop-tail", a->o.drop_tail, "Move tail documents to the rejects file (rule perplexity)");
  add_model_options(c, a->m);
  c->callback([a] {
    std::tie(a->o.head_quantile, a->o.tail_quantile) = number_pair(a->quantiles, "--quantiles");
    for (const auto& t : a->thresholds) {
      const size_t eq = t.find('=');
      if (eq == std::string::npos || eq == 0) fail_usage("--thresholds \"{}\": expected LANG=HEAD,TAIL", t);
      a->o.thresholds[t.substr(0, eq)] = number_pair(t.substr(eq + 1), "--thresholds " + t.substr(0, eq));
    }
    a->o.inputs = expand_inputs(a->o.inputs);
    if (a->o.rejects.empty()) a->o.rejects = data::default_rejects_path(a->o.output);
    std::vector<std::string> read = a->o.inputs;
    read.push_back(a->model);
    data::check_output_path(a->o.output, read);
    data::check_output_path(a->o.rejects, read);
    set_threads(a->m.threads);
    eval::ScoringModel model(a->model, a->m.scorer_options(), backend::get(a->m.backend));
    nlohmann::json report = eval::run_perplexity(a->o, model);
    log_info("wrote {}; rejects in {}", a->o.output, a->o.rejects);
    std::printf("%s\n", report.dump(1).c_str());
  });
}

void add_pairs(CLI::App& verb) {
  struct Args {
    std::vector<std::string> inputs, skip;
    std::string output, rejects, model;
    data::PairOptions o;
    ModelArgs m;
  };
  auto a = std::make_shared<Args>();
  auto* c = verb.add_subcommand("pairs", "Translation-quality checks for aligned pairs: length ratio, script, numbers, names");
  c->add_option("inputs", a->inputs, "JSONL pairs, one object per line with a source and a target field")->required();
  c->add_option("-o,--output", a->output, "Pairs that pass (lines unchanged)")->required();
  c->add_option("--rejects", a->rejects, "Rejects file (default: OUTPUT with .rejects.jsonl)");
  c->add_option("--src-field", a->o.src_field, "Source field (default ko)");
  c->add_option("--tgt-field", a->o.tgt_field, "Target field (default en)");
  c->add_option("--src-lang", a->o.src_lang, "Language the source must be identified as (default ko)");
  c->add_option("--tgt-lang", a->o.tgt_lang, "Language the target must be identified as (default en)");
  c->add_option("--min-ratio", a->o.min_ratio, fmt::format("Lowest target/source characters (default {})", a->o.min_ratio));
  c->add_option("--max-ratio", a->o.max_ratio, fmt::format("Highest target/source characters (default {})", a->o.max_ratio));
  c->add_option("--skip", a->skip, "Checks to skip: length, script, numbers, entities")->delimiter(',');
  c->add_option("--model", a->model,
                "A kormo checkpoint directory: adds the model check (how much the source raises the target's "
                "per-token log-likelihood)");
  c->add_option("--model-min", a->o.model_min, "Remove pairs whose model score is below this");
  c->add_option("--model-quantile", a->o.model_quantile,
                "Without --model-min: remove the lowest-scoring share of pairs (default 0.1)");
  add_model_options(c, a->m);
  c->callback([a] {
    for (const auto& s : a->skip) {
      if (s == "length") a->o.length = false;
      else if (s == "script") a->o.script = false;
      else if (s == "numbers") a->o.numbers = false;
      else if (s == "entities") a->o.entities = false;
      else fail_usage("--skip: unknown check \"{}\"", s);
    }
    std::vector<std::string> inputs = expand_inputs(a->inputs);
    std::string rej = a->rejects.empty() ? data::default_rejects_path(a->output) : a->rejects;
    data::check_output_path(a->output, inputs);
    data::check_output_path(rej, inputs);
    std::unique_ptr<eval::ScoringModel> model;
    if (!a->model.empty()) {
      set_threads(a->m.threads);
      model = std::make_unique<eval::ScoringModel>(a->model, a->m.scorer_options(), backend::get(a->m.backend));
      a->o.model = [&model](std::span<const std::string> src, std::span<const std::string> tgt) {
        return eval::pair_scores(*model, src, tgt);
      };
    }
    std::printf("%s\n", data::filter_pairs(inputs, a->output, rej, a->o).dump(1).c_str());
  });
}

void add_decontam(CLI::App& verb) {
  struct Args {
    JobArgs job;
    std::vector<std::string> evals;
    data::DecontamOptions rule;
    bool flag = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = verb.add_subcommand("decontam", "Remove or flag documents sharing long n-grams with evaluation sets");
  add_job_options(c, a->job);
  c->add_option("--eval", a->evals, "Evaluation files (JSONL/TSV/CSV), directories or globs")->required();
  c->add_option("--ngram", a->rule.ngram, fmt::format("Words per n-gram (default {})", a->rule.ngram))
      ->check(CLI::PositiveNumber);
  c->add_option("--min-words", a->rule.min_words,
                fmt::format("Shorter eval segments of at least this many words match whole (default {})",
                            a->rule.min_words))
      ->check(CLI::PositiveNumber);
  c->add_option("--hangul-chars", a->rule.hangul_chars,
                fmt::format("Mostly-Hangul segments: characters per n-gram, 0 = word rule (default {})",
                            a->rule.hangul_chars))
      ->check(CLI::NonNegativeNumber);
  c->add_option("--min-hangul-chars", a->rule.min_hangul_chars,
                fmt::format("Shorter mostly-Hangul segments of at least this many characters match whole (default {})",
                            a->rule.min_hangul_chars))
      ->check(CLI::NonNegativeNumber);
  c->add_flag("--flag", a->flag, "Keep contaminated documents, marked in meta.contamination");
  c->callback([a] {
    data::StageConfig sc;
    sc.decontam = std::make_shared<data::DecontamIndex>(a->rule);
    std::vector<std::string> evals = expand_inputs(a->evals);
    for (const auto& f : evals) sc.decontam->add_file(f);
    log_info("decontam: {} n-grams from {} evaluation files", sc.decontam->size(), sc.decontam->files().size());
    sc.decontam_flag_only = a->flag;
    run_stage_job(a->job, sc, evals);
  });
}

void add_dedup(CLI::App& verb) {
  struct Args {
    std::vector<std::string> inputs;
    std::string output, rejects;
    data::DedupOptions dedup;
    bool no_exact = false, no_near = false;
    int threads = 0;
  };
  auto a = std::make_shared<Args>();
  data::MinHashParams& mh = a->dedup.minhash;
  auto* c = verb.add_subcommand("dedup", "Exact (xxh3) and near-duplicate (MinHash-LSH) removal; keeps the first");
  c->add_option("inputs", a->inputs, "Document files")->required();
  c->add_option("-o,--output", a->output, "Output documents")->required();
  c->add_option("--rejects", a->rejects, "Rejects file (default: OUTPUT with .rejects.jsonl)");
  c->add_option("--ngram", mh.ngram, fmt::format("Words per shingle (default {})", mh.ngram))
      ->check(CLI::PositiveNumber);
  c->add_option("--bands", mh.bands, fmt::format("LSH bands (default {})", mh.bands))
      ->check(CLI::PositiveNumber);
  c->add_option("--rows", mh.rows, fmt::format("Hashes per band (default {})", mh.rows))
      ->check(CLI::PositiveNumber);
  c->add_option("--verify", mh.verify_threshold,
                fmt::format("Accept a band collision when the MinHash Jaccard estimate reaches this (default {}; 0 = off)",
                            mh.verify_threshold));
  c->add_option("--seed", mh.seed, "Hash seed");
  c->add_flag("--no-exact", a->no_exact, "Skip exact dedup");
  c->add_flag("--no-near", a->no_near, "Skip near-duplicate dedup");
  c->add_option("--threads", a->threads, "Worker threads");
  c->add_option("--text-field", a->dedup.text_field, "JSON field holding the text");
  c->callback([a] {
    set_threads(a->threads);
    a->dedup.exact = !a->no_exact;
    a->dedup.near = !a->no_near;
    Counts counts = data::dedup_files(expand_inputs(a->inputs), a->output,
                                      a->rejects.empty() ? data::default_rejects_path(a->output) : a->rejects, a->dedup);
    print_counts(counts);
  });
}

void add_mix(CLI::App& verb) {
  struct Args {
    std::vector<std::string> inputs, targets;
    std::string output, unit = "docs";
    data::MixOptions mix;
  };
  auto a = std::make_shared<Args>();
  auto* c = verb.add_subcommand("mix", "Sample to target shares by language/source/synthetic (deterministic)");
  c->add_option("inputs", a->inputs, "Document files")->required();
  c->add_option("-o,--output", a->output, "Output documents")->required();
  c->add_option("--by", a->mix.by, "Group key fields: lang, source, synthetic (default lang)")->delimiter(',');
  c->add_option("--target", a->targets, "GROUP=SHARE, e.g. ko=0.6 or ko/synthetic=0.3 (repeat)")->required();
  c->add_option("--unit", a->unit, "Shares of docs (default) or chars")->check(CLI::IsMember({"docs", "chars"}));
  c->add_option("--total", a->mix.total, "Output size in units (default: the input's size)");
  c->add_option("--seed", a->mix.seed, "Sampling seed");
  c->add_flag("--keep-others", a->mix.keep_others, "Keep groups without a target unchanged");
  c->callback([a] {
    for (const auto& t : a->targets) {
      size_t eq = t.rfind('=');
      if (eq == std::string::npos || eq == 0) fail_usage("--target {}: expected GROUP=SHARE", t);
      try {
        a->mix.targets[t.substr(0, eq)] = std::stod(t.substr(eq + 1));
      } catch (const std::exception&) {
        fail_usage("--target {}: expected a number after '='", t);
      }
    }
    a->mix.by_chars = a->unit == "chars";
    auto report = data::mix_files(expand_inputs(a->inputs), a->output, a->mix);
    std::printf("%s\n", report.dump(1).c_str());
  });
}

void add_stats(CLI::App& verb) {
  struct Args {
    std::vector<std::string> inputs, rejects;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = verb.add_subcommand("stats", "Documents, characters, bytes per language/source; synthetic share; rejects");
  c->add_option("inputs", a->inputs, "Document files")->required();
  c->add_option("--rejects", a->rejects, "Rejects files to count removals per rule");
  c->add_flag("--json", a->json, "Print JSON instead of a table");
  c->callback([a] {
    std::vector<std::string> rej;
    if (!a->rejects.empty()) rej = expand_inputs(a->rejects);
    auto s = data::corpus_stats(expand_inputs(a->inputs), rej);
    std::printf("%s", a->json ? (s.dump(1) + "\n").c_str() : data::format_stats(s).c_str());
  });
}

void add_pipeline(CLI::App& verb) {
  struct Args {
    std::string config, output;
    int threads = 0;
  };
  auto a = std::make_shared<Args>();
  auto* c = verb.add_subcommand("pipeline", "ingest -> normalize -> langid -> filter -> decontam -> dedup from a TOML config");
  c->add_option("config", a->config, "Pipeline config (see configs/data/*.toml)")->required();
  c->add_option("-o,--output", a->output, "Override [pipeline] output");
  c->add_option("--threads", a->threads, "Worker threads");
  c->callback([a] {
    set_threads(a->threads);
    auto summary = data::run_pipeline(a->config, a->output);
    if (!summary.empty()) std::printf("%s\n", summary.dump(1).c_str());
  });
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
  kormo data classify train --positive good.jsonl --negative web.jsonl -o quality.bin
  kormo data perplexity trusted-model/ lid.jsonl -o scored.jsonl --drop-tail  # CCNet-style buckets
  kormo data filter lid.jsonl --config configs/data/quality-classifier.toml -o hq.jsonl
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
  add_ingest(verb);
  add_normalize(verb);
  add_langid(verb);
  add_filter(verb);
  add_classify(verb);
  add_pairs(verb);
  add_perplexity(verb);
  add_decontam(verb);
  add_dedup(verb);
  add_mix(verb);
  add_stats(verb);
  add_pipeline(verb);
}

KORMO_VERB("data", "Curate text: ingest, normalize, langid, filter, classify, pairs, perplexity, dedup, decontam, mix, stats, pipeline", 10, setup);

}  // namespace cmd_data

}  // namespace kormo::cli
