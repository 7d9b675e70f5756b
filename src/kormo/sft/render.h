// A conversation rendered through the chat template and tokenized, with the mask of
// the tokens SFT trains on.
//
// Promises:
//  - ids are the tokenizer's encoding of the template's rendering of the whole
//    conversation (add_generation_prompt false, special tokens recognised): what
//    transformers' apply_chat_template(tokenize=True) gives for the same messages and
//    variables.
//  - trained[j] is 1 exactly for the tokens of assistant turns: for assistant turn i,
//    the text from the end of the generation prompt after turns 0..i-1 (rendered
//    without enable_thinking: the bare turn header) to the end of the rendering of
//    turns 0..i — the reasoning block when rendered, the answer and the template's
//    end-of-turn token. A token overlapping that text counts as inside.
//  - Thinking: kOn renders reasoning (trained); kOff drops every reasoning field and
//    passes enable_thinking = false; kHybrid is kOn for a conversation with reasoning
//    and kOff for one without.
//  - A template whose generation prompt is not a prefix of the turn's rendering, or
//    whose turn rendering is not a prefix of the whole conversation's, throws Error
//    naming the conversation's file:line and the turn; so does a rendering the
//    tokenizer does not reproduce byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kormo/sft/conversation.h"
#include "kormo/tok/chat_template.h"
#include "kormo/tok/tokenizer.h"

namespace kormo::sft {

enum class Thinking { kOn, kOff, kHybrid };

// "on" | "off" | "hybrid"; usage error naming `where` otherwise.
Thinking parse_thinking(const std::string& s, const std::string& where);

struct Rendered {
  std::string text;
  std::vector<int32_t> ids;
  std::vector<uint8_t> trained;  // per token
  bool thinking = false;         // rendered with reasoning
  int64_t trained_bytes = 0;     // bytes of the assistant spans
};

Rendered render_conversation(const Conversation& c, const tok::ChatTemplate& tmpl, const tok::Tokenizer& tok,
                             Thinking mode);

}  // namespace kormo::sft
