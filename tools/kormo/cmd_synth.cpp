// kormo synth: synthetic SFT conversations. `builtin` runs the teacher-free
// programs (src/kormo/synth/builtin.h); programs declared in TOML against
// teacher models will sit beside it as `synth run`.
#include <memory>

#include "kormo/synth/builtin.h"
#include "kormo/util/io.h"
#include "verb.h"

namespace kormo::cli {
namespace {

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

void setup(CLI::App& verb) {
  verb.require_subcommand(1);
  add_builtin(verb);
}

}  // namespace

KORMO_VERB("synth", "Synthetic SFT conversations (builtin: translate, faq, arith; no teacher model)", 20, setup);

}  // namespace kormo::cli
