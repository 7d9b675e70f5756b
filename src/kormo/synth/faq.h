// faq: question → answer conversations from the numbered sections of DocBook
// manuals such as the Debian FAQ, as documents (text from data::html_to_text:
// paragraphs separated by a blank line), no teacher model.
//
// A section starts at a one-line paragraph "1.2. Title" (two or more numbers,
// the space after them may be a no-break space, as DocBook writes it) and runs
// to the next section or chapter heading ("Chapter 3. …", "3장. …",
// "Appendix A. …", "부록 A. …"). A title ending in "?" is a question and is
// asked as is (maybe with a short lead-in); any other title is asked about
// ("Explain the section …"). The answer is the section's own paragraphs (before
// its first subsection). Templates are chosen by the seed and the question.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kormo/data/document.h"
#include "kormo/synth/conversation.h"

namespace kormo::synth {

struct FaqSection {
  std::string number;  // "1.2"
  std::string title;   // without its number
  std::string answer;  // paragraphs joined by a blank line
  bool question = false;
};

// Sections with a non-empty answer, in document order.
std::vector<FaqSection> faq_sections(std::string_view text);

// Conversations from one document (lang "ko" or "en": the answer's language);
// counts sections it skips by rule ("faq.wrong_language").
std::vector<Conversation> faq_conversations(const data::Document& doc, uint64_t seed, data::Counts& counts);

}  // namespace kormo::synth
