// Ingest: raw files to documents.
//
// Formats (by --format or the file suffix): text (.txt and anything else;
// one document per file, per blank-line-separated block, or per line), jsonl
// (.jsonl; the text is one field or several joined by a blank line), json (a
// file holding an array of objects), csv/tsv (RFC 4180 quoting, multi-line
// fields; text from named columns, header row required), html (.html/.htm;
// boilerplate-light extraction, see html.h). All may be .zst-compressed.
// Every document gets id "<source>/<file name>#<n>", lang (given, or "" to be
// set by langid), source, synthetic=false and meta.path / meta.line.
// Unusable input (invalid UTF-8, bad JSON, missing field, empty file) is
// written to the rejects file with path:line and counted. Blank lines of
// JSONL and CSV/TSV files are skipped and counted (skipped.blank_lines, and a
// warning per file).
#pragma once

#include <string>
#include <vector>

#include "kormo/data/document.h"
#include "kormo/util/io.h"

namespace kormo::data {

struct IngestOptions {
  std::string format = "auto";  // auto, text, jsonl, json, csv, tsv, html
  std::string split = "file";   // text: file, paragraph, line
  std::vector<std::string> fields = {"text"};  // jsonl/json/csv/tsv text fields or columns
  std::string lang;             // "" = unknown (run langid)
  std::string source;           // "" = the format name
  size_t limit = 0;             // stop after this many documents (0 = no limit)
};

struct IngestSink {
  IngestSink(AtomicWriter* d, AtomicWriter* r) : docs(d), rejects(r) {}
  AtomicWriter* docs;
  AtomicWriter* rejects;
  Counts counts;
  size_t written = 0;
  size_t limit = 0;
  bool full() const { return limit > 0 && written >= limit; }
  void emit(const Document& d);
  void reject(const std::string& rule, const std::string& where, const std::string& why, std::string_view raw);
};

void ingest_files(const std::vector<std::string>& inputs, const IngestOptions& opt, IngestSink& sink);

// CSV/TSV record splitting (exposed for tests): returns false at end of input.
bool read_csv_record(LineReader& r, char sep, std::vector<std::string>& cells, std::string& raw);

}  // namespace kormo::data
