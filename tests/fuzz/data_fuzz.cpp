// Fuzzes the data stage's parsers and scanners on arbitrary bytes: none may
// crash, hang or read out of bounds; errors must be kormo::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kormo/data/debian.h"
#include "kormo/data/document.h"
#include "kormo/data/filters.h"
#include "kormo/data/html.h"
#include "kormo/data/langid.h"
#include "kormo/data/normalize.h"
#include "kormo/data/pii.h"
#include "kormo/data/words.h"
#include "kormo/text/utf8.h"
#include "kormo/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kormo::data;
  std::string s(reinterpret_cast<const char*>(data), size);
  Document doc;
  std::string rule, why;
  parse_document(s, doc, rule, why);
  html_to_text(s);
  html_paragraphs_by_id(s, {"par_id", "hd_id"});
  PiiCounts pc;
  mask_pii(s, pc);
  split_words(s);
  identify_language(s);
  try {
    parse_mo(s, "fuzz.mo");
  } catch (const kormo::Error&) {
  }
  if (kormo::text::is_valid_utf8(s)) {
    std::string t = normalize_text(s, kormo::text::NormForm::kNFC);
    strip_boilerplate(t, default_boilerplate_rules());
    Thresholds th = default_thresholds("ko");
    gopher_quality(t, th);
    gopher_repetition(t, th);
    size_t removed = 0;
    c4_quality(t, th, removed);
    fineweb_quality(t, th);
  }
  return 0;
}
