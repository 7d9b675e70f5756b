#include "kormo/synth/conversation.h"

#include <fmt/format.h>

#include "kormo/util/hash.h"

namespace kormo::synth {

Conversation question_answer(std::string question, std::string answer, std::string reasoning) {
  Conversation c;
  c.messages.push_back({"user", std::move(question), {}});
  c.messages.push_back({"assistant", std::move(answer), std::move(reasoning)});
  return c;
}

std::string meta_string(const nlohmann::json& meta, const char* key) {
  if (!meta.is_object()) return {};
  auto it = meta.find(key);
  return it != meta.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string conversation_id(const Conversation& c) {
  // Lengths before texts keep ("ab","c") and ("a","bc") apart.
  std::string key;
  for (const auto& m : c.messages)
    for (const std::string* s : {&m.role, &m.content, &m.reasoning}) key += fmt::format("{}:{}|", s->size(), *s);
  return xxh3_128_hex(key);
}

std::string to_json_line(const Conversation& c) {
  nlohmann::ordered_json turns = nlohmann::ordered_json::array();
  for (const auto& m : c.messages) {
    nlohmann::ordered_json t = {{"role", m.role}, {"content", m.content}};
    if (!m.reasoning.empty()) t["reasoning_content"] = m.reasoning;
    turns.push_back(std::move(t));
  }
  nlohmann::ordered_json j;
  j["id"] = c.source + "/" + conversation_id(c);
  j["conversation"] = std::move(turns);
  j["lang"] = c.lang;
  j["source"] = c.source;
  j["synthetic"] = true;
  j["meta"] = c.meta;
  return j.dump();
}

}  // namespace kormo::synth
