// The report of a run as one self-contained HTML page and as Markdown, from RunFacts.
//
// The page loads nothing: styles are inline, plots are inline SVG drawn here, there is no
// script, and a Content-Security-Policy meta tag (default-src 'none') makes a browser
// refuse any request should text from the data ever slip through. All text taken from
// the run (documents, rejects, samples, config values, paths) is escaped.
#pragma once

#include <string>

#include "kormo/report/facts.h"

namespace kormo::report {

// `baseline` (may be null): another run whose evaluation and final validation figures
// are shown beside this run's.
std::string render_html(const RunFacts& run, const RunFacts* baseline);
std::string render_markdown(const RunFacts& run, const RunFacts* baseline);

// The model card (README.md of a model directory) and the dataset card (README.md beside
// the curated documents), generated from the same facts.
std::string model_card(const RunFacts& run);
std::string dataset_card(const RunFacts& run);

}  // namespace kormo::report
