// `kormo report RUN`: a run's report page, its Markdown twin and its release cards, and
// optionally a bundle of the run for publication. docs/report.md.
#pragma once

#include <string>

namespace kormo::report {

struct ReportOptions {
  std::string run_dir{};
  std::string baseline_dir{};  // "" = none
  std::string out_dir{};       // "" = the run directory
  bool samples = true;       // generate sample answers with the final checkpoint
  // Bundle for publication ("" = none): configs, manifest, logs, report, cards; weights
  // and data by reference (paths and hashes) unless included.
  std::string bundle_dir{};
  bool include_weights = false, include_data = false;
};

struct ReportFiles {
  std::string html, markdown, model_card, dataset_card, bundle;  // "" where not written
};

// Every file is written atomically (the bundle as a directory renamed into place).
ReportFiles write_report(const ReportOptions& opt);

}  // namespace kormo::report
