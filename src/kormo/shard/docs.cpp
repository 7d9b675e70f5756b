#include "kormo/shard/docs.h"

#include <algorithm>
#include <string_view>

#include "kormo/data/document.h"
#include "kormo/shard/writer.h"
#include "kormo/tok/tokenizer.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "kormo/util/log.h"
#include "kormo/util/parallel.h"
#include "kormo/util/progress.h"

namespace kormo::shard {

namespace {

struct Marker {
  std::string_view text;
  int32_t id;
};

struct SpanIds {
  int32_t open, close;
};

// encode(text), except that marker text becomes the marker's id. Markers split the
// text the way the tokenizer splits added tokens: earliest first, longest on a tie.
void encode_with_markers(const tok::Tokenizer& t, std::string_view text, const std::vector<Marker>& markers,
                         std::vector<int32_t>& out) {
  constexpr size_t npos = std::string_view::npos;
  std::vector<size_t> found(markers.size());
  for (size_t i = 0; i < markers.size(); ++i) found[i] = text.find(markers[i].text);
  size_t pos = 0;
  for (;;) {
    const Marker* best = nullptr;
    size_t at = npos;
    for (size_t i = 0; i < markers.size(); ++i) {
      if (found[i] != npos && found[i] < pos) found[i] = text.find(markers[i].text, pos);
      if (found[i] < at || (found[i] == at && at != npos && markers[i].text.size() > best->text.size())) {
        at = found[i];
        best = &markers[i];
      }
    }
    if (!best) break;
    t.encode_append(text.substr(pos, at - pos), out);
    out.push_back(best->id);
    pos = at + best->text.size();
  }
  t.encode_append(text.substr(pos), out);
}

void span_mask(const std::vector<int32_t>& ids, const std::vector<SpanIds>& spans, std::vector<uint8_t>& mask) {
  mask.assign(ids.size(), 1);
  for (const SpanIds& s : spans) {
    bool inside = false;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] == s.open) inside = true;
      if (inside) mask[i] = 0;
      if (ids[i] == s.close) inside = false;
    }
  }
}

}  // namespace

DocsShardSummary shard_from_docs(const DocsShardOptions& o) {
  check_output_not_input(o.out_path, o.inputs);
  check_output_not_input(o.out_path, {o.tokenizer, o.tokenizer + "/tokenizer.json"});  // may be the directory
  tok::Tokenizer tokenizer = tok::Tokenizer::load(o.tokenizer);
  const tok::SpecialIds& sp = tokenizer.special_ids();
  std::vector<Marker> markers;
  std::vector<SpanIds> spans;
  auto special = [&](const std::string& name) {
    int32_t id = tokenizer.token_to_id(name);
    if (id < 0 || !tokenizer.is_special(id))
      fail("mask span: '{}' is not a special token of the tokenizer {}", name, o.tokenizer);
    markers.push_back({name, id});
    return id;
  };
  for (const MaskSpan& m : o.mask_spans) {
    if (m.open == m.close) fail("mask span: the opening and closing markers are both '{}'", m.open);
    spans.push_back({special(m.open), special(m.close)});
  }
  ShardWriter w(o.out_path, static_cast<uint32_t>(tokenizer.vocab_size()));
  DocsShardSummary sum;
  Progress progress("shard " + o.out_path, 0, "docs");

  // Lines are parsed serially (to name file:line on error) and encoded in
  // parallel batches; documents keep input order.
  constexpr size_t kBatch = 2048;
  std::vector<data::Document> docs;
  std::vector<std::vector<int32_t>> ids;
  std::vector<std::vector<uint8_t>> masks;
  auto flush = [&] {
    ids.assign(docs.size(), {});
    masks.assign(docs.size(), {});
    FirstError err;
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t i = 0; i < docs.size(); ++i) {
      err.run([&] {
        if (sp.bos >= 0) ids[i].push_back(sp.bos);
        encode_with_markers(tokenizer, docs[i].text, markers, ids[i]);
        if (sp.eot >= 0) ids[i].push_back(sp.eot);
        if (!spans.empty()) span_mask(ids[i], spans, masks[i]);
      });
    }
    err.rethrow();
    for (size_t i = 0; i < docs.size(); ++i) {
      DocInfo info;
      info.text_bytes = docs[i].text.size();
      info.lang = lang_id(docs[i].lang);
      info.flags = docs[i].synthetic ? kFlagSynthetic : 0;
      info.source_id = o.source_id;
      w.add(ids[i], info, masks[i]);
      sum.tokens += ids[i].size();
      sum.masked_tokens += static_cast<uint64_t>(std::count(masks[i].begin(), masks[i].end(), 0));
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
  progress.finish(fmt::format("{} tokens, {:.2f} bytes/token{}", sum.tokens,
                              sum.tokens ? double(sum.bytes) / double(sum.tokens) : 0.0,
                              spans.empty() ? "" : fmt::format(", {} masked out of the loss", sum.masked_tokens)));
  return sum;
}

}  // namespace kormo::shard
