#include "kormo/data/ingest.h"

#include <algorithm>
#include <filesystem>

#include "kormo/data/html.h"
#include "kormo/data/words.h"
#include "kormo/text/utf8.h"
#include "kormo/util/error.h"
#include "kormo/util/log.h"
#include "kormo/util/json.h"

namespace kormo::data {

namespace fs = std::filesystem;
using nlohmann::json;

void IngestSink::emit(const Document& d) {
  if (full()) return;
  docs->write_line(to_json_line(d));
  ++written;
  ++counts["output.documents"];
}

void IngestSink::reject(const std::string& rule, const std::string& where, const std::string& why,
                        std::string_view raw) {
  rejects->write_line(bad_input_record(rule, where, why, raw));
  ++counts["removed." + rule];
}

bool read_csv_record(LineReader& r, char sep, std::vector<std::string>& cells, std::string& raw) {
  cells.assign(1, "");
  raw.clear();
  std::string_view line;
  bool quoted = false, any = false;
  while (r.next(line)) {
    any = true;
    if (!raw.empty()) raw += '\n', cells.back() += '\n';
    raw.append(line);
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (c == '"') {
        if (quoted && i + 1 < line.size() && line[i + 1] == '"') cells.back() += '"', ++i;
        else quoted = !quoted;
      } else if (c == sep && !quoted) {
        cells.emplace_back();
      } else if (!(c == '\r' && i + 1 == line.size())) {
        cells.back() += c;
      }
    }
    if (!quoted) return true;
  }
  return any;
}

