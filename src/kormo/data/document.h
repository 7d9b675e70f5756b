// Documents: the JSON Lines records every data verb reads and writes.
//
// Promises:
//  - One document per line: {"id","text","lang","source","synthetic","meta"}
//    (Dolma-compatible names). parse_document() accepts any JSON object with a
//    string text field; missing id/lang/source get "" and are filled by callers.
//  - Bad lines are never dropped silently: parse_document() says why a line is
//    unusable, and callers write it to the rejects file with its file:line.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <vector>
#include <map>
#include <string>
#include <string_view>

namespace kormo::data {

struct Document {
  std::string id, text, lang, source;
  bool synthetic = false;
  nlohmann::json meta = nlohmann::json::object();
};

// Parses one JSON line. On failure returns false and sets `rule` (a short
// machine name such as "bad_input.invalid_utf8") and `why` (for people).
bool parse_document(std::string_view line, Document& doc, std::string& rule, std::string& why,
                    const std::string& text_field = "text");

// Streams the documents of JSON Lines files (plain or .zst) in order. A line
// parse_document() rejects goes to on_bad("file:line", why) — which may throw to
// stop the stream — and is skipped (a blank line is a bad line too).
void for_each_document(const std::vector<std::string>& files, const std::string& text_field,
                       const std::function<void(Document&)>& on_doc,
                       const std::function<void(const std::string& where, const std::string& why)>& on_bad);

// Serialises without a trailing newline; keys in a fixed order.
std::string to_json_line(const Document& doc);

// Counters by rule name ("filter.gopher_quality.min_words", "kept", ...);
// std::map so reports list rules in a stable order.
using Counts = std::map<std::string, uint64_t>;
void add_counts(Counts& into, const Counts& from);
nlohmann::json counts_to_json(const Counts& c);
Counts counts_from_json(const nlohmann::json& j);

// A rejects-file record: the rule that removed or altered a document, where it
// came from, and the document (or, for unusable input, the raw line).
std::string reject_record(std::string_view rule, std::string_view where, const Document& doc,
                          const nlohmann::json& detail = nullptr);
std::string altered_record(std::string_view rule, std::string_view where, const Document& doc,
                           const nlohmann::json& detail = nullptr);
std::string bad_input_record(std::string_view rule, std::string_view where, std::string_view why,
                             std::string_view raw);

}  // namespace kormo::data
