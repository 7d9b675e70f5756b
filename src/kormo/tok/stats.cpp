#include "kormo/tok/stats.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "kormo/text/unicode.h"
#include "kormo/text/utf8.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

namespace kormo::tok {
namespace {

using json = nlohmann::json;

enum class TokenClass { kHangul, kHan, kLatin, kDigit, kSpace, kOther, kPartial };

TokenClass classify_token(std::string_view bytes) {
  if (!text::is_valid_utf8(bytes)) return TokenClass::kPartial;
  bool hangul = false, han = false, latin = false, digit = false, space = false, other = false;
  size_t pos = 0;
  char32_t cp;
  while (pos < bytes.size() && text::decode_next(bytes, pos, cp)) {
    if (text::is_white_space(cp)) space = true;
    else switch (text::script_of(cp)) {
        case text::Script::kHangul: hangul = true; break;
        case text::Script::kHan: han = true; break;
        case text::Script::kLatin: latin = true; break;
        case text::Script::kDigit: digit = true; break;
        default: other = true;
      }
  }
  if (hangul) return TokenClass::kHangul;
  if (han) return TokenClass::kHan;
  if (latin && !digit && !other) return TokenClass::kLatin;
  if (digit && !latin && !other && !space) return TokenClass::kDigit;
  if (space && !latin && !digit && !other) return TokenClass::kSpace;
  return TokenClass::kOther;
}

// A token as people read it: its text when valid UTF-8, else its byte-level form.
std::string printable(const Tokenizer& tok, int32_t id) {
  std::string_view b = tok.token_bytes(id);
  return text::is_valid_utf8(b) ? std::string(b) : tok.id_to_token(id);
}

}  // namespace

TokenizerStats compute_stats(const Tokenizer& tok, const std::vector<std::string>& files, const StatsOptions& opt) {
  TokenizerStats st;
  std::map<std::string, LanguageFit> fits;
  std::vector<uint8_t> used(tok.vocab_size(), 0);
  std::vector<int32_t> ids;
  uint64_t read = 0;
  EncodeOptions enc;
  for (const auto& path : files) {
    bool jsonl = is_jsonl_path(path, opt.format);
    LineReader r(path);
    std::string_view line;
    while (r.next(line)) {
      if (opt.max_input_bytes && read >= opt.max_input_bytes) break;
      read += line.size() + 1;
      std::string_view doc = line;
      std::string lang, owned;
      if (jsonl) {
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        json j;
        try {
          j = json::parse(line);
        } catch (const json::parse_error& e) {
          fail("{}:{}: malformed JSON at column {}: expected one JSON object per line", path, r.line_number(), e.byte);
        } catch (const json::exception& e) {
          fail("{}:{}: malformed JSON: {}", path, r.line_number(), e.what());
        }
        if (!j.is_object() || !j.contains(opt.text_field) || !j[opt.text_field].is_string())
          fail("{}:{}: expected a JSON object with a string field \"{}\"", path, r.line_number(), opt.text_field);
        owned = j[opt.text_field].get<std::string>();
        doc = owned;
        if (j.contains(opt.lang_field) && j[opt.lang_field].is_string()) lang = j[opt.lang_field].get<std::string>();
      }
      size_t bad = text::find_invalid_utf8(doc);
      if (bad != text::kValid) fail("{}:{}: invalid UTF-8 at byte {} of the line", path, r.line_number(), bad + 1);
      if (doc.empty()) continue;
      if (lang.empty()) lang = text::guess_language_by_script(doc);
      std::string norm = text::normalize(doc, text::NormForm::kNFC);
      ids.clear();
      tok.encode_append(norm, ids, enc);
      for (int32_t id : ids) used[id] = 1;
      for (LanguageFit* f : {&fits[lang], &fits["~all"]}) {
        f->documents += 1;
        f->bytes += norm.size();
        f->chars += text::count_code_points(norm);
        f->tokens += ids.size();
      }
    }
  }
  for (auto& [name, f] : fits) {
    f.lang = name == "~all" ? "all" : name;
    st.languages.push_back(f);
  }
  std::vector<int32_t> order;
  for (int32_t id = 0; id < static_cast<int32_t>(tok.vocab_size()); ++id) {
    if (tok.is_special(id) || tok.id_to_token(id).empty()) continue;
    order.push_back(id);
    switch (classify_token(tok.token_bytes(id))) {
      case TokenClass::kHangul: ++st.vocab.hangul; break;
      case TokenClass::kHan: ++st.vocab.han; break;
      case TokenClass::kLatin: ++st.vocab.latin; break;
      case TokenClass::kDigit: ++st.vocab.digit; break;
      case TokenClass::kSpace: ++st.vocab.space; break;
      case TokenClass::kOther: ++st.vocab.other; break;
      case TokenClass::kPartial: ++st.vocab.partial; break;
    }
    if (!used[id]) {
      ++st.unused_count;
      if (st.unused_examples.size() < opt.top) st.unused_examples.push_back(id);
    }
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return tok.token_bytes(a).size() > tok.token_bytes(b).size(); });
  order.resize(std::min(order.size(), opt.top));
  st.longest = order;
  return st;
}

