// Inline SVG line charts and HTML escaping for the self-contained report page.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kormo/report/facts.h"

namespace kormo::report {

// Text for HTML element content and attribute values: & < > " ' as entities.
std::string escape_html(std::string_view s);

struct Line {
  std::string label;
  std::vector<Point> points;  // NaN values break the line
};

struct ChartOptions {
  std::string title{}, x_label = "step", y_label{};
  bool log_y = false;         // for the learning rate and gradient norm, which span decades
  size_t max_points = 800;    // per line; more are reduced to each bucket's minimum and maximum
};

// One <svg> with axes, ticks, axis labels, a legend and one polyline per line. A single
// point is drawn as a dot; no finite points gives a chart that says "no data".
std::string line_chart(const std::vector<Line>& lines, const ChartOptions& opt);

// Keeps the shape of a long series in about max_points points: per bucket of steps the
// minimum and maximum (in step order), so spikes survive; NaN gaps are kept.
std::vector<Point> downsample(const std::vector<Point>& points, size_t max_points);

}  // namespace kormo::report
