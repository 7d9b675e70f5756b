// Conversations for supervised fine-tuning, read from JSON Lines.
//
// One conversation per line, in KORMo's format {"conversation": [{"role", "content",
// "reasoning_content"?}, …]} or OpenAI's {"messages": [...]}; optional per-item
// "lang" (a language code), "source" (a label) and "difficulty" (a number in [0, 1]).
//
// Promises:
//  - Bad lines never stop the read: each is counted under one reason and recorded as
//    "file:line" with what was wrong. Reasons: malformed (not a JSON object, not UTF-8,
//    no message array, a message that is not {role: string, content: string}),
//    unknown_role (not system/user/assistant/tool), reasoning_not_assistant (a non-empty
//    reasoning field on a turn other than the assistant's), no_assistant_turn,
//    bad_field (lang/source not a string, difficulty not a number in [0, 1]).
//  - Every string of a kept message is NFC, as the tokenizer would make it, so a
//    rendering's bytes are the bytes its tokens decode to.
//  - Messages keep their keys in file order; "reasoning" and "thinking" count as
//    reasoning as they do for the chat template.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kormo::sft {

struct Conversation {
  nlohmann::ordered_json messages;  // array of message objects
  std::string where;                // "file:line"
  std::string source;               // the config's source name
  std::string lang;                 // the item's "lang", "" when absent
  std::string label;                // the item's "source", "" when absent
  std::optional<double> difficulty;
  bool has_reasoning = false;       // some assistant turn carries non-empty reasoning
};

// Rejected input, counted per reason, each occurrence kept with its place.
struct Rejects {
  struct Entry {
    std::string where, reason, detail;
  };
  std::map<std::string, int64_t> counts;
  std::vector<Entry> entries;

  void add(const std::string& where, const std::string& reason, const std::string& detail);
  int64_t total() const { return static_cast<int64_t>(entries.size()); }
  // "reason N, reason M" in name order, "none" when empty.
  std::string summary() const;
  // One JSON object per line: {"where", "reason", "detail"}.
  std::string jsonl() const;
};

// The reasoning string of a message ("" when none): reasoning_content, thinking or
// reasoning, the first present, as the chat template aliases them.
std::string reasoning_of(const nlohmann::ordered_json& message);

// Parses one line (1-based `line` in `path`); nullopt after recording the rejection.
std::optional<Conversation> parse_conversation(std::string_view text, const std::string& path, uint64_t line,
                                               Rejects& rejects);

// Every conversation of a JSONL file (.zst too); blank lines are skipped. Throws only
// when the file cannot be read.
std::vector<Conversation> read_conversations(const std::string& path, const std::string& source, Rejects& rejects);

}  // namespace kormo::sft
