// Per-document stages chained in one pass: normalize -> langid -> filter
// (PII masking, Gopher repetition, Gopher quality, C4, FineWeb) -> classifiers
// -> decontam.
//
// A stage either keeps a document (possibly altering it: the change is recorded
// as an "altered" rejects record and counted) or removes it (a "removed"
// record with the rule and the document). Stages touch only the document in
// hand, so shards can run in any order on any process.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kormo/data/classifier.h"
#include "kormo/data/decontam.h"
#include "kormo/data/document.h"
#include "kormo/data/filters.h"
#include "kormo/data/normalize.h"

namespace kormo {
class ConfigSection;
}

namespace kormo::data {

class TextKinds;  // kinds.h

struct StageConfig {
  bool normalize = false;
  text::NormForm form = text::NormForm::kNFC;
  std::vector<BoilerplateRule> boilerplate = default_boilerplate_rules();

  bool langid = false;
  std::vector<std::string> keep_langs = {"ko", "en"};  // empty: keep every language
  bool set_lang = true;                                 // overwrite doc.lang with the identified one
  std::shared_ptr<const FastTextModel> langid_model;    // null: the built-in identifier (langid.h)

  bool filter = false;
  bool pii = true, gopher_repetition = true, gopher_quality = true, c4 = true, fineweb = true;
  std::map<std::string, Thresholds> thresholds;  // by language; others use "default"
  // Short text (comments, Q&A, chat turns, titles): thresholds by kind, which
  // replace the language's for documents of that kind. Null: no kinds.
  std::shared_ptr<const TextKinds> kinds;

  std::vector<ClassifierStep> classifiers;  // after the rules: a model costs more than they do

  std::shared_ptr<DecontamIndex> decontam;
  bool decontam_flag_only = false;

  const Thresholds& thresholds_for(const std::string& lang) const;
  // Everything that changes the output, for job fingerprints.
  nlohmann::json describe() const;
};

// Fills the threshold table with the built-in defaults for ko, en and default.
void default_threshold_table(StageConfig& c);
// Reads [filter] keys and [filter.<lang>] threshold tables.
void read_filter_config(ConfigSection& sec, StageConfig& c);

// Output of processing a batch of documents.
struct StageOutput {
  std::string kept;     // JSON lines
  std::string rejects;  // JSON lines
  Counts counts;
};

// Runs the enabled stages on one document; returns true if kept.
bool process_document(const StageConfig& c, Document& doc, const std::string& where, StageOutput& out);

}  // namespace kormo::data