namespace {

std::string format_of(const std::string& path, const std::string& fmt) {
  if (fmt != "auto") return fmt;
  std::string p = path;
  if (p.ends_with(".zst")) p.resize(p.size() - 4);
  if (p.ends_with(".jsonl") || p.ends_with(".ndjson")) return "jsonl";
  if (p.ends_with(".json")) return "json";
  if (p.ends_with(".csv")) return "csv";
  if (p.ends_with(".tsv")) return "tsv";
  if (p.ends_with(".html") || p.ends_with(".htm") || p.ends_with(".xhtml")) return "html";
  return "text";
}

struct FileCtx {
  const std::string& path;
  const IngestOptions& opt;
  IngestSink& sink;
  std::string source, name;
  size_t n = 0, blank_lines = 0;
  // JSONL and CSV/TSV have no blank records: a blank line is skipped, but
  // counted, since it can be the trace of a lost record.
  void blank_line() {
    ++blank_lines;
    ++sink.counts["skipped.blank_lines"];
  }
  void doc(std::string text, size_t line, json extra = json::object()) {
    std::string where = fmt::format("{}:{}", path, line);
    size_t bad = text::find_invalid_utf8(text);
    if (bad != text::kValid) {
      sink.reject("bad_input.invalid_utf8", where, fmt::format("invalid UTF-8 at byte {} of the text", bad), text);
      return;
    }
    if (trim(text).empty()) return;  // separators, not documents
    Document d;
    d.id = fmt::format("{}/{}#{}", source, name, n++);
    d.text = std::move(text);
    d.lang = opt.lang;
    d.source = source;
    d.meta = std::move(extra);
    d.meta["path"] = path;
    d.meta["line"] = line;
    sink.emit(d);
  }
};

std::string joined_fields(const json& j, const std::vector<std::string>& fields, std::string& missing) {
  std::string text;
  for (const auto& f : fields) {
    auto it = j.find(f);
    if (it == j.end() || !it->is_string()) {
      missing = f;
      return "";
    }
    if (!text.empty()) text += "\n\n";
    text += it->get<std::string>();
  }
  return text;
}

void ingest_text(FileCtx& c) {
  LineReader r(c.path);
  std::string_view line;
  std::string block;
  size_t block_line = 1;
  auto flush = [&] {
    c.doc(block, block_line);
    block.clear();
  };
  while (r.next(line) && !c.sink.full()) {
    if (r.line_number() == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    if (c.opt.split == "line") {
      c.doc(std::string(line), r.line_number());
    } else if (c.opt.split == "paragraph" && trim(line).empty()) {
      if (!block.empty()) flush();
      block_line = r.line_number() + 1;
    } else {
      if (block.empty()) block_line = r.line_number();
      block.append(line);
      block += '\n';
    }
  }
  if (!block.empty()) flush();
}

void ingest_jsonl(FileCtx& c) {
  LineReader r(c.path);
  std::string_view line;
  while (r.next(line) && !c.sink.full()) {
    if (trim(line).empty()) {
      c.blank_line();
      continue;
    }
    std::string where = fmt::format("{}:{}", c.path, r.line_number());
    size_t bad = text::find_invalid_utf8(line);
    if (bad != text::kValid) {
      c.sink.reject("bad_input.invalid_utf8", where, fmt::format("invalid UTF-8 at byte {}", bad), line);
      continue;
    }
    json j = parse_json_or_discarded(line);
    if (j.is_discarded() || !j.is_object()) {
      c.sink.reject("bad_input.malformed_json", where, "expected a JSON object", line);
      continue;
    }
    std::string missing;
    std::string text = joined_fields(j, c.opt.fields, missing);
    if (!missing.empty()) {
      c.sink.reject("bad_input.missing_text", where, fmt::format("expected a string field \"{}\"", missing), line);
      continue;
    }
    c.doc(std::move(text), r.line_number());
  }
}

void ingest_json_array(FileCtx& c) {
  std::string all = read_file(c.path);
  size_t bad = text::find_invalid_utf8(all);
  if (bad != text::kValid) {
    c.sink.reject("bad_input.invalid_utf8", c.path + ":1", fmt::format("invalid UTF-8 at byte {}", bad), "");
    return;
  }
  json j = parse_json_or_discarded(all);
  if (j.is_discarded() || !j.is_array()) {
    c.sink.reject("bad_input.malformed_json", c.path + ":1", "expected a JSON array of objects", all.substr(0, 200));
    return;
  }
  size_t i = 0;
  for (const auto& item : j) {
    ++i;
    if (c.sink.full()) break;
    std::string missing;
    std::string text = item.is_object() ? joined_fields(item, c.opt.fields, missing) : "";
    if (!item.is_object() || !missing.empty()) {
      c.sink.reject("bad_input.missing_text", fmt::format("{}:1 (item {})", c.path, i),
                    fmt::format("expected an object with string field \"{}\"", missing), item.dump());
      continue;
    }
    c.doc(std::move(text), 1, json{{"item", i}});
  }
}

void ingest_csv(FileCtx& c, char sep) {
  LineReader r(c.path);
  std::vector<std::string> cells;
  std::string raw;
  if (!read_csv_record(r, sep, cells, raw)) return;
  if (!cells.empty() && cells[0].substr(0, 3) == "\xEF\xBB\xBF") cells[0].erase(0, 3);
  const std::vector<std::string> header = cells;
  std::vector<size_t> cols;
  for (const auto& f : c.opt.fields) {
    size_t k = 0;
    while (k < cells.size() && cells[k] != f) ++k;
    if (k == cells.size()) {
      std::string have;
      for (const auto& h : cells) have += (have.empty() ? "" : ", ") + h;
      fail("{}:1: no column \"{}\" in the header (columns: {}); pick one with --field", c.path, f, have);
    }
    cols.push_back(k);
  }
  while (!c.sink.full()) {
    size_t line = r.line_number() + 1;
    if (!read_csv_record(r, sep, cells, raw)) break;
    if (cells.size() == 1 && trim(cells[0]).empty()) {
      c.blank_line();
      continue;
    }
    std::string text;
    bool ok = true;
    for (size_t k : cols) {
      if (k >= cells.size()) {
        ok = false;
        break;
      }
      if (!text.empty()) text += "\n\n";
      text += cells[k];
    }
    if (!ok) {
      c.sink.reject("bad_input.missing_text", fmt::format("{}:{}", c.path, line),
                    fmt::format("expected at least {} columns", cols.back() + 1), raw);
      continue;
    }
    // The other columns (labels, ids) go to meta by header name, as JSONL's
    // unknown keys do, so a labelled TSV stays labelled.
    json extra = json::object();
    for (size_t k = 0; k < cells.size() && k < header.size(); ++k)
      if (std::find(cols.begin(), cols.end(), k) == cols.end()) extra[header[k]] = cells[k];
    c.doc(std::move(text), line, std::move(extra));
  }
}

void ingest_html(FileCtx& c) {
  std::string html = read_file(c.path);
  if (!text::is_valid_utf8(html)) html = text::replace_invalid_utf8(html);
  std::string title = html_title(html);
  c.doc(html_to_text(html), 1, title.empty() ? json::object() : json{{"title", title}});
}

}  // namespace

void ingest_files(const std::vector<std::string>& inputs, const IngestOptions& opt, IngestSink& sink) {
  sink.limit = opt.limit;
  if (opt.split != "file" && opt.split != "paragraph" && opt.split != "line")
    fail("--split must be file, paragraph or line, got \"{}\"", opt.split);
  for (const auto& path : inputs) {
    if (sink.full()) break;
    std::string f = format_of(path, opt.format);
    if (fs::is_regular_file(path) && fs::file_size(path) == 0) {
      log_warn("{}: empty input file", path);
      sink.reject("bad_input.empty_file", path + ":0", "empty input file", "");
      continue;
    }
    FileCtx c{path, opt, sink, opt.source.empty() ? f : opt.source, fs::path(path).filename().string()};
    size_t before = sink.written;
    if (f == "text") ingest_text(c);
    else if (f == "jsonl") ingest_jsonl(c);
    else if (f == "json") ingest_json_array(c);
    else if (f == "csv") ingest_csv(c, ',');
    else if (f == "tsv") ingest_csv(c, '\t');
    else if (f == "html") ingest_html(c);
    else fail("unknown --format \"{}\" (expected auto, text, jsonl, json, csv, tsv or html)", f);
    ++sink.counts["input.files"];
    log_info("{}: {} documents ({})", path, sink.written - before, f);
    if (c.blank_lines > 0) log_warn("{}: skipped {} blank lines", path, c.blank_lines);
  }
}

}  // namespace kormo::data
