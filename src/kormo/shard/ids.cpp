#include "kormo/shard/ids.h"

#include <nlohmann/json.hpp>

#include "kormo/shard/writer.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"

namespace kormo::shard {

namespace {
using json = nlohmann::json;

// Integer fields are checked before conversion: nlohmann's get<> would truncate 1.5 to 1
// and wrap 2^32 + 5 to 5, turning a bad line into a silently wrong shard. Parsed
// non-negative integers are number_unsigned; negatives are number_integer and integers
// beyond 64 bits number_float.
bool integer_below(const json& v, uint64_t limit) { return v.is_number_unsigned() && v.get<uint64_t>() < limit; }
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
      for (size_t i = 0; i < items.size(); ++i) {
        if (!integer_below(items[i], o.vocab_size))
          fail("{}: token id {} (ids[{}]) is not an integer in [0, {})", at, items[i].dump(), i, o.vocab_size);
        ids[i] = static_cast<int32_t>(items[i].get<uint64_t>());
      }
      DocInfo info;
      if (j.contains("lang")) {
        if (!j["lang"].is_string()) fail("{}: lang: expected a string, got {}", at, j["lang"].dump());
        info.lang = lang_id(j["lang"].get<std::string>());
      }
      if (j.contains("bytes")) {
        if (!j["bytes"].is_number_unsigned())
          fail("{}: bytes: expected a non-negative integer, got {}", at, j["bytes"].dump());
        info.text_bytes = j["bytes"].get<uint64_t>();
      } else if (j.contains("text")) {
        if (!j["text"].is_string()) fail("{}: text: expected a string, got {}", at, j["text"].dump());
        info.text_bytes = j["text"].get_ref<const std::string&>().size();
      }
      if (j.contains("synthetic")) {
        if (!j["synthetic"].is_boolean()) fail("{}: synthetic: expected true or false, got {}", at, j["synthetic"].dump());
        info.flags = j["synthetic"].get<bool>() ? kFlagSynthetic : 0;
      }
      info.source_id = o.source_id;
      if (j.contains("source")) {
        if (!integer_below(j["source"], uint64_t{1} << 32))
          fail("{}: source: expected a source id in [0, 2^32), got {}", at, j["source"].dump());
        info.source_id = static_cast<uint32_t>(j["source"].get<uint64_t>());
      }
      w.add(ids, info);
    }
  }
  w.finish();
  log_info("{}: {} documents, {} tokens", o.out_path, w.num_docs(), w.num_tokens());
}

}  // namespace kormo::shard