std::string stats_to_json(const Tokenizer& tok, const TokenizerStats& s) {
  json j;
  j["vocab_size"] = tok.vocab_size();
  for (const auto& f : s.languages)
    j["languages"][f.lang] = {{"documents", f.documents},         {"bytes", f.bytes},
                              {"chars", f.chars},                 {"tokens", f.tokens},
                              {"bytes_per_token", f.bytes_per_token()}, {"chars_per_token", f.chars_per_token()}};
  const auto& v = s.vocab;
  double n = v.total() ? double(v.total()) : 1.0;
  j["vocab_composition"] = {{"hangul", v.hangul}, {"han", v.han},     {"latin", v.latin},
                            {"digit", v.digit},   {"space", v.space}, {"other", v.other},
                            {"partial_utf8", v.partial}};
  j["vocab_share"] = {{"hangul", v.hangul / n}, {"han", v.han / n},     {"latin", v.latin / n},
                      {"digit", v.digit / n},   {"space", v.space / n}, {"other", v.other / n},
                      {"partial_utf8", v.partial / n}};
  j["longest_tokens"] = json::array();
  for (int32_t id : s.longest)
    j["longest_tokens"].push_back({{"id", id}, {"bytes", tok.token_bytes(id).size()}, {"text", printable(tok, id)}});
  j["unused_tokens"] = {{"count", s.unused_count}, {"examples", json::array()}};
  for (int32_t id : s.unused_examples) j["unused_tokens"]["examples"].push_back({{"id", id}, {"text", printable(tok, id)}});
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string stats_to_text(const Tokenizer& tok, const TokenizerStats& s) {
  std::string o = fmt::format("vocabulary: {} ids\n\nheld-out text        docs        bytes     tokens  bytes/tok  chars/tok\n",
                              tok.vocab_size());
  for (const auto& f : s.languages)
    o += fmt::format("  {:<12} {:>10} {:>12} {:>10} {:>10.3f} {:>10.3f}\n", f.lang, f.documents, f.bytes, f.tokens,
                     f.bytes_per_token(), f.chars_per_token());
  const auto& v = s.vocab;
  double n = v.total() ? double(v.total()) / 100.0 : 1.0;
  o += fmt::format(
      "\nvocabulary composition ({} BPE tokens)\n  Hangul {:.1f}%  Han {:.1f}%  Latin {:.1f}%  digit {:.1f}%  "
      "space {:.1f}%  other {:.1f}%  partial UTF-8 (byte fallback) {:.1f}%\n",
      v.total(), v.hangul / n, v.han / n, v.latin / n, v.digit / n, v.space / n, v.other / n, v.partial / n);
  o += "\nlongest tokens\n";
  for (int32_t id : s.longest)
    o += fmt::format("  {:>7}  {:>3} bytes  {}\n", id, tok.token_bytes(id).size(), json(printable(tok, id)).dump(-1, ' ', false, json::error_handler_t::replace));
  o += fmt::format("\nunused on this text: {} tokens ({:.1f}%)\n", s.unused_count, s.unused_count / n);
  for (int32_t id : s.unused_examples)
    o += fmt::format("  {:>7}  {}\n", id, json(printable(tok, id)).dump(-1, ' ', false, json::error_handler_t::replace));
  return o;
}

}  // namespace kormo::tok
