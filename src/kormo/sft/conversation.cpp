#include "kormo/sft/conversation.h"

#include <fmt/format.h>

#include "kormo/text/unicode.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

namespace kormo::sft {

namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kReasoningKeys[] = {"reasoning_content", "thinking", "reasoning"};

std::string nfc(const std::string& s) {
  return text::is_nfc_quick(s) ? s : text::normalize(s, text::NormForm::kNFC);
}

// Every string inside j in NFC (objects and arrays walked); throws on invalid UTF-8.
void normalize_strings(Json& j) {
  if (j.is_string()) {
    j = nfc(j.get<std::string>());
  } else if (j.is_structured()) {
    for (auto& v : j) normalize_strings(v);
  }
}

}  // namespace

void Rejects::add(const std::string& where, const std::string& reason, const std::string& detail) {
  counts[reason] += 1;
  entries.push_back({where, reason, detail});
}

std::string Rejects::summary() const {
  if (counts.empty()) return "none";
  std::string out;
  for (const auto& [reason, n] : counts) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", reason, n);
  return out;
}

std::string Rejects::jsonl() const {
  std::string out;
  for (const auto& e : entries)
    out += nlohmann::ordered_json{{"where", e.where}, {"reason", e.reason}, {"detail", e.detail}}.dump() + "\n";
  return out;
}

std::string reasoning_of(const Json& message) {
  for (const char* key : kReasoningKeys) {
    auto it = message.find(key);
    if (it != message.end() && !it->is_null()) return it->is_string() ? it->get<std::string>() : it->dump();
  }
  return "";
}

std::optional<Conversation> parse_conversation(std::string_view text, const std::string& path, uint64_t line,
                                               Rejects& rejects) {
  const std::string where = fmt::format("{}:{}", path, line);
  const auto reject = [&](const char* reason, const std::string& detail) -> std::optional<Conversation> {
    rejects.add(where, reason, detail);
    return std::nullopt;
  };
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return reject("malformed", "not a JSON object");
  const char* key = j.contains("conversation") ? "conversation" : "messages";
  if (!j.contains(key) || !j[key].is_array() || j[key].empty())
    return reject("malformed", "expected a non-empty \"conversation\" or \"messages\" array");
  Conversation c;
  c.where = where;
  for (const auto& [field, out] : {std::pair{"lang", &c.lang}, std::pair{"source", &c.label}}) {
    if (!j.contains(field) || j[field].is_null()) continue;
    if (!j[field].is_string()) return reject("bad_field", fmt::format("\"{}\" must be a string", field));
    *out = j[field].get<std::string>();
  }
  if (j.contains("difficulty") && !j["difficulty"].is_null()) {
    const Json& d = j["difficulty"];
    if (!d.is_number() || !(d.get<double>() >= 0 && d.get<double>() <= 1))
      return reject("bad_field", fmt::format("\"difficulty\" must be a number in [0, 1], got {}", d.dump()));
    c.difficulty = d.get<double>();
  }
  bool has_assistant = false;
  const Json& msgs = j[key];
  for (size_t i = 0; i < msgs.size(); ++i) {
    const Json& m = msgs[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string())
      return reject("malformed", fmt::format("turn {}: expected {{\"role\": string, \"content\": string}}", i + 1));
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      return reject("unknown_role", fmt::format("turn {}: role \"{}\" (expected system, user, assistant or tool)",
                                                i + 1, role));
    const bool reasoning = !reasoning_of(m).empty();
    if (reasoning && role != "assistant")
      return reject("reasoning_not_assistant", fmt::format("turn {}: a {} turn carries reasoning", i + 1, role));
    has_assistant = has_assistant || role == "assistant";
    c.has_reasoning = c.has_reasoning || reasoning;
  }
  if (!has_assistant) return reject("no_assistant_turn", "nothing to train on");
  c.messages = msgs;
  try {
    normalize_strings(c.messages);
  } catch (const Error& e) {
    return reject("malformed", e.what());
  }
  return c;
}

std::vector<Conversation> read_conversations(const std::string& path, const std::string& source, Rejects& rejects) {
  std::vector<Conversation> out;
  LineReader r(path);
  std::string_view line;
  while (r.next(line)) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (auto c = parse_conversation(line, path, r.line_number(), rejects)) {
      c->source = source;
      out.push_back(std::move(*c));
    }
  }
  return out;
}

}  // namespace kormo::sft
