#include "kormo/shard/ids.h"

#include <nlohmann/json.hpp>

#include "kormo/shard/writer.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"

namespace kormo::shard {

void shard_from_ids(const IdsShardOptions& o) {
  check_output_not_input(o.out_path, o.inputs);
  ShardWriter w(o.out_path, o.vocab_size);
  for (const auto& path : o.inputs) {
    LineReader r(path);
    std::string_view line;
    while (r.next(line)) {
      if (line.empty()) continue;
      std::vector<int32_t> ids;
      DocInfo info;
      try {
        auto j = nlohmann::json::parse(line);
        ids = j.at("ids").get<std::vector<int32_t>>();
        info.lang = lang_id(j.value("lang", ""));
        if (j.contains("bytes"))
          info.text_bytes = j["bytes"].get<uint64_t>();
        else if (j.contains("text"))
          info.text_bytes = j["text"].get<std::string>().size();
        info.flags = j.value("synthetic", false) ? kFlagSynthetic : 0;
        info.source_id = j.value("source", o.source_id);
      } catch (const nlohmann::json::exception& e) {
        fail("{}:{}: expected {{\"ids\": [int...], ...}}: {}", path, r.line_number(), e.what());
      }
      for (size_t i = 0; i < ids.size(); ++i)
        if (ids[i] < 0 || static_cast<uint32_t>(ids[i]) >= o.vocab_size)
          fail("{}:{}: token id {} (item {}) is outside the vocabulary (size {})", path, r.line_number(), ids[i], i,
               o.vocab_size);
      w.add(ids, info);
    }
  }
  w.finish();
  log_info("{}: {} documents, {} tokens", o.out_path, w.num_docs(), w.num_tokens());
}

}  // namespace kormo::shard
