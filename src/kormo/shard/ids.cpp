#include "kormo/shard/ids.h"

#include <nlohmann/json.hpp>

#include <limits>

#include "kormo/shard/writer.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"

namespace kormo::shard {

namespace {
using json = nlohmann::json;

// An integer field checked before conversion: nlohmann's get<> would truncate 1.5 to 1
// and wrap 2^32 + 5 to 5, turning a bad line into a silently wrong shard.
uint64_t below(const json& v, uint64_t limit, const std::string& where, const char* what) {
  // Parsed non-negative integers are number_unsigned; negatives are number_integer and
  // integers beyond 64 bits become number_float.
  if (!v.is_number_unsigned() || v.get<uint64_t>() >= limit)
    fail("{}: expected {} in [0, {}), got {}", where, what, limit, v.dump());
  return v.get<uint64_t>();
}
}  // namespace

void shard_from_ids(const IdsShardOptions& o) {
  check_output_not_input(o.out_path, o.inputs);
  ShardWriter w(o.out_path, o.vocab_size);
  for (const auto& path : o.inputs) {
    LineReader r(path);
    std::string_view line;
    while (r.next(line)) {
      if (line.empty()) continue;
      const std::string at = fmt::format("{}:{}", path, r.line_number());
      json j;
      try {
        j = json::parse(line);
      } catch (const json::parse_error& e) {
        fail("{}:{}: expected {{\"ids\": [int...], ...}}: {}", at, e.byte, e.what());
      } catch (const json::exception& e) {
        fail("{}: expected {{\"ids\": [int...], ...}}: {}", at, e.what());
      }
      if (!j.is_object() || !j.contains("ids") || !j["ids"].is_array())
        fail("{}: expected {{\"ids\": [int...], ...}}", at);
      const json& items = j["ids"];
      std::vector<int32_t> ids(items.size());
      for (size_t i = 0; i < items.size(); ++i)
        ids[i] = static_cast<int32_t>(below(items[i], o.vocab_size, fmt::format("{}: ids[{}]", at, i), "a token id"));
      DocInfo info;
      if (j.contains("lang")) {
        if (!j["lang"].is_string()) fail("{}: lang: expected a string, got {}", at, j["lang"].dump());
        info.lang = lang_id(j["lang"].get<std::string>());
      }
      if (j.contains("bytes"))
        info.text_bytes = below(j["bytes"], std::numeric_limits<uint64_t>::max(), at + ": bytes", "a byte count");
      else if (j.contains("text")) {
        if (!j["text"].is_string()) fail("{}: text: expected a string, got {}", at, j["text"].dump());
        info.text_bytes = j["text"].get_ref<const std::string&>().size();
      }
      if (j.contains("synthetic")) {
        if (!j["synthetic"].is_boolean()) fail("{}: synthetic: expected true or false, got {}", at, j["synthetic"].dump());
        info.flags = j["synthetic"].get<bool>() ? kFlagSynthetic : 0;
      }
      info.source_id = j.contains("source") ? static_cast<uint32_t>(below(j["source"], uint64_t{1} << 32,
                                                                          at + ": source", "a source id"))
                                            : o.source_id;
      w.add(ids, info);
    }
  }
  w.finish();
  log_info("{}: {} documents, {} tokens", o.out_path, w.num_docs(), w.num_tokens());
}

}  // namespace kormo::shard
