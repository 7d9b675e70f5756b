// kormo synth: synthetic data. `builtin` runs the teacher-free programs
// (src/kormo/synth/builtin.h); `run` and `plan` the programs declared in TOML that ask
// teacher models (src/kormo/synth/teacher_run.h, program.h).
#include <algorithm>
#include <cstdio>
#include <memory>

#include "kormo/synth/builtin.h"
#include "kormo/synth/program.h"
#include "kormo/synth/teacher_run.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"
#include "verb.h"

namespace kormo::cli {
namespace cmd_synth {

void add_builtin(CLI::App& verb) {
  struct Args {
    std::string program;
    std::vector<std::string> docs;
    synth::BuiltinOptions opt;
  };
  auto a = std::make_shared<Args>();
  auto* c = verb.add_subcommand("builtin", "Teacher-free programs: translate, faq, arith (or all) -> conversations");
  c->add_option("--program", a->program, "translate, faq, arith or all")
      ->required()
      ->check(CLI::IsMember({"translate", "faq", "arith", "all"}));
  c->add_option("--docs", a->docs,
                "Documents from `kormo data ingest --source debian` (JSONL/.zst; globs, directories; repeatable) "
                "for translate and faq");
  c->add_option("-o,--output", a->opt.output, "Conversations (.jsonl or .jsonl.zst)")->required();
  c->add_option("-n", a->opt.n, "At most N conversations per program (default: all for translate/faq, 1000 for arith)");
  c->add_option("--seed", a->opt.seed, "Seed for templates, arith items and sampling (default 0)");
  c->add_option("--summary", a->opt.summary, "Counts per program and rule (default: OUTPUT with .summary.json)");
  c->add_option("--min-chars", a->opt.min_chars, "Shortest answer kept, in characters (default 2)");
  c->add_option("--max-chars", a->opt.max_chars, "Longest message kept, in characters (default 4000)")
      ->check(CLI::PositiveNumber);
  c->footer(
      "Writes KORMo-format conversations, one per line:\n"
      "  {\"id\",\"conversation\":[{\"role\":\"user\",…},{\"role\":\"assistant\",\"content\",\"reasoning_content\"?}],\n"
      "   \"lang\",\"source\":PROGRAM,\"synthetic\":true,\"meta\":{\"program\",\"template\",…}}\n"
      "translate: both directions from aligned ko/en pairs (LibreOffice help paragraphs, gettext catalogs);\n"
      "faq: numbered section headings (questions or titles) and their text; arith: shopping, units and\n"
      "Korean number reading with reasoning steps, computed by code. Same inputs and seed -> same bytes.\n"
      "docs/synth.md has the templates and rules.\n\n"
      "Examples:\n"
      "  kormo data ingest --source debian -o debian.jsonl.zst\n"
      "  kormo synth builtin --program all --docs debian.jsonl.zst --seed 1 -o sft.jsonl.zst\n"
      "  kormo synth builtin --program arith -n 5000 --seed 7 -o arith.jsonl");
  c->callback([a] {
    if (a->program == "all") a->opt.programs = synth::builtin_programs();
    else a->opt.programs = {a->program};
    if (!a->docs.empty()) a->opt.docs = expand_inputs(a->docs);
    synth::run_builtin(a->opt);
  });
}

void add_run(CLI::App& verb) {
  auto opt = std::make_shared<synth::TeacherRunOptions>();
  auto no_requests = std::make_shared<bool>(false);
  auto* c = verb.add_subcommand("run", "A teacher program (TOML): ask teacher LLMs, filter, write with provenance");
  c->add_option("config", opt->config, "The program's TOML file")->required()->check(CLI::ExistingFile);
  c->add_option("-o,--output", opt->output, "Output directory (default: [program] output)");
  c->add_flag("--no-requests", *no_requests, "Send nothing: rebuild the output from the answers already stored");
  c->footer(
      "Asks every planned item that has no stored answer, with retries, budgets and rate limits;\n"
      "answers are appended to OUTPUT/raw/part-*.jsonl as they arrive, so a killed run loses only\n"
      "the requests in flight and a rerun never asks a finished item again. Then writes\n"
      "OUTPUT/synth.jsonl (kept outputs, synthetic, with provenance), rejects.jsonl (with the\n"
      "rule), summary.json and diversity.json. Exits 1 when items failed (rerun to retry them).\n"
      "docs/synth.md § Teacher programs has the config keys.\n\n"
      "Examples:\n"
      "  OPENAI_API_KEY=… kormo synth run program.toml\n"
      "  kormo synth run program.toml -o out/ --no-requests");
  c->callback([opt, no_requests] {
    opt->requests = !*no_requests;
    const auto r = synth::run_teacher_program(*opt);
    if (r.budget_exhausted) log_warn("synth: the budget is spent; {} of {} items answered", r.done, r.planned);
    if (r.failed > 0)
      fail("synth: {} of {} items failed after their retries (summary.json: errors by reason); rerun to retry them",
           r.failed, r.planned);
  });
}

void add_plan(CLI::App& verb) {
  struct Args {
    std::string config;
    size_t n = 0;
  };
  auto a = std::make_shared<Args>();
  auto* c = verb.add_subcommand("plan", "Print a teacher program's plan: one JSON line per item, with its prompt");
  c->add_option("config", a->config, "The program's TOML file")->required()->check(CLI::ExistingFile);
  c->add_option("-n", a->n, "Only the first N items");
  c->callback([a] {
    const synth::Program p = synth::load_program(a->config);
    const auto plan = synth::make_plan(p);
    const size_t n = a->n ? std::min(a->n, plan.size()) : plan.size();
    for (size_t i = 0; i < n; ++i) std::printf("%s\n", synth::plan_item_line(p, plan[i]).c_str());
  });
}

void setup(CLI::App& verb) {
  verb.require_subcommand(1);
  add_builtin(verb);
  add_run(verb);
  add_plan(verb);
}

KORMO_VERB("synth", "Synthetic data (builtin: translate, faq, arith; run/plan: teacher LLM programs)", 20, setup);

}  // namespace cmd_synth

}  // namespace kormo::cli
