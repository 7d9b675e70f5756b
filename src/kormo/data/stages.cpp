#include "kormo/data/stages.h"

#include "kormo/data/kinds.h"
#include "kormo/data/langid.h"
#include "kormo/data/pii.h"
#include "kormo/data/words.h"
#include "kormo/text/utf8.h"
#include "kormo/util/config.h"
#include "kormo/util/hash.h"

namespace kormo::data {

using nlohmann::json;

const Thresholds& StageConfig::thresholds_for(const std::string& lang) const {
  auto it = thresholds.find(lang);
  if (it != thresholds.end()) return it->second;
  static const Thresholds fallback = default_thresholds("default");
  it = thresholds.find("default");
  return it != thresholds.end() ? it->second : fallback;
}

void default_threshold_table(StageConfig& c) {
  for (const char* l : {"ko", "en", "default"}) c.thresholds[l] = default_thresholds(l);
}

void read_filter_config(ConfigSection& sec, StageConfig& c) {
  c.pii = sec.get_bool("pii", c.pii);
  c.gopher_repetition = sec.get_bool("gopher_repetition", c.gopher_repetition);
  c.gopher_quality = sec.get_bool("gopher_quality", c.gopher_quality);
  c.c4 = sec.get_bool("c4", c.c4);
  c.fineweb = sec.get_bool("fineweb", c.fineweb);
  if (c.thresholds.empty()) default_threshold_table(c);
  if (const toml::table* t = sec.table())
    for (const auto& [key, node] : *t)
      if (node.is_table()) {
        std::string lang(key.str());
        if (!c.thresholds.count(lang)) c.thresholds[lang] = default_thresholds(lang);
        ConfigSection sub = sec.section(lang);
        read_thresholds(sub, c.thresholds[lang]);
        sub.check_unused();
      }
}

static json thresholds_json(const Thresholds& t) {
  json j = {{"top_n_grams", t.top_n_grams}, {"dup_n_grams", t.dup_n_grams}};
  for_each_threshold([&](const char* key, auto field) { j[key] = t.*field; });
  return j;
}

json StageConfig::describe() const {
  json j = json::object();
  if (normalize) {
    json rules = json::array();
    for (const auto& r : boilerplate) rules.push_back({int(r.kind), r.needle});
    j["normalize"] = {{"form", form == text::NormForm::kNFC ? "NFC" : "NFKC"}, {"boilerplate", rules}};
  }
  if (langid) {
    j["langid"] = {{"keep", keep_langs}, {"set_lang", set_lang}};
    if (langid_model)
      j["langid"]["model"] = {{"path", langid_model->path()}, {"hash", file_xxh3_128_hex(langid_model->path())}};
  }
  if (langid || filter) {
    json th = json::object();
    for (const auto& [l, t] : thresholds) th[l] = thresholds_json(t);
    j["thresholds"] = th;
  }
  if (kinds) {
    json table = json::object();
    for (const auto& [kind, by_lang] : kinds->table())
      for (const auto& [l, t] : by_lang) table[kind][l] = thresholds_json(t);
    j["kinds"] = {{"thresholds", table}, {"sources", kinds->source_kinds()}, {"default", kinds->default_kind()}};
  }
  if (filter)
    j["filter"] = {{"pii", pii}, {"gopher_repetition", gopher_repetition}, {"gopher_quality", gopher_quality},
                   {"c4", c4}, {"fineweb", fineweb}};
  if (!classifiers.empty()) {
    json steps = json::array();
    for (const auto& cl : classifiers)
      steps.push_back({{"name", cl.name}, {"model", cl.model_path}, {"model_hash", file_xxh3_128_hex(cl.model_path)},
                       {"label", cl.label}, {"min_score", cl.min_score}, {"max_score", cl.max_score}});
    j["classifier"] = steps;
  }
  if (decontam) {
    json files = json::array();
    for (const auto& f : decontam->files()) files.push_back({f, file_xxh3_128_hex(f)});
    const DecontamOptions& o = decontam->options();
    j["decontam"] = {{"files", files},
                     {"flag_only", decontam_flag_only},
                     {"ngrams", decontam->size()},
                     {"rule", {{"ngram", o.ngram},
                               {"min_words", o.min_words},
                               {"hangul_chars", o.hangul_chars},
                               {"min_hangul_chars", o.min_hangul_chars}}}};
  }
  return j;
}

static bool reject(StageOutput& out, const std::string& rule, const std::string& where, const Document& doc,
                   const json& detail) {
  out.rejects += reject_record(rule, where, doc, detail);
  out.rejects += '\n';
  ++out.counts["removed." + rule];
  return false;
}

static void altered(StageOutput& out, const std::string& rule, const std::string& where, const Document& doc,
                    const json& detail) {
  out.rejects += altered_record(rule, where, doc, detail);
  out.rejects += '\n';
  ++out.counts["altered." + rule];
}

bool process_document(const StageConfig& c, Document& doc, const std::string& where, StageOutput& out) {
  ++out.counts["input.documents"];
  if (!text::is_valid_utf8(doc.text)) {
    // parse_document() validated the line, so this only guards direct callers.
    return reject(out, "bad_input.invalid_utf8", where, doc, nullptr);
  }
  if (c.normalize) {
    std::string t = normalize_text(doc.text, c.form);
    std::vector<std::string> fired = strip_boilerplate(t, c.boilerplate);
    if (t != doc.text) {
      json detail = {{"chars_before", text::count_code_points(doc.text)}, {"chars_after", text::count_code_points(t)}};
      doc.text = std::move(t);
      altered(out, fired.empty() ? "normalize.text" : fired.front(), where, doc, detail);
    }
    if (trim(doc.text).empty()) return reject(out, "normalize.empty", where, doc, nullptr);
  }
  if (c.langid) {
    LangScore ls = c.langid_model ? identify_language(*c.langid_model, doc.text) : identify_language(doc.text);
    doc.meta["lang_score"] = ls.score;
    if (c.set_lang || doc.lang.empty()) doc.lang = ls.lang;
    bool wanted = c.keep_langs.empty();
    for (const auto& l : c.keep_langs) wanted = wanted || l == ls.lang;
    if (!wanted) return reject(out, "langid.language", where, doc, json{{"lang", ls.lang}, {"score", ls.score}});
    if (ls.score < c.thresholds_for(ls.lang).lang_score)
      return reject(out, "langid.score", where, doc, json{{"lang", ls.lang}, {"score", ls.score}});
  }
  if (c.filter) {
    const Thresholds* kind_t = c.kinds ? c.kinds->thresholds(c.kinds->kind_of(doc), doc.lang) : nullptr;
    const Thresholds& t = kind_t ? *kind_t : c.thresholds_for(doc.lang);
    if (c.pii) {
      PiiCounts pc;
      std::string masked = mask_pii(doc.text, pc);
      if (pc.total() > 0) {
        const std::pair<const char*, size_t> kinds[] = {{"email", pc.email}, {"phone", pc.phone},
                                                        {"rrn", pc.rrn},     {"brn", pc.brn},
                                                        {"account", pc.account}, {"card", pc.card},
                                                        {"ip", pc.ip}};
        json counts = json::object();
        for (const auto& [kind, n] : kinds) {
          counts[kind] = n;
          // Identifiers by kind in the summary, beside the altered-document count.
          if (n > 0) out.counts[std::string("pii.") + kind] += n;
        }
        doc.text = std::move(masked);
        doc.meta["pii"] = counts;
        altered(out, "pii.masked", where, doc, counts);
      }
    }
    RuleResult r;
    if (kind_t && !(r = short_text_boilerplate(doc.text)).rule.empty())
      return reject(out, r.rule, where, doc, json{{"value", r.value}});
    if (c.gopher_repetition && !(r = gopher_repetition(doc.text, t)).rule.empty())
      return reject(out, r.rule, where, doc, json{{"value", r.value}});
    if (c.gopher_quality && !(r = gopher_quality(doc.text, t)).rule.empty())
      return reject(out, r.rule, where, doc, json{{"value", r.value}});
    if (c.c4) {
      size_t removed = 0;
      r = c4_quality(doc.text, t, removed);
      if (!r.rule.empty()) return reject(out, r.rule, where, doc, json{{"value", r.value}});
      if (removed > 0) altered(out, "c4.lines_removed", where, doc, json{{"lines", removed}});
    }
    if (c.fineweb && !(r = fineweb_quality(doc.text, t)).rule.empty())
      return reject(out, r.rule, where, doc, json{{"value", r.value}});
  }
  for (const auto& cl : c.classifiers) {
    double score = cl.model->probability(doc.text, cl.label);
    if (!doc.meta["classifier"].is_object()) doc.meta["classifier"] = json::object();
    doc.meta["classifier"][cl.name] = score;
    if (score < cl.min_score || score > cl.max_score)
      return reject(out, "classifier." + cl.name, where, doc,
                    json{{"score", score}, {"label", cl.label}, {"min_score", cl.min_score}, {"max_score", cl.max_score}});
  }
  if (c.decontam) {
    DecontamIndex::Match m = c.decontam->match(doc.text);
    if (m.ngrams > 0) {
      json detail = {{"ngrams", m.ngrams}, {"eval_file", m.first_file}};
      if (!c.decontam_flag_only) return reject(out, "decontam.ngram_overlap", where, doc, detail);
      doc.meta["contamination"] = detail;
      altered(out, "decontam.flagged", where, doc, detail);
    }
  }
  ++out.counts["output.documents"];
  out.kept += to_json_line(doc);
  out.kept += '\n';
  return true;
}

}  // namespace kormo::data
