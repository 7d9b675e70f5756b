// kormo report: a run's report page (report.html), its Markdown twin and release cards.
#include <fmt/format.h>

#include "kormo/report/report.h"
#include "kormo/util/error.h"
#include "verb.h"

namespace cmd_report {

void setup(CLI::App& verb) {
  static kormo::report::ReportOptions o;
  static bool no_samples = false;
  verb.add_option("run", o.run_dir, "Run directory (the --out of `kormo run`)")->required();
  verb.add_option("--baseline", o.baseline_dir, "Another run to compare evaluation and validation figures with");
  verb.add_option("-o,--out", o.out_dir, "Where to write the report and cards (default: the run directory)");
  verb.add_flag("--no-samples", no_samples, "Do not generate sample answers with the final checkpoint");
  verb.add_option("--bundle", o.bundle_dir,
                  "Also write a new directory for publication: configs, manifest, logs, report, cards; "
                  "weights and data by reference (paths and hashes) unless included");
  verb.add_flag("--include-weights", o.include_weights, "With --bundle: copy the final model directory into it");
  verb.add_flag("--include-data", o.include_data, "With --bundle: copy the curated documents and rejects into it");
  verb.footer(
      "Writes report.html (one self-contained page: inline CSS and SVG charts, no scripts, nothing\n"
      "fetched), report.md, model_card.md and data/README.md (the dataset card). Sections whose files\n"
      "the run lacks (SFT, evaluation, ...) say \"not run\". `kormo run` writes the report at its end.\n\n"
      "Examples:\n"
      "  kormo report runs/demo                       # runs/demo/report.html and report.md\n"
      "  kormo report runs/exp2 --baseline runs/exp1  # evaluation against the earlier run\n"
      "  kormo report runs/demo --bundle release/demo --include-weights");
  verb.callback([] {
    if ((o.include_weights || o.include_data) && o.bundle_dir.empty())
      kormo::fail_usage("--include-weights and --include-data need --bundle DIR");
    o.samples = !no_samples;
    const kormo::report::ReportFiles f = kormo::report::write_report(o);
    fmt::print("{}\n{}\n", f.html, f.markdown);
    if (!f.bundle.empty()) fmt::print("{}\n", f.bundle);
  });
}

KORMO_VERB("report", "Write a run's report (self-contained HTML + Markdown) and its model and dataset cards", 90, setup);

}  // namespace cmd_report
