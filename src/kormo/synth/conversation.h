// Conversations: the records the teacher-free programs write and `kormo sft` reads.
//
// One JSON object per line, keys in this order:
//   {"id", "conversation": [{"role", "content", "reasoning_content"?}], "lang", "source",
//    "synthetic": true, "meta": {"program", "template", …provenance}}
// KORMo's SFT layout; reasoning_content appears only on assistant turns that have one.
// The id is a hash of the turns, so equal conversations have equal ids (dedup by id).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace kormo::synth {

struct Message {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
  std::string reasoning;  // written as reasoning_content when not empty
};

struct Conversation {
  std::vector<Message> messages;
  std::string lang;    // language of the answer
  std::string source;  // the program's name
  nlohmann::json meta = nlohmann::json::object();
};

// A user question and the assistant's answer (with its reasoning, if any).
Conversation question_answer(std::string question, std::string answer, std::string reasoning = {});

// meta[key] when it is a string, else "" (provenance copied from seed documents).
std::string meta_string(const nlohmann::json& meta, const char* key);

// Hash of the roles and texts (not lang/source/meta): the dedup key and the id.
std::string conversation_id(const Conversation& c);

// One line without its '\n'; keys in the documented order.
std::string to_json_line(const Conversation& c);

}  // namespace kormo::synth
