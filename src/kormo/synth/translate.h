// translate: Korean↔English instructions from aligned pairs, no teacher model.
//
// Pairs come from documents in the Debian source's layout (docs/data.md): a page
// or catalog is two documents (lang "en" and "ko") sharing meta.pair;
//  - LibreOffice help pages carry meta.paragraph_ids, one id per paragraph of the
//    text (paragraphs separated by a blank line): paragraphs pair by id;
//  - gettext catalogs carry meta.catalog_side ("msgid"/"msgstr"), meta.pairs
//    (entries) and meta.entry_lines (lines of each entry; without it, one line
//    each): entries pair by position, and a catalog whose text does not hold
//    exactly those entries on both sides cannot be aligned and is skipped.
// clean_pair() then strips menu accelerators and rejects what is not a useful
// translation (docs/synth.md lists the rules). Each kept pair gives one
// conversation per direction; the instruction phrasing (Korean or English, one of
// several) is chosen by the seed and the pair's text, so a pair that occurs in
// several catalogs gives the same conversation (which dedup then drops).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kormo/data/document.h"
#include "kormo/synth/conversation.h"

namespace kormo::synth {

struct TextPair {
  std::string en, ko;
  std::string seed_id;  // the Korean document's id
  std::string path;     // meta.path of the Korean document
  std::string item;     // paragraph id, or "entry N" of a catalog
};

// Collects documents (any order) and aligns the pairs of those in the layout above.
class PairCollector {
 public:
  // Keeps documents with meta.pair and lang en/ko; returns whether it kept `doc`.
  bool add(const data::Document& doc);
  // Aligned raw pairs, in pair-key order; counts skipped groups by rule.
  std::vector<TextPair> pairs(data::Counts& counts) const;

 private:
  std::vector<data::Document> docs_;
  std::map<std::string, std::vector<size_t>> by_pair_;
};

// Removes menu accelerators: Korean "(_F)", "(~F)", "(&F)" after a label, and a
// single "_" or "~" before a letter ("_File", "Save ~As").
std::string strip_accelerators(std::string_view s);

// Cleans the pair in place; returns "" when it is kept, else the rule that
// rejects it ("translate.identical", "translate.placeholder_only", …).
std::string clean_pair(TextPair& p);

// Both directions of each pair, template chosen by the seed and the pair's text.
std::vector<Conversation> translate_conversations(const std::vector<TextPair>& pairs, uint64_t seed);

}  // namespace kormo::synth
