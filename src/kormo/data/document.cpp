#include "kormo/data/document.h"

#include <fmt/format.h>

#include "kormo/text/utf8.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"

namespace kormo::data {

using nlohmann::json;

bool parse_document(std::string_view line, Document& doc, std::string& rule, std::string& why,
                    const std::string& text_field) {
  size_t bad = text::find_invalid_utf8(line);
  if (bad != text::kValid) {
    rule = "bad_input.invalid_utf8";
    why = fmt::format("invalid UTF-8 at byte {}", bad);
    return false;
  }
  json j = parse_json_or_discarded(line);
  if (j.is_discarded()) {
    // Re-parse with exceptions only to get the parser's position message.
    try {
      why = std::string("malformed JSON: ") + json::parse(line.begin(), line.end()).type_name();
    } catch (const json::parse_error& e) {
      why = fmt::format("malformed JSON at byte {}: expected a JSON object", e.byte);
    } catch (const json::exception& e) {
      why = fmt::format("malformed JSON: {}", e.what());
    }
    rule = "bad_input.malformed_json";
    return false;
  }
  if (!j.is_object()) {
    rule = "bad_input.not_an_object";
    why = "expected a JSON object";
    return false;
  }
  auto t = j.find(text_field);
  if (t == j.end() || !t->is_string()) {
    rule = "bad_input.missing_text";
    why = fmt::format("expected a string field \"{}\"", text_field);
    return false;
  }
  doc.text = t->get<std::string>();
  auto str = [&](const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::string();
    return it->is_string() ? it->get<std::string>() : it->dump();
  };
  doc.id = str("id");
  doc.lang = str("lang");
  doc.source = str("source");
  auto syn = j.find("synthetic");
  doc.synthetic = syn != j.end() && syn->is_boolean() && syn->get<bool>();
  auto meta = j.find("meta");
  doc.meta = (meta != j.end() && meta->is_object()) ? std::move(*meta) : json::object();
  // Keep unknown top-level fields (e.g. Dolma "added", "created") in meta so
  // nothing a producer wrote is lost on the way through.
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k == text_field || k == "id" || k == "lang" || k == "source" || k == "synthetic" || k == "meta" ||
        k == "text")
      continue;
    doc.meta[k] = std::move(it.value());
  }
  return true;
}

void for_each_document(const std::vector<std::string>& files, const std::string& text_field,
                       const std::function<void(Document&)>& on_doc,
                       const std::function<void(const std::string& where, const std::string& why)>& on_bad) {
  for (const auto& f : files) {
    LineReader r(f);
    std::string_view line;
    while (r.next(line)) {
      Document doc;
      std::string rule, why;
      if (!parse_document(line, doc, rule, why, text_field)) {
        on_bad(fmt::format("{}:{}", f, r.line_number()), why);
        continue;
      }
      on_doc(doc);
    }
  }
}

std::string to_json_line(const Document& doc) {
  // Built by hand to fix the key order (nlohmann sorts object keys).
  std::string out;
  out.reserve(doc.text.size() + 128);
  out += "{\"id\":";
  out += json(doc.id).dump();
  out += ",\"text\":";
  out += json(doc.text).dump(-1, ' ', false, json::error_handler_t::replace);
  out += ",\"lang\":";
  out += json(doc.lang).dump();
  out += ",\"source\":";
  out += json(doc.source).dump();
  out += doc.synthetic ? ",\"synthetic\":true" : ",\"synthetic\":false";
  out += ",\"meta\":";
  out += doc.meta.dump(-1, ' ', false, json::error_handler_t::replace);
  out += '}';
  return out;
}

void add_counts(Counts& into, const Counts& from) {
  for (const auto& [k, v] : from) into[k] += v;
}

json counts_to_json(const Counts& c) {
  json j = json::object();
  for (const auto& [k, v] : c) j[k] = v;
  return j;
}

Counts counts_from_json(const json& j) {
  Counts c;
  for (auto it = j.begin(); it != j.end(); ++it) c[it.key()] = it.value().get<uint64_t>();
  return c;
}

static std::string record(std::string_view action, std::string_view rule, std::string_view where,
                          const Document& doc, const json& detail, bool with_doc) {
  std::string out = "{\"action\":\"";
  out += action;
  out += "\",\"rule\":";
  out += json(std::string(rule)).dump();
  out += ",\"where\":";
  out += json(std::string(where)).dump();
  out += ",\"id\":";
  out += json(doc.id).dump();
  out += ",\"lang\":";
  out += json(doc.lang).dump();
  out += ",\"source\":";
  out += json(doc.source).dump();
  if (!detail.is_null()) {
    out += ",\"detail\":";
    out += detail.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (with_doc) {
    out += ",\"doc\":";
    out += to_json_line(doc);
  }
  out += '}';
  return out;
}

std::string reject_record(std::string_view rule, std::string_view where, const Document& doc, const json& detail) {
  return record("removed", rule, where, doc, detail, true);
}

std::string altered_record(std::string_view rule, std::string_view where, const Document& doc, const json& detail) {
  return record("altered", rule, where, doc, detail, false);
}

std::string bad_input_record(std::string_view rule, std::string_view where, std::string_view why,
                             std::string_view raw) {
  json j = {{"action", "removed"}, {"rule", std::string(rule)}, {"where", std::string(where)},
            {"detail", std::string(why)}, {"raw", text::replace_invalid_utf8(raw.substr(0, 2000))}};
  return j.dump();
}

}  // namespace kormo::data
