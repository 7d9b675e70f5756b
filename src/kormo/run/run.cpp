#include "kormo/run/run.h"

#include <algorithm>
#include <map>
#include <sstream>

#include <fmt/ranges.h>

#include "kormo/data/document.h"
#include "kormo/data/job.h"
#include "kormo/data/pipeline.h"
#include "kormo/eval/evaluate.h"
#include "kormo/gguf/llama.h"
#include "kormo/infer/generator.h"
#include "kormo/model/checkpoint.h"
#include "kormo/report/facts.h"
#include "kormo/report/render.h"
#include "kormo/report/report.h"
#include "kormo/sft/sft.h"
#include "kormo/shard/docs.h"
#include "kormo/synth/builtin.h"
#include "kormo/synth/conversation.h"
#include "kormo/synth/program.h"
#include "kormo/synth/teacher_run.h"
#include "kormo/text/utf8.h"
#include "kormo/tok/chat_template.h"
#include "kormo/tok/train_tokenizer.h"
#include "kormo/train/checkpoint.h"
#include "kormo/train/pretrain.h"
#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"

namespace fs = std::filesystem;

namespace kormo::run {
namespace {

// Where the stages' files live in the run directory (docs/FORMATS.md).
const std::string kDataDir = "data";
const std::string kCurated = "data/curated.jsonl.zst";
const std::string kSplitDir = "split";
const std::string kTrainDocs = "split/train.jsonl.zst";
const std::string kSynthDir = "synth";
const std::string kSynthAll = "synth/all.jsonl.zst";
const std::string kSynthSft = "synth/sft.jsonl.zst";
const std::string kSynthText = "synth/text.jsonl.zst";
const std::string kHeldoutArith = "synth/heldout_arith.jsonl";
const std::string kTeacherDir = "synth/teacher";  // run_teacher_program's output directory
const std::string kTeacherSeeds = "synth/teacher/seeds.jsonl";
const std::string kTeacherProgram = "synth/teacher/program.toml";
const std::string kTokenizerDir = "tokenizer";
const std::string kTokenizerJson = "tokenizer/tokenizer.json";
const std::string kShardDir = "shards";
const std::string kDocsShard = "shards/docs.ktok";
const std::string kSynthShard = "shards/synth.ktok";
const std::string kPretrainDir = "pretrain";
const std::string kSftDir = "sft";
const std::string kEvalResults = "eval/results.json";
const std::string kExportDir = "export";

std::string toml_text(const toml::table& t) {
  std::ostringstream ss;
  ss << t;
  return ss.str() + "\n";
}

toml::table subtable(const toml::table& root, const char* key) {
  if (const toml::table* t = root[key].as_table()) return *t;
  return {};
}

toml::table& ensure_table(toml::table& t, const char* key) {
  if (!t[key].is_table()) t.insert_or_assign(key, toml::table{});
  return *t[key].as_table();
}

// `over`'s keys replace `base`'s, tables merged key by key (a phase's overrides).
toml::table merged(toml::table base, const toml::table& over) {
  for (const auto& [k, v] : over) {
    if (v.is_table() && base[k].is_table()) base.insert_or_assign(k, merged(*base[k].as_table(), *v.as_table()));
    else base.insert_or_assign(k, v);
  }
  return base;
}

PathsFn fixed(std::vector<std::string> paths) {
  return [paths = std::move(paths)](const RunContext&) { return paths; };
}

// ---- data: raw text → curated documents (a `kormo data pipeline` config)

// The keys of a `kormo data pipeline` config that name the user's raw files (a list of
// paths or patterns, or one path). A Debian ingest reads the package mirrors instead, and
// its cache_dir is the stage's own working state.
std::vector<std::pair<const char*, const char*>> data_source_keys(const toml::table& data) {
  std::vector<std::pair<const char*, const char*>> keys{{"pipeline", "inputs"}};
  if (data["ingest"]["source"].value_or(std::string("files")) == "files") keys.push_back({"ingest", "files"});
  keys.push_back({"decontam", "files"});
  keys.push_back({"normalize", "rules"});
  return keys;
}

// The run's own files are named relative to the run directory, which is the stages'
// working directory, so a moved or copied run directory works on its own files. The
// user's sources are named absolutely, as `kormo run` found them from where it started.
void absolutize(toml::table& t, const char* section, const char* key) {
  toml::table* sec = t[section].as_table();
  if (!sec) return;
  if (auto s = (*sec)[key].value<std::string>()) {
    sec->insert_or_assign(key, fs::absolute(*s).string());
  } else if (const toml::array* a = (*sec)[key].as_array()) {
    toml::array abs;
    for (const auto& v : *a) {
      if (auto s = v.value<std::string>()) abs.push_back(fs::absolute(*s).string());
      else abs.push_back(v);  // a wrong type is left for the data stage's own error
    }
    sec->insert_or_assign(key, std::move(abs));
  }
}

std::string resolve_data(const RunContext& c) {
  toml::table cfg = subtable(c.config, "data");
  toml::table& pipe = ensure_table(cfg, "pipeline");
  pipe.insert_or_assign("output", kCurated);
  if (!pipe.contains("work_dir")) pipe.insert_or_assign("work_dir", "data/work");
  for (const auto& [section, key] : data_source_keys(cfg)) absolutize(cfg, section, key);
  return toml_text(cfg);
}

// The raw files the data stage reads, so that replacing a source's content changes the
// stage's key (a stage is reused only when everything it read is unchanged). Paths are
// resolved the way `kormo data pipeline` resolves them. Every byte is hashed (xxh3 runs
// at memory speed, and a size+mtime shortcut would miss same-size rewrites).
std::vector<std::string> data_inputs(const RunContext& c) {
  const toml::table data = subtable(c.config, "data");
  // Lists of paths and patterns are expanded (sorted) together; a single path (the rules
  // file) follows them, so the key of an existing run stays what it was.
  std::vector<std::string> patterns, single;
  for (const auto& [section, key] : data_source_keys(data)) {
    if (auto one = data[section][key].value<std::string>()) single.push_back(*one);
    if (const toml::array* a = data[section][key].as_array())
      for (const auto& v : *a)
        if (auto str = v.value<std::string>()) patterns.push_back(*str);
  }
  std::vector<std::string> files = patterns.empty() ? std::vector<std::string>{} : expand_inputs(patterns);
  files.insert(files.end(), single.begin(), single.end());
  for (std::string& f : files) f = fs::absolute(f).string();
  return files;
}

// ---- split: curated documents → training documents + held-out text per language

std::string resolve_split(const RunContext& c) {
  ConfigSection sec(c.config["split"].as_table(), c.source + " [split]");
  const double fraction = sec.get_double("heldout_fraction", 0.02);
  const int64_t bytes = sec.get_int("heldout_bytes", 200000);
  if (!(fraction >= 0 && fraction < 1)) sec.bad_value("heldout_fraction", "expected a fraction in [0, 1)");
  if (bytes < 0) sec.bad_value("heldout_bytes", "expected a byte count ≥ 0");
  sec.check_unused();
  return toml_text(toml::table{{"heldout_fraction", fraction}, {"heldout_bytes", bytes}});
}

std::string heldout_path(const std::string& lang) { return kSplitDir + "/heldout." + lang + ".txt"; }

// A document is held out when the hash of its text falls under the fraction, until its
// language has `heldout_bytes` of text: a fixed choice (same documents → same split) that
// no later stage trains on. The held-out text is plain paragraphs, what `kormo eval`'s bpb
// task reads.
nlohmann::json run_split(const RunContext& c, const std::string& config_path) {
  const toml::table cfg = load_toml(config_path);
  const double fraction = cfg["heldout_fraction"].value_or(0.0);
  const auto max_bytes = static_cast<uint64_t>(cfg["heldout_bytes"].value_or(int64_t{0}));
  make_dirs(c.path(kSplitDir));
  AtomicWriter train(c.path(kTrainDocs));
  std::map<std::string, std::string> heldout;
  uint64_t kept = 0, held = 0;
  data::for_each_document(
      {c.path(kCurated)}, "text",
      [&](data::Document& d) {
        const uint64_t h = xxh3_64(d.text);  // ids may be empty (a files source)
        std::string& text = heldout[d.lang];
        if (!d.lang.empty() && static_cast<double>(h % 1000000) < fraction * 1e6 && text.size() < max_bytes) {
          text += d.text + "\n\n";
          ++held;
        } else {
          train.write_line(data::to_json_line(d));
          ++kept;
        }
      },
      [](const std::string& where, const std::string& why) { fail("{}: {}", where, why); });
  train.commit();
  nlohmann::json langs = nlohmann::json::object();
  for (const auto& [lang, text] : heldout) {
    if (text.empty()) continue;
    write_file_atomic(c.path(heldout_path(lang)), text);
    langs[lang] = text.size();
  }
  return {{"train_documents", kept}, {"heldout_documents", held}, {"heldout_bytes", langs}};
}

// The held-out text files the split wrote (one per language), in name order.
std::vector<std::string> heldout_files(const RunContext& c) {
  std::vector<std::string> out;
  if (!fs::is_directory(c.path(kSplitDir))) return out;
  for (const auto& e : fs::directory_iterator(c.path(kSplitDir))) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("heldout.") && name.ends_with(".txt")) out.push_back(kSplitDir + "/" + name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ---- synth: teacher-free instruction data (kormo synth builtin) over the training documents,
// and, when [synth] names a teacher, text from teacher LLMs (kormo synth run) seeded by them

// The keys of [synth] that only mean something with a teacher.
const std::vector<std::string> kTeacherKeys = {"teacher_seeds", "teacher_seed_chars", "budget", "filters"};

// The teacher program the stage runs: the embedded default or the `program` file, with the
// run's seeds and output, and [synth.teachers], [synth.budget] and [synth.filters] over it.
// An empty table when [synth] names no teacher. The API key stays in its environment
// variable: the program (and so the stage's key) holds only the variable's name.
toml::table resolve_teacher_program(const RunContext& c, ConfigSection& sec) {
  const std::string where = c.source + " [synth]";
  const std::string file = sec.get_string("program", "");
  ConfigSection teachers = sec.section("teachers");
  const bool named = teachers.table() && !teachers.table()->empty();
  if (file.empty() && !named) {
    for (const std::string& k : kTeacherKeys)
      if (sec.has(k)) sec.bad_value(k, "only applies with a teacher ([synth.teachers.NAME] or program)");
    return {};
  }
  toml::table prog = file.empty() ? load_toml("", default_teacher_program()) : load_toml(file);
  const std::string from = file.empty() ? "the embedded teacher program" : file;
  if (prog.contains("seeds"))
    fail("{} [seeds]: the run's synth stage draws its seeds from the training documents (teacher_seeds); "
         "remove [seeds]", from);
  toml::table& head = ensure_table(prog, "program");
  for (const char* k : {"output", "format"})
    if (head.contains(k)) fail("{} [program] {}: set by the run (synth/teacher, conversations); remove it", from, k);
  head.insert_or_assign("output", kTeacherDir);
  head.insert_or_assign("format", "conversation");
  prog.insert_or_assign("seeds", toml::table{{"documents", toml::array{kTeacherSeeds}}});
  if (named) {
    toml::table& dst = ensure_table(prog, "teachers");
    for (const auto& [name, node] : *teachers.table()) {
      synth::teacher_from_toml(std::string(name.str()), node, where);
      if (dst.contains(name)) fail("{} [teachers.{}]: also named in {}", where, name.str(), from);
      dst.insert_or_assign(name, *node.as_table());
    }
  }
  for (const char* k : {"budget", "filters"}) {
    const toml::table over = subtable(*c.config["synth"].as_table(), k);
    sec.section(k);
    prog.insert_or_assign(k, merged(subtable(prog, k), over));
  }
  absolutize(prog, "filters", "decontam");
  synth::program_from_toml(prog, fmt::format("{} (teacher program {})", where, from), false);
  return prog;
}

bool has_teacher(const toml::table& synth_config) { return synth_config.contains("teacher_program"); }

std::string resolve_synth(const RunContext& c) {
  ConfigSection sec(c.config["synth"].as_table(), c.source + " [synth]");
  const toml::table program = resolve_teacher_program(c, sec);
  const std::vector<std::string> known = synth::builtin_programs();
  // With a teacher the builtin programs may all be left out.
  const std::vector<std::string> programs = sec.get_strings("programs", known);
  if (programs.empty() && program.empty()) sec.bad_value("programs", "expected at least one program without a teacher");
  for (const std::string& p : programs)
    if (std::find(known.begin(), known.end(), p) == known.end())
      sec.bad_value("programs", fmt::format("unknown program '{}'; expected some of {}", p, fmt::join(known, ", ")));
  const int64_t n = sec.get_int("n", 0), seed = sec.get_int("seed", 1), heldout = sec.get_int("heldout_arith", 100);
  if (n < 0) sec.bad_value("n", "expected ≥ 0 (0: every conversation; arith 1000)");
  if (heldout < 0) sec.bad_value("heldout_arith", "expected ≥ 0");
  toml::array progs;
  for (const std::string& p : programs) progs.push_back(p);
  toml::table out{{"programs", progs}, {"n", n}, {"seed", seed}, {"heldout_arith", heldout}};
  if (!program.empty()) {
    const int64_t seeds = sec.get_int("teacher_seeds", 200), chars = sec.get_int("teacher_seed_chars", 1500);
    if (seeds < 1) sec.bad_value("teacher_seeds", "expected ≥ 1 training documents");
    if (chars < 1) sec.bad_value("teacher_seed_chars", "expected ≥ 1 code points");
    out.insert_or_assign("teacher_seeds", seeds);
    out.insert_or_assign("teacher_seed_chars", chars);
    out.insert_or_assign("teacher_program", program);
  }
  sec.check_unused();
  return toml_text(out);
}

// The teacher program's evaluation files: their content decides what the filters keep.
std::vector<std::string> synth_inputs(const RunContext& c) {
  std::vector<std::string> in{kTrainDocs};
  const toml::table cfg = load_toml("", resolve_synth(c));
  if (const toml::array* files = cfg["teacher_program"]["filters"]["decontam"].as_array())
    for (const auto& f : *files) in.push_back(f.value_or(std::string()));
  return in;
}

// A conversation as plain text for pretraining: the question, the reasoning, the answer.
std::string conversation_text(const nlohmann::json& conv) {
  std::string text;
  for (const auto& m : conv) {
    for (const char* k : {"reasoning_content", "content"})
      if (m.contains(k) && m[k].is_string() && !m[k].get<std::string>().empty())
        text += (text.empty() ? "" : "\n\n") + m[k].get<std::string>();
  }
  return text;
}

// The text cut to at most `chars` code points, at the last whitespace of its second half.
std::string cut_text(const std::string& text, size_t chars) {
  size_t cps = 0, end = 0;
  for (; end < text.size(); ++end)
    if ((static_cast<unsigned char>(text[end]) & 0xC0) != 0x80 && cps++ == chars) break;
  if (end == text.size()) return text;
  const size_t space = text.find_last_of(" \n", end);
  return text.substr(0, space != std::string::npos && space > end / 2 ? space : end);
}

// The teacher's seeds: `count` training documents (never held-out ones, which no stage
// trains on), those whose text hashes lowest under the run's seed: a sample that keeps
// both languages in their proportions and does not depend on the documents' order.
size_t write_teacher_seeds(const RunContext& c, size_t count, size_t chars, uint64_t seed) {
  std::map<std::pair<uint64_t, size_t>, data::Document> lowest;
  size_t index = 0;
  data::for_each_document(
      {c.path(kTrainDocs)}, "text",
      [&](data::Document& d) {
        if (d.id.empty()) d.id = fmt::format("split/train#{}", index);  // a files source has no ids
        lowest.emplace(std::make_pair(xxh3_64(d.text, seed), index++), std::move(d));
        if (lowest.size() > count) lowest.erase(std::prev(lowest.end()));
      },
      [](const std::string& where, const std::string& why) { fail("{}: {}", where, why); });
  std::vector<std::pair<size_t, const data::Document*>> in_order;
  for (const auto& [k, d] : lowest) in_order.push_back({k.second, &d});
  std::sort(in_order.begin(), in_order.end());
  AtomicWriter w(c.path(kTeacherSeeds));
  for (const auto& [i, d] : in_order) {
    data::Document cut = *d;
    cut.text = cut_text(d->text, chars);
    w.write_line(data::to_json_line(cut));
  }
  w.commit();
  return in_order.size();
}

// Tasks whose prompt and answer are an instruction and its answer, trained on by SFT as
// they are; qa items are split into their own question and answer.
bool sft_task(const std::string& task) { return task == "translate" || task == "reasoning"; }

// Runs the teacher program over a sample of the training documents, then adds its kept
// answers to the synthetic pretraining text (every one) and to the SFT conversations
// (translate, reasoning, and qa items in the question/answer form).
nlohmann::json run_teacher(const RunContext& c, const toml::table& cfg, AtomicWriter& convs, AtomicWriter& text) {
  make_dirs(c.path(kTeacherDir));
  const size_t seeds = write_teacher_seeds(c, static_cast<size_t>(cfg["teacher_seeds"].value_or(int64_t{200})),
                                           static_cast<size_t>(cfg["teacher_seed_chars"].value_or(int64_t{1500})),
                                           static_cast<uint64_t>(cfg["seed"].value_or(int64_t{1})));
  write_file_atomic(c.path(kTeacherProgram), toml_text(*cfg["teacher_program"].as_table()));
  synth::TeacherRunOptions opt;
  opt.config = kTeacherProgram;
  const synth::TeacherRunResult r = synth::run_teacher_program(opt);
  if (r.stopped) fail("synth: stopped by a signal with {} of {} teacher items answered; rerun to continue", r.done, r.planned);
  if (r.failed > 0)
    fail("synth: {} of {} teacher items failed after their retries ({}/summary.json: errors by reason); "
         "rerun to ask them again",
         r.failed, r.planned, kTeacherDir);
  if (r.budget_exhausted)
    log_warn("run: synth: the teacher budget is spent; {} of {} items answered (raise [synth.budget] to ask the rest)",
             r.done, r.planned);
  size_t documents = 0, sft = 0, unsplit = 0;
  LineReader reader(c.path(kTeacherDir + "/synth.jsonl"));
  std::string_view line;
  while (reader.next(line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    const nlohmann::json& answer = j["conversation"].back();
    const std::string task = j["meta"].value("task", "");
    data::Document d;
    d.id = j.value("id", "");
    d.text = conversation_text(nlohmann::json::array({answer}));
    d.lang = j.value("lang", "");
    d.source = "synth/" + j.value("source", "");
    d.synthetic = true;
    d.meta = j["meta"];
    text.write_line(data::to_json_line(d));
    ++documents;
    if (sft_task(task)) {
      convs.write_line(line);
      ++sft;
    } else if (task == "qa") {
      if (const auto qa = synth::split_question_answer(answer.value("content", ""))) {
        synth::Conversation conv = synth::question_answer(qa->first, qa->second);
        conv.lang = d.lang;
        conv.source = j.value("source", "");
        conv.meta = j["meta"];
        convs.write_line(synth::to_json_line(conv));
        ++sft;
      } else {
        ++unsplit;
      }
    }
  }
  const nlohmann::json summary = nlohmann::json::parse(read_file(c.path(kTeacherDir + "/summary.json")));
  return {{"seeds", seeds},
          {"planned", r.planned},
          {"answered", r.done},
          {"pending", r.pending},
          {"kept", documents},
          {"sft_conversations", sft},
          {"qa_not_split", unsplit},
          {"requests", summary.value("requests", int64_t{0})},
          {"tokens", summary.value("tokens", int64_t{0})},
          {"cost", summary.value("cost", 0.0)},
          {"complete", summary.value("complete", false)},
          {"counts", summary.value("counts", nlohmann::json::object())},
          {"diversity", nlohmann::json::parse(read_file(c.path(kTeacherDir + "/diversity.json")))}};
}

// Runs the builtin programs, then holds the last `heldout_arith` arithmetic problems out
// (in GSM8K's layout, for the eval stage) and writes the rest twice: as conversations for
// SFT and as documents for the synthetic part of the pretraining mixture; then the
// teacher program, when there is one, adds its answers to both.
nlohmann::json run_synth(const RunContext& c, const std::string& config_path) {
  const toml::table cfg = load_toml(config_path);
  synth::BuiltinOptions o;
  for (const auto& p : *cfg["programs"].as_array()) o.programs.push_back(*p.value<std::string>());
  const bool needs_docs = std::any_of(o.programs.begin(), o.programs.end(), [](const std::string& p) { return p != "arith"; });
  if (needs_docs) o.docs = {kTrainDocs};
  o.output = kSynthAll;
  o.seed = static_cast<uint64_t>(cfg["seed"].value_or(int64_t{1}));
  o.n = static_cast<size_t>(cfg["n"].value_or(int64_t{0}));
  make_dirs(c.path(kSynthDir));
  data::Counts counts;
  std::vector<std::string> lines;
  std::vector<size_t> arith;
  if (!o.programs.empty()) {
    counts = synth::run_builtin(o);
    LineReader r(c.path(kSynthAll));
    std::string_view line;
    while (r.next(line)) {
      const nlohmann::json j = nlohmann::json::parse(line);
      if (j.value("source", "") == "arith") arith.push_back(lines.size());
      lines.emplace_back(line);
    }
  }
  const size_t n_held = std::min(arith.size(), static_cast<size_t>(cfg["heldout_arith"].value_or(int64_t{0})));
  std::vector<bool> held(lines.size(), false);
  for (size_t i = arith.size() - n_held; i < arith.size(); ++i) held[arith[i]] = true;
  AtomicWriter convs(c.path(kSynthSft)), text(c.path(kSynthText)), questions(c.path(kHeldoutArith));
  for (size_t i = 0; i < lines.size(); ++i) {
    const nlohmann::json j = nlohmann::json::parse(lines[i]);
    const nlohmann::json& conv = j["conversation"];
    if (held[i]) {
      // GSM8K's fields: the answer's reasoning, then "#### " and the value exact match compares.
      const nlohmann::json& a = conv.back();
      const nlohmann::json& value = j["meta"]["answer"];
      const std::string reasoning = a.value("reasoning_content", a.value("content", ""));
      questions.write_line(nlohmann::json{{"question", conv.front().value("content", "")},
                                          {"answer", reasoning + "\n#### " +
                                                         (value.is_string() ? value.get<std::string>() : value.dump())}}
                               .dump());
      continue;
    }
    convs.write_line(lines[i]);
    data::Document d;
    d.id = j.value("id", "");
    d.text = conversation_text(conv);
    d.lang = j.value("lang", "");
    d.source = "synth/" + j.value("source", "");
    d.synthetic = true;
    text.write_line(data::to_json_line(d));
  }
  nlohmann::json s = data::counts_to_json(counts);
  s["conversations"] = lines.size() - n_held;
  s["heldout_arith"] = n_held;
  if (has_teacher(cfg)) {
    s["teacher"] = run_teacher(c, cfg, convs, text);
    s["conversations"] = s["conversations"].get<size_t>() + s["teacher"]["sft_conversations"].get<size_t>();
  }
  convs.commit();
  text.commit();
  questions.commit();
  return s;
}

// A rerun under a new key removes everything but the teacher's stored answers: their keys
// cover all that shapes a request, so an item the new config still plans is not paid for
// twice, and the others are never read.
std::vector<std::string> synth_state(const RunContext& c) {
  std::vector<std::string> out;
  for (const std::string& dir : {kSynthDir, kTeacherDir}) {
    if (!fs::is_directory(c.path(dir))) continue;
    for (const auto& e : fs::directory_iterator(c.path(dir))) {
      const std::string rel = dir + "/" + e.path().filename().string();
      if (rel != kTeacherDir && rel != kTeacherDir + "/raw") out.push_back(rel);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ---- tokenizer: training documents → tokenizer.json (the [tokenizer] keys of docs/tokenizer.md)

tok::TokenizerTrainConfig tokenizer_config(const RunContext& c, const toml::table* cfg, const std::string& where) {
  ConfigSection sec(cfg, where);
  return tok::tokenizer_train_config_from_section(sec, {c.path(kTrainDocs)}, c.path(kTokenizerDir));
}

std::string resolve_tokenizer(const RunContext& c) {
  // Checked on the run config itself, so errors point at its lines.
  tokenizer_config(c, c.config["tokenizer"].as_table(), c.source + " [tokenizer]");
  return toml_text(subtable(c.config, "tokenizer"));
}

nlohmann::json run_tokenizer(const RunContext& c, const std::string& config_path) {
  const toml::table cfg = load_toml(config_path);
  tok::TokenizerTrainSummary s = tok::train_tokenizer(tokenizer_config(c, &cfg, config_path));
  return {{"documents", s.documents}, {"text_bytes", s.text_bytes}};
}

// ---- shard: documents + tokenizer → .ktok (the training documents; the synthetic ones apart)

// Reasoning spans are not trained on: the shard's loss mask leaves out <think>…</think>
// when the tokenizer has those tokens. The spans are the stage's config, so a shard
// written without them is not reused.
std::string resolve_shard(const RunContext& c) {
  const tok::Tokenizer t = tok::Tokenizer::load(c.path(kTokenizerDir));
  const tok::SpecialIds& sp = t.special_ids();
  toml::array spans;
  if (sp.think >= 0 && sp.think_end >= 0)
    spans.push_back(toml::array{t.id_to_token(sp.think), t.id_to_token(sp.think_end)});
  return toml_text(toml::table{{"mask_spans", spans}});
}

bool has_synth(const RunContext& c) { return c.config.contains("synth"); }

nlohmann::json run_shard(const RunContext& c, const std::string& config_path) {
  const toml::table cfg = load_toml(config_path);
  nlohmann::json summary = nlohmann::json::object();
  std::vector<std::pair<std::string, std::string>> jobs{{kTrainDocs, kDocsShard}};
  if (has_synth(c)) jobs.push_back({kSynthText, kSynthShard});
  for (const auto& [docs, out] : jobs) {
    shard::DocsShardOptions o;
    o.inputs = {c.path(docs)};
    o.tokenizer = c.path(kTokenizerDir);
    o.out_path = c.path(out);
    if (const toml::array* spans = cfg["mask_spans"].as_array())
      for (const auto& pair : *spans) {
        const toml::array& p = *pair.as_array();
        o.mask_spans.push_back({p[0].value_or(std::string()), p[1].value_or(std::string())});
      }
    shard::DocsShardSummary s = shard::shard_from_docs(o);
    summary[fs::path(out).stem().string()] = {
        {"documents", s.documents}, {"tokens", s.tokens}, {"text_bytes", s.bytes}, {"masked_tokens", s.masked_tokens}};
  }
  return summary;
}

std::vector<std::string> shard_outputs(const RunContext& c) {
  if (has_synth(c)) return {kDocsShard, kSynthShard};
  return {kDocsShard};
}

// ---- pretrain: shards → checkpoint, in one phase or several (a `kormo pretrain` config each)

// One entry of [[pretrain.phase]], or the whole [pretrain] when it has no phases.
struct Phase {
  std::string name;  // "" = the single phase
  toml::table over;  // the phase's own tables and mix
};

std::vector<Phase> pretrain_phases(const toml::table& config, const std::string& source) {
  const toml::table pre = subtable(config, "pretrain");
  const toml::array* list = pre["phase"].as_array();
  if (!list) return {Phase{}};
  std::vector<Phase> out;
  for (size_t i = 0; i < list->size(); ++i) {
    const toml::table* t = (*list)[i].as_table();
    const std::string where = fmt::format("{} [[pretrain.phase]] #{}", source, i + 1);
    if (!t) fail("{}: expected a table", where);
    const std::string name = (*t)["name"].value_or(std::string());
    if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
      fail("{}: name: expected a short lower-case name (letters, digits, _), e.g. \"stage1\"", where);
    for (const Phase& p : out)
      if (p.name == name) fail("{}: name '{}' is used by an earlier phase", where, name);
    out.push_back({name, *t});
  }
  if (out.empty()) fail("{} [pretrain]: phase: expected at least one [[pretrain.phase]]", source);
  return out;
}

std::string phase_stage(const Phase& p) { return p.name.empty() ? "pretrain" : "pretrain-" + p.name; }
std::string phase_dir(const Phase& p) { return p.name.empty() ? kPretrainDir : kPretrainDir + "/" + p.name; }

std::string final_checkpoint(const RunContext& c, const std::string& dir) {
  const std::string ckpt = train::latest_checkpoint(c.path(dir));
  if (ckpt.empty()) fail("{}: no checkpoint (did its stage finish?)", c.path(dir));
  return fs::relative(ckpt, c.dir).string();
}

// The mixture: shard sources by name ("docs", "synth") with weights.
toml::table phase_sources(const RunContext& c, const Phase& p, const std::string& where) {
  toml::table sources;
  const toml::table* mix = p.over["mix"].as_table();
  if (!mix) return toml::table{{"docs", toml::table{{"shards", toml::array{kDocsShard}}, {"weight", 1.0}}}};
  for (const auto& [k, v] : *mix) {
    const std::string name(k.str());
    std::string shard;
    if (name == "docs") shard = kDocsShard;
    else if (name == "synth" && has_synth(c)) shard = kSynthShard;
    else
      fail("{} mix: unknown source '{}'; expected docs{}", where, name, has_synth(c) ? " or synth" : " (synth needs a [synth] table)");
    const auto w = v.value<double>();
    if (!w || *w <= 0) fail("{} mix.{}: expected a positive weight", where, name);
    sources.insert_or_assign(name, toml::table{{"shards", toml::array{shard}}, {"weight", *w}});
  }
  return sources;
}

// A phase's `kormo pretrain` config: [model], [pretrain.data] and [pretrain.train] with the
// phase's own tables over them; a later phase starts from the previous one's final weights
// (the optimizer state is not carried: each phase is a fresh schedule with its own warmup
// and data mixture, as KORMo's phases were).
std::string resolve_phase(const RunContext& c, const std::vector<Phase>& phases, size_t i) {
  const Phase& p = phases[i];
  const toml::table pre = subtable(c.config, "pretrain");
  const std::string where = p.name.empty() ? c.source + " [pretrain]" : fmt::format("{} [[pretrain.phase]] '{}'", c.source, p.name);
  for (const auto& [k, v] : pre)
    if (k != "data" && k != "train" && k != "phase")
      fail("{} [pretrain]: unknown key '{}'; expected [pretrain.data], [pretrain.train] and [[pretrain.phase]]",
           c.source, k.str());
  for (const auto& [k, v] : p.over)
    if (k != "name" && k != "mix" && k != "model" && k != "data" && k != "train")
      fail("{}: unknown key '{}'; expected name, mix, [model], [data], [train]", where, k.str());
  // The model and the data loader take their ids from the trained tokenizer.
  const tok::Tokenizer tokenizer = tok::Tokenizer::load(c.path(kTokenizerDir));
  toml::table model = merged(subtable(c.config, "model"), subtable(p.over, "model"));
  model.insert_or_assign("vocab_size", static_cast<int64_t>(tokenizer.vocab_size()));
  toml::table data = merged(subtable(pre, "data"), subtable(p.over, "data"));
  const tok::SpecialIds& sp = tokenizer.special_ids();
  if (!data.contains("pad_id") && sp.pad >= 0) data.insert_or_assign("pad_id", int64_t{sp.pad});
  data.insert_or_assign("sources", phase_sources(c, p, where));
  toml::table train = merged(subtable(pre, "train"), subtable(p.over, "train"));
  train.insert_or_assign("out_dir", phase_dir(p));
  train.insert_or_assign("tokenizer", kTokenizerDir);
  if (i > 0) train.insert_or_assign("init", final_checkpoint(c, phase_dir(phases[i - 1])));
  return toml_text(toml::table{{"model", model}, {"data", data}, {"train", train}});
}

// A killed phase continues from its last checkpoint, or from step 0 when it was stopped
// before its first one (it left metrics but no checkpoint).
bool resuming(const RunContext& c, const std::string& dir) {
  const std::string ckpt = train::latest_checkpoint(c.path(dir));
  if (!ckpt.empty()) log_info("run: resuming from {}", ckpt);
  return !ckpt.empty() || fs::exists(c.path(dir + "/metrics.jsonl"));
}

// The summary of a training run is its last metrics line, without its timings (the
// manifest of two runs of one config must be equal).
void summarize_training(const RunContext& c, const std::string& dir, nlohmann::json& summary) {
  const std::string metrics = c.path(dir + "/metrics.jsonl");
  if (!fs::exists(metrics)) return;
  LineReader r(metrics);
  std::string_view line;
  std::string last;
  while (r.next(line))
    if (!line.empty()) last = std::string(line);
  if (last.empty()) return;
  summary = nlohmann::json::parse(last);
  for (const char* timing : {"tokens_per_s", "mfu", "step_s", "allreduce_s"}) summary.erase(timing);
}

Stage phase_stage_entry(const std::vector<Phase>& phases, size_t i) {
  const Phase p = phases[i];
  const std::string dir = phase_dir(p);
  std::vector<std::string> shards{kDocsShard};
  if (p.over["mix"]["synth"]) shards.push_back(kSynthShard);
  return {.name = phase_stage(p),
          .doing = p.name.empty() ? "training the model" : fmt::format("pretraining, phase '{}'", p.name),
          .sections = i == 0 ? std::vector<std::string>{"model", "pretrain"} : std::vector<std::string>{},
          .resolve = [phases, i](const RunContext& c) { return resolve_phase(c, phases, i); },
          // A later phase reads the previous one's weights: retrained, they rerun it too.
          .inputs = [phases, i, shards](const RunContext& c) {
            std::vector<std::string> in = shards;
            if (i > 0) in.push_back(final_checkpoint(c, phase_dir(phases[i - 1])));
            return in;
          },
          .run =
              [dir](const RunContext& c, const std::string& config_path) {
                train::PretrainOptions po;
                po.config_path = config_path;
                po.resume = resuming(c, dir);
                train::pretrain(po);
                return nlohmann::json::object();
              },
          // The final checkpoint fixes every weight and the trainer state. metrics.jsonl is the
          // training log: its timings differ between runs, so it is summarized, not recorded.
          .outputs = [dir](const RunContext& c) -> std::vector<std::string> {
            return {train::latest_checkpoint(c.path(dir))};
          },
          .state = fixed({dir}),
          .summarize = [dir](const RunContext& c, nlohmann::json& s) { summarize_training(c, dir, s); }};
}

std::string last_pretrain_dir(const RunContext& c) {
  return phase_dir(pretrain_phases(c.config, c.source).back());
}

// ---- sft: the synthetic conversations, from the last pretraining checkpoint (a `kormo sft` config)

std::string resolve_sft(const RunContext& c) {
  toml::table sft = subtable(c.config, "sft");
  for (const auto& [k, v] : sft)
    if (k != "data" && k != "train" && k != "sample_prompt")
      fail("{} [sft]: unknown key '{}'; expected [sft.data], [sft.train] and sample_prompt", c.source, k.str());
  if (!has_synth(c)) fail("{} [sft]: SFT trains on the synthetic conversations: add a [synth] table", c.source);
  toml::table data = subtable(sft, "data");
  if (data.contains("sources")) fail("{} [sft.data]: sources: the run trains on the synth stage's conversations", c.source);
  data.insert_or_assign("sources", toml::table{{"synth", toml::table{{"files", toml::array{kSynthSft}}}}});
  toml::table train = subtable(sft, "train");
  train.insert_or_assign("init", final_checkpoint(c, last_pretrain_dir(c)));
  train.insert_or_assign("out_dir", kSftDir);
  return toml_text(toml::table{{"data", data}, {"train", train}});
}

// ---- eval: held-out text and arithmetic, and any `kormo eval` task the config names

// The model the run ends with: SFT's when the run has it, else the last pretraining phase's.
std::string final_model(const RunContext& c) {
  return final_checkpoint(c, c.config.contains("sft") ? kSftDir : last_pretrain_dir(c));
}

std::string resolve_eval(const RunContext& c) {
  ConfigSection sec(c.config["eval"].as_table(), c.source + " [eval]");
  const bool bpb = sec.get_bool("bpb", true);
  const int64_t arith = sec.get_int("arith", 100), max_gen = sec.get_int("max_gen_toks", 48);
  const int64_t limit = sec.get_int("limit", 0), batch_tokens = sec.get_int("batch_tokens", 4096);
  if (arith < 0 || limit < 0 || max_gen < 1 || batch_tokens < 1)
    sec.bad_value(arith < 0 ? "arith" : limit < 0 ? "limit" : max_gen < 1 ? "max_gen_toks" : "batch_tokens",
                  "expected a count ≥ 0 (max_gen_toks and batch_tokens ≥ 1)");
  toml::table tasks;
  ConfigSection extra = sec.section("tasks");
  if (const toml::table* t = extra.table())
    for (const auto& [k, v] : *t) {
      const std::string file = extra.get_string(std::string(k.str()), "");
      if (file.empty() || !fs::exists(file))
        extra.bad_value(std::string(k.str()), fmt::format("'{}' is not a data file (TASK = \"FILE\", as kormo eval -t)", file));
      eval::load_task(std::string(k.str()));  // an unknown task fails here, naming it
      tasks.insert_or_assign(k, fs::absolute(file).string());
    }
  sec.check_unused();
  toml::table out{{"model", final_model(c)}, {"max_gen_toks", max_gen}, {"limit", limit},
                  {"batch_tokens", batch_tokens}, {"tasks", tasks}};
  toml::array bpb_files;
  if (bpb)
    for (const std::string& f : heldout_files(c)) bpb_files.push_back(f);
  out.insert_or_assign("bpb", bpb_files);
  out.insert_or_assign("arith", has_synth(c) && arith > 0 ? arith : int64_t{0});
  return toml_text(out);
}

// What the eval config names (the model, held-out text, task data), from the config as
// resolved now: the runner asks for inputs before it writes the stage's config.
std::vector<std::string> eval_inputs(const RunContext& c) {
  const toml::table cfg = load_toml("", resolve_eval(c));
  std::vector<std::string> in{*cfg["model"].value<std::string>()};
  for (const auto& f : *cfg["bpb"].as_array()) in.push_back(*f.value<std::string>());
  if (cfg["arith"].value_or(int64_t{0}) > 0) in.push_back(kHeldoutArith);
  for (const auto& [k, v] : *cfg["tasks"].as_table()) in.push_back(*v.value<std::string>());
  return in;
}

nlohmann::json run_eval(const RunContext& c, const std::string& config_path) {
  const toml::table cfg = load_toml(config_path);
  const std::string model_dir = *cfg["model"].value<std::string>();
  const int64_t limit = cfg["limit"].value_or(int64_t{0});
  std::vector<eval::TaskRun> runs;
  for (const auto& f : *cfg["bpb"].as_array()) {
    // split/heldout.<lang>.txt → a result named bpb_<lang>
    const std::string file = *f.value<std::string>();
    eval::TaskRun r{eval::load_task("bpb"), file, "", 0};  // the split already bounds it (heldout_bytes)
    r.spec.name = "bpb_" + fs::path(file).stem().extension().string().substr(1);
    runs.push_back(std::move(r));
  }
  if (const int64_t n = cfg["arith"].value_or(int64_t{0}); n > 0) {
    // GSM8K's prompt and answer extraction over the held-out problems, zero-shot.
    eval::TaskRun r{eval::load_task("gsm8k"), kHeldoutArith, "", n};
    r.spec.name = "arith";
    r.spec.num_fewshot = 0;
    r.spec.max_gen_toks = cfg["max_gen_toks"].value_or(int64_t{48});
    runs.push_back(std::move(r));
  }
  for (const auto& [k, v] : *cfg["tasks"].as_table())
    runs.push_back({eval::load_task(std::string(k.str())), *v.value<std::string>(), "", limit});
  const model::Weights w = model::load_model_dir(model_dir);
  const tok::Tokenizer tok = tok::Tokenizer::load(model_dir + "/tokenizer.json");
  const eval::LoglikelihoodScorer scorer(w, tok, {.batch_tokens = cfg["batch_tokens"].value_or(int64_t{4096})});
  std::vector<eval::TaskResult> results;
  nlohmann::json summary = nlohmann::json::object();
  for (const eval::TaskRun& r : runs) {
    log_info("run: eval {} ({})", r.spec.name, r.data);
    results.push_back(eval::evaluate_task(r, scorer));
    for (const eval::MetricValue& m : results.back().metrics) summary[r.spec.name][m.name] = m.value;
  }
  const nlohmann::ordered_json config = {{"model", "kormo"}, {"model_args", model_dir}, {"tokenizer", model_dir + "/tokenizer.json"},
                                         {"max_length", w.config().max_seq_len}, {"limit", limit > 0 ? nlohmann::ordered_json(limit) : nlohmann::ordered_json()}};
  make_dirs(c.path("eval"));
  write_file_atomic(c.path(kEvalResults), eval::results_json(results, config).dump(2) + "\n");
  return summary;
}

// ---- export: the final model as an HF directory and a GGUF file, each with a model card

std::string resolve_export(const RunContext& c) {
  ConfigSection sec(c.config["export"].as_table(), c.source + " [export]");
  const std::string name = sec.get_string("name", "kormo-run");
  const std::string type = sec.get_string("gguf_type", "f16");
  gguf::parse_file_type(type);
  sec.check_unused();
  return toml_text(toml::table{{"model", final_model(c)}, {"name", name}, {"gguf_type", type}});
}

nlohmann::json run_export(const RunContext& c, const std::string& config_path) {
  const toml::table cfg = load_toml(config_path);
  const std::string model_dir = *cfg["model"].value<std::string>(), name = *cfg["name"].value<std::string>();
  // The card is generated from the run as recorded so far (manifest.partial.json: every
  // stage up to eval). Its title is the configured name, not the run directory's path, so
  // two runs of one config write the same card.
  report::RunFacts facts = report::gather_run(".", {.samples = false});
  facts.dir = name;
  const std::string card = report::model_card(facts);
  const std::string hf = kExportDir + "/hf", gg = kExportDir + "/gguf";
  fs::remove_all(c.path(kExportDir));
  make_dirs(c.path(hf));
  make_dirs(c.path(gg));
  for (const auto& e : fs::directory_iterator(c.path(model_dir)))
    if (e.is_regular_file()) fs::copy_file(e.path(), c.path(hf) / e.path().filename());
  write_file_atomic(c.path(hf + "/README.md"), card);
  const tok::Tokenizer tok = tok::Tokenizer::load(model_dir + "/tokenizer.json");
  gguf::LlamaExport opt;
  opt.type = gguf::parse_file_type(*cfg["gguf_type"].value<std::string>());
  opt.name = name;
  opt.tokenizer_config_origin = model_dir + "/tokenizer_config.json";
  if (fs::exists(opt.tokenizer_config_origin))
    opt.tokenizer_config = nlohmann::json::parse(read_file(opt.tokenizer_config_origin));
  gguf::export_llama(model::load_model_dir(model_dir), tok, opt, c.path(gg + "/" + name + ".gguf"));
  write_file_atomic(c.path(gg + "/README.md"), card);
  return {{"gguf_bytes", fs::file_size(c.path(gg + "/" + name + ".gguf"))}};
}

// ---- the closing sample: one answer of the final model, thinking off

void print_sample(const RunContext& c) {
  const std::string prompt = c.config["sft"]["sample_prompt"].value_or(
      std::string("다음 문장을 한국어로 번역하세요:\n\nSelect the text you want to copy."));
  const std::string dir = c.path(final_checkpoint(c, kSftDir));
  const model::Weights w = model::load_model_dir(dir);
  const tok::Tokenizer tok = tok::Tokenizer::load(dir + "/tokenizer.json");
  const tok::ChatTemplate tmpl = tok::ChatTemplate::load(dir);
  infer::Request r;
  r.prompt = tok.encode(tmpl.render(nlohmann::json::array({{{"role", "user"}, {"content", prompt}}}), true,
                                    {{"enable_thinking", false}}),
                        {.allow_special = true});
  r.sampling.temperature = 0;
  r.max_tokens = std::min<int64_t>(64, w.config().max_seq_len - static_cast<int64_t>(r.prompt.size()));
  if (r.max_tokens < 1) return;
  if (tok.special_ids().eot >= 0) r.stop_tokens.push_back(tok.special_ids().eot);
  if (w.config().eos_token_id >= 0) r.stop_tokens.push_back(static_cast<int32_t>(w.config().eos_token_id));
  infer::Generator gen(w, &tok, 1, w.config().max_seq_len);
  const std::vector<infer::Completion> out = gen.run({std::move(r)});
  log_info("run: sample answer of {} (thinking off)\n  Q: {}\n  A: {}", fs::relative(dir, c.dir).string(), prompt,
           // A tiny model can emit a lone byte token: shown as U+FFFD, as HF's decode shows it.
           out.empty() ? "" : text::replace_invalid_utf8(out[0].text));
}

}  // namespace

std::vector<Stage> pipeline_stages(const toml::table& config, const std::string& source) {
  std::vector<Stage> stages{
      {.name = "data",
       .doing = "curating documents",
       .sections = {"data"},
       .resolve = resolve_data,
       .inputs = data_inputs,
       .run = [](const RunContext&, const std::string& config_path) { return data::run_pipeline(config_path); },
       .outputs = fixed({kCurated}),
       .state = [](const RunContext& c) -> std::vector<std::string> {
         // Its work_dir is resumable state of the old configuration; the rejects file sits beside the output.
         const std::string old = c.path("config/data.toml");
         const toml::table cfg = fs::exists(old) ? load_toml(old) : toml::table{};
         return {kCurated, data::default_rejects_path(kCurated),
                 cfg["pipeline"]["work_dir"].value_or(std::string("data/work"))};
       }},
      {.name = "split",
       .doing = "holding out documents for evaluation",
       .sections = {"split"},
       .resolve = resolve_split,
       .inputs = fixed({kCurated}),
       .run = run_split,
       .outputs = fixed({kSplitDir})},
  };
  if (config.contains("synth")) {
    const bool teacher = config["synth"]["teachers"] || config["synth"]["program"];
    stages.push_back({.name = "synth",
                      .doing = teacher ? "writing instruction data and asking the teacher models"
                                       : "writing teacher-free instruction data",
                      .sections = {"synth"},
                      .resolve = resolve_synth,
                      .inputs = synth_inputs,
                      .run = run_synth,
                      .outputs = fixed({kSynthDir}),
                      .state = synth_state});
  }
  stages.push_back({.name = "tokenizer",
                    .doing = "training the byte-level BPE tokenizer",
                    .sections = {"tokenizer"},
                    .resolve = resolve_tokenizer,
                    .inputs = fixed({kTrainDocs}),
                    .run = run_tokenizer,
                    .outputs = fixed({kTokenizerDir}),
                    .summarize =
                        [](const RunContext& c, nlohmann::json& summary) {
                          summary["vocab_size"] = tok::Tokenizer::load(c.path(kTokenizerDir)).vocab_size();
                        }});
  stages.push_back({.name = "shard",
                    .doing = "tokenizing the training documents",
                    .resolve = resolve_shard,
                    .inputs = [](const RunContext& c) -> std::vector<std::string> {
                      if (has_synth(c)) return {kTrainDocs, kSynthText, kTokenizerJson};
                      return {kTrainDocs, kTokenizerJson};
                    },
                    .run = run_shard,
                    .outputs = shard_outputs,
                    .state = fixed({kShardDir})});
  const std::vector<Phase> phases = pretrain_phases(config, source);
  for (size_t i = 0; i < phases.size(); ++i) stages.push_back(phase_stage_entry(phases, i));
  if (config.contains("sft"))
    stages.push_back({.name = "sft",
                      .doing = "fine-tuning on the synthetic conversations",
                      .sections = {"sft"},
                      .resolve = resolve_sft,
                      .inputs = [](const RunContext& c) -> std::vector<std::string> {
                        return {final_checkpoint(c, last_pretrain_dir(c)), kSynthSft};
                      },
                      .run =
                          [](const RunContext& c, const std::string& config_path) {
                            sft::SftOptions so;
                            so.config_path = config_path;
                            so.resume = resuming(c, kSftDir);
                            sft::sft(so);
                            return nlohmann::json::object();
                          },
                      .outputs = [](const RunContext& c) -> std::vector<std::string> {
                        return {train::latest_checkpoint(c.path(kSftDir)), kSftDir + "/sft_rejects.jsonl"};
                      },
                      .state = fixed({kSftDir}),
                      .summarize = [](const RunContext& c, nlohmann::json& s) { summarize_training(c, kSftDir, s); }});
  if (config.contains("eval"))
    stages.push_back({.name = "eval",
                      .doing = "evaluating the final model",
                      .sections = {"eval"},
                      .resolve = resolve_eval,
                      .inputs = eval_inputs,
                      .run = run_eval,
                      .outputs = fixed({kEvalResults})});
  if (config.contains("export"))
    stages.push_back({.name = "export",
                      .doing = "exporting the final model (HF directory, GGUF, model card)",
                      .sections = {"export"},
                      .resolve = resolve_export,
                      .inputs = [](const RunContext& c) -> std::vector<std::string> {
                        std::vector<std::string> in{final_model(c)};
                        if (fs::exists(c.path(kEvalResults))) in.push_back(kEvalResults);
                        return in;
                      },
                      .run = run_export,
                      .outputs = fixed({kExportDir})});
  return stages;
}

namespace {

// The run config a manifest recorded (toml++'s JSON of it) back as TOML.
toml::array toml_array(const nlohmann::json& a);
toml::table toml_table(const nlohmann::json& j) {
  toml::table t;
  for (const auto& [k, v] : j.items()) {
    if (v.is_object()) t.insert_or_assign(k, toml_table(v));
    else if (v.is_array()) t.insert_or_assign(k, toml_array(v));
    else if (v.is_boolean()) t.insert_or_assign(k, v.get<bool>());
    else if (v.is_number_integer()) t.insert_or_assign(k, v.get<int64_t>());
    else if (v.is_number()) t.insert_or_assign(k, v.get<double>());
    else if (v.is_string()) t.insert_or_assign(k, v.get<std::string>());
  }
  return t;
}
toml::array toml_array(const nlohmann::json& a) {
  toml::array out;
  for (const auto& v : a) {
    if (v.is_object()) out.push_back(toml_table(v));
    else if (v.is_array()) out.push_back(toml_array(v));
    else if (v.is_boolean()) out.push_back(v.get<bool>());
    else if (v.is_number_integer()) out.push_back(v.get<int64_t>());
    else if (v.is_number()) out.push_back(v.get<double>());
    else if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

std::vector<std::string> stage_names(const nlohmann::json& recorded_config) {
  std::vector<std::string> names;
  for (const Stage& s : pipeline_stages(toml_table(recorded_config), "the manifest's config")) names.push_back(s.name);
  return names;
}

void run_pipeline(const RunOptions& o) {
  if (o.out_dir.empty()) fail("kormo run: an output directory is required (--out)");
  RunContext ctx;
  ctx.dir = fs::absolute(o.out_dir);
  ctx.source = o.config_path.empty() ? "<embedded default>" : o.config_path;
  ctx.config = o.config_path.empty() ? load_toml("", default_config()) : load_toml(o.config_path);
  const std::vector<Stage> stages = pipeline_stages(ctx.config, ctx.source);
  run_stages(stages, ctx, o.until);
  // The stages' files are complete and recorded; a report that fails leaves them valid,
  // so it is a warning (`kormo report` retries it), not a failed run.
  try {
    const report::ReportFiles r = report::write_report({.run_dir = ctx.dir.string()});
    log_info("run: report — {}", r.html);
  } catch (const std::exception& e) {
    log_warn("run: the report could not be written ({}); retry with `kormo report {}`", e.what(), ctx.dir.string());
  }
  // The closing sample needs the SFT model: only when the run went that far.
  auto index = [&](const std::string& name) {
    return std::find_if(stages.begin(), stages.end(), [&](const Stage& s) { return s.name == name; }) - stages.begin();
  };
  const auto sft = index("sft");
  if (sft < static_cast<long>(stages.size()) && (o.until.empty() || index(o.until) >= sft)) print_sample(ctx);
}

}  // namespace kormo::run
