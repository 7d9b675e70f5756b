#include "kormo/tok/chat_template.h"

#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/json.h"

namespace kormo::tok {
namespace {

using Json = nlohmann::ordered_json;

// transformers' _normalize_chat_messages and _alias_reasoning_fields.
Json normalize_messages(const Json& messages) {
  if (!messages.is_array()) fail("chat template: messages must be a JSON array of objects");
  Json out = Json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    if (!m.is_object()) fail("chat template: message {} is not a JSON object", i);
    Json kept = Json::object();
    for (const auto& [k, v] : m.items())
      if (!v.is_null()) kept[k] = v;
    const Json* reasoning = nullptr;
    for (const char* key : {"reasoning_content", "thinking", "reasoning"})
      if (kept.contains(key)) {
        reasoning = &kept[key];
        break;
      }
    if (reasoning) {
      Json aliased = Json::object();
      aliased["thinking"] = *reasoning;
      for (const auto& [k, v] : kept.items()) aliased[k] = v;
      aliased["reasoning_content"] = *reasoning;
      kept = std::move(aliased);
    }
    out.push_back(std::move(kept));
  }
  return out;
}

}  // namespace

struct ChatTemplate::Impl {
  JinjaTemplate tmpl;
  Json specials;
};

// The engine's errors, named as a chat template's.
template <class F>
auto as_chat_template(F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(fmt::format("chat template: {}", e.what()), e.kind());
  }
}

ChatTemplate::ChatTemplate(std::string source, nlohmann::json specials) {
  Json sp = Json::parse(specials.is_null() ? std::string("{}") : specials.dump());
  if (!sp.is_object()) fail("chat template: the special tokens must be a JSON object");
  impl_ = as_chat_template([&] {
    return std::make_shared<const Impl>(Impl{JinjaTemplate(std::move(source)), std::move(sp)});
  });
}

ChatTemplate ChatTemplate::load(const std::string& tokenizer_dir) {
  const std::string path = tokenizer_dir + "/tokenizer_config.json";
  if (!std::filesystem::exists(path)) fail("{}: no tokenizer_config.json (it holds the chat template)", path);
  const nlohmann::json cfg = parse_json_or_discarded(read_file(path));
  if (cfg.is_discarded() || !cfg.is_object()) fail("{}: not a JSON object", path);
  if (!cfg.contains("chat_template") || cfg["chat_template"].is_null())
    fail("{}: no \"chat_template\" (give a template file with --template)", path);
  const auto& t = cfg["chat_template"];
  std::string source;
  if (t.is_string()) {
    source = t.get<std::string>();
  } else if (t.is_array()) {
    for (const auto& e : t)
      if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
        source = e["template"].get<std::string>();
    if (source.empty()) fail("{}: \"chat_template\" is a list without a {{\"name\": \"default\", \"template\": …}} entry", path);
  } else {
    fail("{}: \"chat_template\" must be a string or a list of {{name, template}} objects", path);
  }
  nlohmann::json specials = nlohmann::json::object();
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    if (!cfg.contains(key)) continue;
    const auto& v = cfg[key];
    if (v.is_string()) specials[key] = v;
    else if (v.is_object() && v.contains("content") && v["content"].is_string()) specials[key] = v["content"];
    else if (!v.is_null()) fail("{}: \"{}\" must be a string or {{\"content\": …}}", path, key);
  }
  try {
    return ChatTemplate(std::move(source), std::move(specials));
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", path, e.what()), e.kind());
  }
}

std::string ChatTemplate::render(const nlohmann::json& messages, bool add_generation_prompt,
                                 const nlohmann::json& kwargs) const {
  return render_ordered(nlohmann::ordered_json::parse(messages.dump()), add_generation_prompt,
                        nlohmann::ordered_json::parse(kwargs.dump()));
}

std::string ChatTemplate::render_ordered(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                         const nlohmann::ordered_json& kwargs) const {
  if (!kwargs.is_object()) fail("chat template: the template variables must be a JSON object");
  Json vars = impl_->specials;
  for (const auto& [k, v] : kwargs.items()) vars[k] = v;
  vars["messages"] = normalize_messages(messages);
  if (!kwargs.contains("tools")) vars["tools"] = nullptr;
  if (!kwargs.contains("documents")) vars["documents"] = nullptr;
  vars["add_generation_prompt"] = add_generation_prompt;
  return as_chat_template([&] { return impl_->tmpl.render(vars); });
}

const std::string& ChatTemplate::source() const { return impl_->tmpl.source(); }

}  // namespace kormo::tok
