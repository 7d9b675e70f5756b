#include "kormo/sft/render.h"

#include <string_view>

#include "kormo/util/error.h"

namespace kormo::sft {

namespace {

using Json = nlohmann::ordered_json;

Json first_turns(const Json& messages, size_t n) {
  Json out = Json::array();
  for (size_t i = 0; i < n; ++i) out.push_back(messages[i]);
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

Thinking parse_thinking(const std::string& s, const std::string& where) {
  if (s == "on") return Thinking::kOn;
  if (s == "off") return Thinking::kOff;
  if (s == "hybrid") return Thinking::kHybrid;
  fail_usage("{}: thinking must be \"on\", \"off\" or \"hybrid\", got \"{}\"", where, s);
}

Rendered render_conversation(const Conversation& c, const tok::ChatTemplate& tmpl, const tok::Tokenizer& tok,
                             Thinking mode) {
  Rendered r;
  r.thinking = mode == Thinking::kOn || (mode == Thinking::kHybrid && c.has_reasoning);
  Json messages = c.messages;
  Json kwargs = Json::object();
  if (!r.thinking) {
    for (auto& m : messages)
      for (const char* key : {"reasoning_content", "thinking", "reasoning"}) m.erase(key);
    kwargs["enable_thinking"] = false;
  }
  // The generation prompt's thinking switch forces or forbids the block at inference;
  // training teaches the model to write the block itself (or not), so the trained span
  // starts right after the bare turn header.
  const Json header_kwargs = Json::object();
  r.text = tmpl.render_ordered(messages, false, kwargs);
  std::vector<std::pair<size_t, size_t>> spans;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i]["role"] != "assistant") continue;
    const std::string head = tmpl.render_ordered(first_turns(messages, i), true, header_kwargs);
    const std::string turn = tmpl.render_ordered(first_turns(messages, i + 1), false, kwargs);
    if (!starts_with(turn, head))
      fail("{}: turn {}: the chat template's generation prompt is not a prefix of the assistant turn's rendering, "
           "so the assistant's tokens cannot be located",
           c.where, i + 1);
    if (!starts_with(r.text, turn))
      fail("{}: turn {}: the chat template renders the conversation up to this turn differently from the whole "
           "conversation",
           c.where, i + 1);
    spans.emplace_back(head.size(), turn.size());
    r.trained_bytes += static_cast<int64_t>(turn.size() - head.size());
  }
  r.ids = tok.encode(r.text, {.allow_special = true});
  r.trained.assign(r.ids.size(), 0);
  size_t pos = 0, s = 0;
  for (size_t j = 0; j < r.ids.size(); ++j) {
    const std::string_view bytes = tok.token_bytes(r.ids[j]);
    const size_t end = pos + bytes.size();
    if (end > r.text.size() || r.text.compare(pos, bytes.size(), bytes) != 0)
      fail("{}: the tokenizer does not reproduce the rendered text (byte {}); cannot locate the assistant tokens",
           c.where, pos);
    while (s < spans.size() && spans[s].second <= pos) ++s;
    if (s < spans.size() && spans[s].first < end && pos < spans[s].second) r.trained[j] = 1;
    pos = end;
  }
  if (pos != r.text.size())
    fail("{}: the tokenizer does not reproduce the rendered text (it ends at byte {} of {})", c.where, pos,
         r.text.size());
  return r;
}

}  // namespace kormo::sft
