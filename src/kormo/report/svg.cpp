#include "kormo/report/svg.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace kormo::report {
namespace {

constexpr double kWidth = 640, kHeight = 300;
constexpr double kLeft = 64, kRight = 16, kTop = 28, kBottom = 44;
const char* const kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"};

// About `n` round tick values covering [lo, hi].
std::vector<double> ticks(double lo, double hi, int n) {
  const double span = hi - lo;
  const double raw = span / n;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> out;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

std::string num(double v) {
  // Throughputs read better as 30000 than as 3e+04.
  if (std::abs(v) >= 1000 && std::abs(v) < 1e7) return fmt::format("{:.0f}", v);
  return fmt::format("{:.4g}", v);
}

}  // namespace

std::string escape_html(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<Point> downsample(const std::vector<Point>& points, size_t max_points) {
  if (points.size() <= max_points || max_points < 4) return points;
  const size_t buckets = max_points / 2;
  const double per = static_cast<double>(points.size()) / static_cast<double>(buckets);
  std::vector<Point> out;
  for (size_t b = 0; b < buckets; ++b) {
    const size_t begin = static_cast<size_t>(b * per), end = std::min(points.size(), static_cast<size_t>((b + 1) * per));
    size_t lo = end, hi = end;
    bool gap = false;
    for (size_t i = begin; i < end; ++i) {
      if (!std::isfinite(points[i].value)) {
        gap = true;
        continue;
      }
      if (lo == end || points[i].value < points[lo].value) lo = i;
      if (hi == end || points[i].value > points[hi].value) hi = i;
    }
    if (gap) out.push_back({points[begin].step, std::nan("")});
    if (lo == end) continue;
    out.push_back(points[std::min(lo, hi)]);
    if (lo != hi) out.push_back(points[std::max(lo, hi)]);
  }
  return out;
}

std::string line_chart(const std::vector<Line>& lines, const ChartOptions& opt) {
  auto y_of = [&](double v) { return opt.log_y ? std::log10(v) : v; };
  auto usable = [&](double v) { return std::isfinite(v) && (!opt.log_y || v > 0); };
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  std::vector<std::vector<Point>> shown;
  for (const Line& l : lines) {
    shown.push_back(downsample(l.points, opt.max_points));
    for (const Point& p : l.points)
      if (usable(p.value)) {
        x0 = std::min(x0, p.step), x1 = std::max(x1, p.step);
        y0 = std::min(y0, y_of(p.value)), y1 = std::max(y1, y_of(p.value));
      }
  }
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" "
      "role=\"img\" aria-label=\"{}\">\n<text x=\"{}\" y=\"18\" class=\"title\">{}</text>\n",
      kWidth, kHeight, kWidth, kHeight, escape_html(opt.title), kLeft, escape_html(opt.title));
  if (!(x0 <= x1)) {
    svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"empty\">no data</text>\n</svg>\n", kWidth / 2 - 30, kHeight / 2);
    return svg;
  }
  // A flat or single-point series still needs a span to scale into.
  if (x1 - x0 < 1e-12) x0 -= 1, x1 += 1;
  if (y1 - y0 < 1e-12 * std::max(1.0, std::abs(y0))) {
    const double pad = std::max(std::abs(y0) * 0.05, 1e-6);
    y0 -= pad, y1 += pad;
  }
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return kTop + ph - (y - y0) / (y1 - y0) * ph; };

  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"plot\"/>\n", kLeft, kTop, pw, ph);
  for (double t : ticks(x0, x1, 6)) {
    if (t < x0 || t > x1) continue;
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" class=\"grid\"/>"
                       "<text x=\"{0:.1f}\" y=\"{3}\" class=\"xtick\">{4}</text>\n",
                       px(t), kTop, kTop + ph, kTop + ph + 14, num(t));
  }
  // Decades make a log axis readable; a span under two of them gets round ticks of the
  // exponent instead, so every chart has labels.
  if (opt.log_y && std::floor(y1) - std::ceil(y0) >= 1) {
    for (double e = std::ceil(y0); e <= std::floor(y1); e += 1)
      svg += fmt::format("<line x1=\"{1}\" y1=\"{0:.1f}\" x2=\"{2}\" y2=\"{0:.1f}\" class=\"grid\"/>"
                         "<text x=\"{3}\" y=\"{0:.1f}\" class=\"ytick\">{4}</text>\n",
                         py(e), kLeft, kLeft + pw, kLeft - 4, num(std::pow(10.0, e)));
  } else {
    // Round values (in value space, also on a short log axis) at their place on the axis.
    const double v0 = opt.log_y ? std::pow(10.0, y0) : y0, v1 = opt.log_y ? std::pow(10.0, y1) : y1;
    for (double t : ticks(v0, v1, opt.log_y ? 3 : 5)) {
      if (!usable(t) || y_of(t) < y0 || y_of(t) > y1) continue;
      svg += fmt::format("<line x1=\"{1}\" y1=\"{0:.1f}\" x2=\"{2}\" y2=\"{0:.1f}\" class=\"grid\"/>"
                         "<text x=\"{3}\" y=\"{0:.1f}\" class=\"ytick\">{4}</text>\n",
                         py(y_of(t)), kLeft, kLeft + pw, kLeft - 4, num(t));
    }
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"xlabel\">{}</text>\n", kLeft + pw / 2, kHeight - 6,
                     escape_html(opt.x_label));
  svg += fmt::format("<text x=\"14\" y=\"{0}\" class=\"ylabel\" transform=\"rotate(-90 14 {0})\">{1}</text>\n",
                     kTop + ph / 2, escape_html(opt.y_label + (opt.log_y ? " (log scale)" : "")));
  for (size_t i = 0; i < shown.size(); ++i) {
    const char* colour = kColours[i % std::size(kColours)];
    std::string path;
    size_t run = 0;
    double lone_x = 0, lone_y = 0;
    auto close_run = [&] {
      // A stretch of one finite point between gaps would be invisible as a path.
      if (run == 1) path += fmt::format("M{:.1f} {:.1f}h0.01", lone_x, lone_y);
      run = 0;
    };
    for (const Point& p : shown[i]) {
      if (!usable(p.value)) {
        close_run();
        continue;
      }
      const double x = px(p.step), y = py(y_of(p.value));
      if (run == 0) lone_x = x, lone_y = y;
      else if (run == 1) path += fmt::format("M{:.1f} {:.1f}L{:.1f} {:.1f}", lone_x, lone_y, x, y);
      else path += fmt::format("L{:.1f} {:.1f}", x, y);
      ++run;
    }
    close_run();
    if (!path.empty())
      svg += fmt::format("<path d=\"{}\" class=\"series\" stroke=\"{}\"/>\n", path, colour);
    // The legend runs right-aligned along the title row, clear of the plot.
    const double lx = kWidth - kRight - 120.0 * static_cast<double>(shown.size() - i);
    svg += fmt::format("<rect x=\"{0}\" y=\"11\" width=\"10\" height=\"4\" fill=\"{1}\"/>"
                       "<text x=\"{2}\" y=\"18\" class=\"legend\">{3}</text>\n",
                       lx, colour, lx + 14, escape_html(lines[i].label));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace kormo::report
