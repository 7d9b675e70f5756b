#include "kormo/shard/docs.h"

#include "kormo/data/document.h"
#include "kormo/shard/writer.h"
#include "kormo/tok/tokenizer.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"
#include "kormo/util/progress.h"

namespace kormo::shard {

DocsShardSummary shard_from_docs(const DocsShardOptions& o) {
  tok::Tokenizer tokenizer = tok::Tokenizer::load(o.tokenizer);
  const tok::SpecialIds& sp = tokenizer.special_ids();
  ShardWriter w(o.out_path, static_cast<uint32_t>(tokenizer.vocab_size()));
  DocsShardSummary sum;
  Progress progress("shard " + o.out_path, 0, "docs");

  // Lines are parsed serially (to name file:line on error) and encoded in
  // parallel batches; documents keep input order.
  constexpr size_t kBatch = 2048;
  std::vector<data::Document> docs;
  std::vector<std::vector<int32_t>> ids;
  auto flush = [&] {
    ids.assign(docs.size(), {});
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t i = 0; i < docs.size(); ++i) {
      if (sp.bos >= 0) ids[i].push_back(sp.bos);
      tokenizer.encode_append(docs[i].text, ids[i]);
      if (sp.eot >= 0) ids[i].push_back(sp.eot);
    }
    for (size_t i = 0; i < docs.size(); ++i) {
      DocInfo info;
      info.text_bytes = docs[i].text.size();
      info.lang = lang_id(docs[i].lang);
      info.flags = docs[i].synthetic ? kFlagSynthetic : 0;
      info.source_id = o.source_id;
      w.add(ids[i], info);
      sum.tokens += ids[i].size();
      sum.bytes += info.text_bytes;
    }
    sum.documents += docs.size();
    docs.clear();
    progress.update(static_cast<double>(sum.documents));
  };
  data::for_each_document(
      o.inputs, o.text_field,
      [&](data::Document& d) {
        docs.push_back(std::move(d));
        if (docs.size() == kBatch) flush();
      },
      [&](const std::string& where, const std::string& why) {
        fail("{}: expected a document with a \"{}\" field: {}", where, o.text_field, why);
      });
  flush();
  if (sum.documents == 0) fail("no documents in the input ({} file(s)): nothing to shard", o.inputs.size());
  w.finish();
  progress.finish(fmt::format("{} tokens, {:.2f} bytes/token", sum.tokens,
                              sum.tokens ? double(sum.bytes) / double(sum.tokens) : 0.0));
  return sum;
}

}  // namespace kormo::shard
