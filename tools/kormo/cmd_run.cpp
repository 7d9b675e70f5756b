// kormo run: the whole pipeline from one TOML config (or the embedded default).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "kormo/run/run.h"
#include "kormo/util/config.h"
#include "verb.h"

namespace cmd_run {

void setup(CLI::App& verb) {
  static kormo::run::RunOptions o;
  static bool print_default = false, print_teacher = false;
  std::vector<std::string> stages;
  for (const kormo::run::Stage& s :
       kormo::run::pipeline_stages(kormo::load_toml("", kormo::run::default_config()), "<embedded default>"))
    stages.push_back(s.name);
  verb.add_option("config", o.config_path, "Run config (TOML); default: the embedded demo config");
  verb.add_option("-o,--out", o.out_dir, "Run directory for every output and manifest.json")->default_val("runs/demo");
  verb.add_option("--until", o.until,
                  fmt::format("Stop after this stage (those of the default: {})", fmt::join(stages, ", ")));
  verb.add_flag("--print-default", print_default, "Print the embedded default config and exit");
  verb.add_flag("--print-teacher-program", print_teacher,
                "Print the teacher program the synth stage asks when [synth] names a teacher, and exit");
  verb.footer(fmt::format(
      "Stages of the default config: {}\n"
      "(synth, sft, eval and export only with their tables; one pretrain-NAME stage per [[pretrain.phase]]).\n"
      "With [synth.teachers.NAME] (an OpenAI-compatible endpoint) the synth stage also asks teacher LLMs\n"
      "to write Korean text from a sample of the training documents (docs/synth.md § In kormo run).\n"
      "Each stage's config, resolved from the run config, is written to RUN/config/<stage>.toml\n"
      "(data.toml and pretrain.toml rerun alone with `kormo data pipeline` and `kormo pretrain`), and\n"
      "RUN/manifest.json records every input and output with content hashes. Rerunning into the same\n"
      "directory reuses finished stages and resumes training, so a killed run continues where it\n"
      "stopped; a stage whose config or inputs changed reruns from scratch, and so do the stages\n"
      "downstream whose inputs it changed. At the end it writes RUN/report.html and report.md\n"
      "(`kormo report`, docs/report.md) and prints one answer of the SFT model.\n\n"
      "The default config fetches real Korean and English text with `apt-get download` (nothing is\n"
      "installed), so it needs the Debian package mirrors.\n\n"
      "Examples:\n"
      "  kormo run                              # the demo into runs/demo\n"
      "  kormo run --print-default > my.toml    # start your own config from it\n"
      "  kormo run my.toml -o runs/exp1 --until tokenizer\n"
      "  kormo verify runs/exp1",
      fmt::join(stages, " -> ")));
  verb.callback([] {
    if (print_default) {
      fmt::print("{}", kormo::run::default_config());
      return;
    }
    if (print_teacher) {
      fmt::print("{}", kormo::run::default_teacher_program());
      return;
    }
    kormo::run::run_pipeline(o);
  });
}

KORMO_VERB("run", "Run the whole pipeline from one config, with a manifest of hashes", 5, setup);

}  // namespace cmd_run
