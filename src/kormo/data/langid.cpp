#include "kormo/data/langid.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <string>
#include <unordered_set>

#include "kormo/data/classifier.h"
#include "kormo/data/words.h"
#include "kormo/text/unicode.h"
#include "kormo/text/utf8.h"
#include "kormo/util/error.h"

namespace kormo::data {
namespace {

// The most frequent English function words.
const std::unordered_set<std::string_view>& english_words() {
  static const std::unordered_set<std::string_view> s = {
      "the", "of", "and", "to", "in", "is", "that", "it", "was", "for", "on", "are", "with", "as", "be",
      "this", "by", "at", "from", "or", "have", "an", "they", "which", "you", "were", "their", "has", "but",
      "not", "can", "will", "if", "we", "he", "she", "his", "her", "there", "been", "would", "all", "what",
      "when", "who", "so", "do", "no", "my", "me", "your", "one", "about", "into", "than", "them", "these",
      "its", "our", "had", "should", "could", "i", "a", "more", "also", "how", "use", "may", "any", "up", "out"};
  return s;
}

// Function words of other Latin-script languages that are not English words
// (so English text never scores them): fr de es it pt nl id sv da ro cs ca pl tr
// vi fi et eu tl ms hu sk sl hr lt lv ga gl ast oc eo af nb nn.
const std::unordered_set<std::string_view>& other_latin_words() {
  static const std::unordered_set<std::string_view> s = {
      // fr
      "le", "la", "les", "des", "du", "est", "et", "une", "pour", "dans", "qui", "que", "pas", "sur", "avec",
      "sont", "ce", "cette", "vous", "nous", "il", "ou", "mais", "aux", "être", "été", "par", "plus",
      // de
      "der", "die", "das", "und", "ist", "nicht", "mit", "sich", "auf", "für", "ein", "eine", "dem", "den",
      "von", "zu", "werden", "wird", "oder", "auch", "kann", "sie", "bei", "einer", "wenn", "nur", "können",
      // es
      "de", "un", "el", "los", "las", "y", "en", "del", "por", "para", "con", "una", "es", "se", "lo", "como", "más",
      "pero", "sus", "puede", "si", "este", "esta",
      // it
      "il", "di", "che", "della", "delle", "degli", "nella", "oppure", "sul", "per", "non", "sono", "gli", "una", "nel", "alla", "anche", "questo", "può",
      // pt
      "o", "do", "da", "dos", "ou", "através", "os", "uma", "não", "com", "em", "ao", "pode", "são", "mais", "seu", "sua", "você",
      // nl
      "het", "een", "van", "niet", "zijn", "voor", "met", "ook", "wordt", "kunt", "bij", "uit", "maar",
      // id
      "di", "ke", "juga", "oleh", "yang", "dan", "dengan", "untuk", "ini", "itu", "dari", "tidak", "ada", "akan", "dapat", "pada", "atau",
      // sv da
      "och", "ett", "till", "kommer", "också", "vara", "efter", "ska", "eller", "ditt", "din", "dit", "dette",
      "denne", "att", "det", "som", "är", "för", "på", "inte", "med", "av", "til", "og", "af", "ikke", "er",
      "kan", "der", "vil", "skal",
      // ro
      "dar", "în", "prin", "unui", "și", "să", "pentru", "este", "nu", "cu", "sau", "mai", "pe", "care", "unei", "sunt",
      // cs pl
      "je", "se", "na", "že", "jsou", "pro", "nebo", "jako", "ale", "być", "jest", "się", "nie", "oraz",
      // ca
      "dels", "podeu", "els", "amb", "és", "aquest", "pot",
      // tr
      "ve", "bir", "bu", "için", "ile", "olarak", "daha", "değil",
      // vi
      "và", "của", "là", "có", "không", "được", "cho", "các", "những", "này", "một", "với", "trong",
      // fi et
      "ja", "ei", "ole", "tai", "kun", "jos", "että", "tämä", "voi", "mukaan", "tiedosto", "tiedostoa", "või",
      "kui", "ning", "ka", "oli", "mitte", "ainult", "jo", "myös",
      // eu
      "eta", "ez", "edo", "dira", "baino", "hau", "dago", "ezin", "honen",
      // tl
      "ang", "ng", "mga", "sa", "ay", "ito", "hindi", "kung", "ang", "naman", "lang", "siya", "nang", "ka",
      // ms (with id above)
      "tiada", "boleh", "anda", "adalah", "kepada",
      // hu
      "az", "és", "nem", "egy", "hogy", "vagy", "meg", "van", "nincs", "fájl", "ha", "már",
      // sk sl hr sr lt lv
      "sa", "alebo", "ako", "nie", "pri", "ni", "za", "ili", "nije", "ali", "su", "biti", "lahko", "datoteke",
      "ir", "yra", "kad", "arba", "nėra", "neg", "vai", "nav", "un", "ar",
      // ga gl ast oc eo af
      "agus", "ar", "le", "ní", "sé", "nach", "non", "unha", "nun", "nun", "pa", "dins", "kaj",
      "estas", "ne", "al", "aŭ", "ĉu", "nie", "te", "om",
      // nb nn
      "ikkje", "eit", "ein", "frå", "ved", "som", "fil"};
  return s;
}

// Below the share of English function words, the shortfall past the first
// few Latin words is evidence against English (identify_language()).
constexpr double kEnglishFunctionShare = 0.15;
constexpr double kFreeLatinWords = 6;

bool has_non_ascii(std::string_view w) {
  for (unsigned char c : w)
    if (c >= 0x80) return true;
  return false;
}

}  // namespace

LangScore identify_language(std::string_view text) {
  // Word classes by script of their letters.
  double ko = 0, latin = 0, han_only = 0, kana = 0, other = 0;
  double en_hits = 0, other_hits = 0, diacritic_words = 0;
  for (const Word& w : split_words(text)) {
    if (!w.has_letter) continue;
    size_t h = 0, hz = 0, l = 0, k = 0, o = 0, pos = 0;
    char32_t cp;
    while (pos < w.text.size()) {
      if (!text::decode_next(w.text, pos, cp)) {
        ++pos;
        continue;
      }
      switch (text::script_of(cp)) {
        case text::Script::kHangul: ++h; break;
        case text::Script::kHan: ++hz; break;
        case text::Script::kLatin: ++l; break;
        case text::Script::kKana: ++k; break;
        case text::Script::kDigit: break;
        case text::Script::kOther:
          if (text::is_letter(cp)) ++o;
          break;
      }
    }
    // Han and kana are written without spaces: a run counts as about one word
    // per two characters so Chinese and Japanese weigh like spaced text.
    if (h > 0) {
      ko += 1;
    } else if (k > 0) {
      kana += std::max(1.0, (k + hz) / 2.0);
    } else if (hz > 0) {
      han_only += std::max(1.0, hz / 2.0);
    } else if (l > 0 && l >= o) {
      // A lone ASCII letter other than "a"/"I" is a variable, option or
      // format specifier ("%s", "-l", "f=%u"), not evidence of a language.
      if (w.text.size() == 1 && (w.text[0] | 0x20) != 'a' && (w.text[0] | 0x20) != 'i') continue;
      latin += 1;
      std::string lower = ascii_lower(w.text);
      if (english_words().count(lower)) en_hits += 1;
      else if (other_latin_words().count(lower)) other_hits += 1;
      if (has_non_ascii(w.text)) diacritic_words += 1;
    } else if (o > 0) {
      // Thai, Khmer, Lao, Tibetan, ... are written without spaces: weigh a
      // long run like the several words it is (spaced scripts: about one).
      other += std::max(1.0, o / 4.0);
    }
  }
  LangScore r;
  // Hanja words are Korean when Hangul is present and kana is not (Korean
  // mixed script); otherwise they are Chinese or Japanese.
  if (ko > 0 && ko >= kana) ko += han_only;
  else other += han_only;
  other += kana;
  // English-ness of the Latin words: evidence against English is other
  // languages' function words and diacritics; no evidence keeps English
  // (titles, lists and short strings have no function words at all).
  double english = 1.0;
  if (latin > 0) {
    double against = other_hits + 0.5 * diacritic_words;
    // English of more than a few words has function words (about one word in
    // four in prose, one in ten in terse messages); a longer Latin text with
    // fewer is a language whose function words are not listed (Basque,
    // Luganda, Finnish, ...), so the shortfall counts against English.
    double missing = std::max(0.0, kEnglishFunctionShare * (latin - kFreeLatinWords) - en_hits);
    english = (en_hits + 0.5) / (en_hits + against + missing + 0.5);
  }
  double en = latin * english, latin_other = latin - en;
  bool korean_majority = ko > latin + other;
  double latin_weight = korean_majority ? 0.5 : 1.0;
  double total = ko + latin_weight * latin + other;
  if (total <= 0) {
    r.lang = "other";
    r.score = 0;
    return r;
  }
  r.ko = ko / total;
  r.en = latin_weight * en / total;
  r.other = (other + latin_weight * latin_other) / total;
  if (r.ko >= r.en && r.ko >= r.other) r.lang = "ko", r.score = r.ko;
  else if (r.en > r.other) r.lang = "en", r.score = r.en;
  else r.lang = "other", r.score = r.other;
  return r;
}

LangScore identify_language(const FastTextModel& model, std::string_view text) {
  LangScore r;
  std::vector<std::pair<std::string, double>> preds = model.predict(text);
  if (preds.empty()) {  // no word the model knows, not even the end-of-line one
    r.lang = "other";
    return r;
  }
  r.lang = preds.front().first;
  r.score = preds.front().second;
  for (const auto& [label, p] : preds) {
    if (label == "ko") r.ko = p;
    else if (label == "en") r.en = p;
  }
  r.other = std::max(0.0, 1.0 - r.ko - r.en);
  return r;
}

std::shared_ptr<const FastTextModel> load_language_model(const std::string& path, const std::vector<std::string>& keep) {
  auto model = std::make_shared<const FastTextModel>(path);
  std::vector<std::string> labels = model->labels();
  for (const auto& l : keep)
    if (std::find(labels.begin(), labels.end(), l) == labels.end())
      fail("{}: the language-ID model has no label \"{}\" to keep (its labels: {})", path, l, fmt::join(labels, ", "));
  return model;
}

}  // namespace kormo::data
