#include "kormo/shard/loader.h"

#include <algorithm>
#include <array>
#include <filesystem>

#include "kormo/util/error.h"
#include "kormo/util/hash.h"

namespace kormo::shard {

DataLoader::DataLoader(const std::vector<SourceSpec>& sources, const LoaderOptions& opts)
    : opts_(opts), rng_(opts.seed) {
  if (sources.empty()) fail("data loader: no sources configured");
  if (opts.seq_len <= 0 || opts.batch_size <= 0) fail("data loader: batch_size and seq_len must be positive");
  if (opts.world < 1 || opts.rank < 0 || opts.rank >= opts.world)
    fail("data loader: rank {} is outside a world of {} processes", opts.rank, opts.world);
  for (const auto& spec : sources) {
    if (!(spec.weight > 0)) fail("data source '{}': weight must be positive", spec.name);
    Source src{spec.name, spec.weight, {}, {}};
    val_.emplace_back();
    for (const auto& path : spec.shards) {
      auto r = std::make_unique<ShardReader>(path);
      if (vocab_ == 0) vocab_ = r->vocab_size();
      if (r->vocab_size() != vocab_)
        fail("{}: vocab size {} differs from the other shards' {}", path, r->vocab_size(), vocab_);
      std::string base = std::filesystem::path(path).filename().string();
      uint32_t si = static_cast<uint32_t>(shards_.size());
      for (uint64_t d = 0; d < r->num_docs(); ++d) {
        if (r->doc_length(d) == 0) continue;
        uint64_t h = xxh3_64(base + "#" + std::to_string(d));
        bool val = static_cast<double>(h % 1000000) < opts.val_fraction * 1e6;
        (val ? val_.back() : src.docs).push_back({si, d});
      }
      shards_.push_back(std::move(r));
    }
    if (src.docs.empty()) fail("data source '{}': no training documents in its shards", spec.name);
    sources_.push_back(std::move(src));
  }
  for (auto& s : sources_) shuffle(s);
}

DataLoader::~DataLoader() = default;

uint64_t DataLoader::train_docs() const {
  uint64_t n = 0;
  for (const auto& s : sources_) n += s.docs.size();
  return n;
}

uint64_t DataLoader::val_docs() const {
  uint64_t n = 0;
  for (const auto& v : val_) n += v.size();
  return n;
}

void DataLoader::shuffle(Source& s) {
  // The permutation depends only on (seed, source name, epoch), so restore() can rebuild it.
  Rng r(opts_.seed ^ xxh3_64(s.name + "/" + std::to_string(s.epoch)));
  s.order.resize(s.docs.size());
  for (uint64_t i = 0; i < s.order.size(); ++i) s.order[i] = i;
  for (uint64_t i = s.order.size(); i > 1; --i) std::swap(s.order[i - 1], s.order[r.below(i)]);
}

LoadedBatch empty_batch(int64_t B, int64_t T) {
  LoadedBatch b;
  const int64_t N = B * T;
  b.batch.B = B;
  b.batch.T = T;
  b.batch.inputs.assign(N, 0);
  b.batch.targets.assign(N, -100);
  b.batch.doc.assign(N, 0);
  b.lang.assign(N, 0);
  b.target_bytes.assign(N, 0.f);
  b.loss_weight.assign(N, 0.f);
  return b;
}

void DataLoader::fill_row(const std::vector<Chunk>& chunks, int64_t row, LoadedBatch& out) const {
  const int64_t T = opts_.seq_len;
  std::vector<int32_t> tok(T + 1);
  std::vector<int32_t> seg(T + 1);
  std::vector<uint8_t> lang(T + 1);
  std::vector<float> bpt(T + 1);
  std::vector<uint8_t> mask(T + 1);
  int64_t p = 0;
  int32_t segment = 0;
  for (const Chunk& c : chunks) {
    const uint64_t begin = c.shard->doc_begin(c.doc) + c.begin;
    c.shard->copy_tokens(begin, c.count, tok.data() + p);
    c.shard->copy_mask(begin, c.count, mask.data() + p);
    DocInfo info = c.shard->doc_info(c.doc);
    float bytes_per_token = static_cast<float>(info.text_bytes) / static_cast<float>(c.shard->doc_length(c.doc));
    for (uint64_t i = 0; i < c.count; ++i, ++p) {
      seg[p] = segment;
      lang[p] = info.lang;
      bpt[p] = bytes_per_token;
    }
    ++segment;
  }
  Batch& b = out.batch;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t n = row * T + t;
    b.inputs[n] = tok[t];
    b.doc[n] = seg[t];
    bool ignore = seg[t + 1] != seg[t] || tok[t + 1] == opts_.pad_id || mask[t + 1] == 0;
    b.targets[n] = ignore ? -100 : tok[t + 1];
    out.lang[n] = lang[t + 1];
    out.target_bytes[n] = ignore ? 0.f : bpt[t + 1];
    out.loss_weight[n] = ignore ? 0.f : 1.f;
  }
}

std::vector<DataLoader::Chunk> DataLoader::next_row() {
  double total = 0;
  for (const auto& s : sources_) total += s.weight;
  std::vector<Chunk> chunks;
  uint64_t need = static_cast<uint64_t>(opts_.seq_len) + 1;
  while (need > 0) {
    double u = rng_.uniform() * total;
    size_t si = 0;
    while (si + 1 < sources_.size() && u >= sources_[si].weight) u -= sources_[si++].weight;
    Source& s = sources_[si];
    const DocRef& d = s.docs[s.order[s.index]];
    const ShardReader* sh = shards_[d.shard].get();
    uint64_t len = sh->doc_length(d.doc);
    uint64_t take = std::min(need, len - s.offset);
    chunks.push_back({sh, d.doc, s.offset, take});
    need -= take;
    s.offset += take;
    if (s.offset == len) {
      s.offset = 0;
      if (++s.index == s.docs.size()) {
        s.index = 0;
        ++s.epoch;
        shuffle(s);
      }
    }
  }
  return chunks;
}

LoadedBatch DataLoader::next_train() {
  LoadedBatch out = empty_batch(opts_.batch_size, opts_.seq_len);
  // Every rank walks the whole global batch (cheap: chunk positions only) so the
  // stream stays identical everywhere; it copies tokens for its own rows only.
  const int64_t first = opts_.rank * opts_.batch_size;
  for (int64_t row = 0; row < opts_.world * opts_.batch_size; ++row) {
    std::vector<Chunk> chunks = next_row();
    if (row >= first && row < first + opts_.batch_size) fill_row(chunks, row - first, out);
  }
  return out;
}

std::vector<LoadedBatch> DataLoader::validation(int64_t max_tokens) const {
  std::vector<LoadedBatch> out;
  const uint64_t row_tokens = static_cast<uint64_t>(opts_.seq_len) + 1;
  const int64_t per_source = max_tokens / static_cast<int64_t>(val_.size());
  for (const auto& docs : val_) {
    size_t vi = 0;
    uint64_t off = 0;
    int64_t produced = 0;
    while (vi < docs.size() && produced + opts_.seq_len <= per_source) {
      LoadedBatch b = empty_batch(opts_.batch_size, opts_.seq_len);
      int64_t rows = 0;
      for (; rows < opts_.batch_size && produced + opts_.seq_len <= per_source; ++rows) {
        std::vector<Chunk> chunks;
        uint64_t need = row_tokens;
        while (need > 0 && vi < docs.size()) {
          const ShardReader* sh = shards_[docs[vi].shard].get();
          uint64_t len = sh->doc_length(docs[vi].doc);
          uint64_t take = std::min(need, len - off);
          chunks.push_back({sh, docs[vi].doc, off, take});
          need -= take;
          off += take;
          if (off == len) off = 0, ++vi;
        }
        if (need > 0) break;  // not enough validation text left for a full row
        fill_row(chunks, rows, b);
        produced += opts_.seq_len;
      }
      if (rows == 0) break;
      out.push_back(std::move(b));
    }
  }
  return out;
}

nlohmann::json DataLoader::state() const {
  nlohmann::json s;
  auto st = rng_.state();
  s["rng"] = {st[0], st[1], st[2], st[3]};
  for (const auto& src : sources_)
    s["sources"].push_back(
        {{"name", src.name}, {"docs", src.docs.size()}, {"epoch", src.epoch}, {"index", src.index}, {"offset", src.offset}});
  return s;
}

namespace {
// A position field of a saved loader state, checked before conversion (a 1e300 or -1
// must be an error, not an undefined or wrapped integer).
uint64_t position(const nlohmann::json& src, const char* key, const std::string& name) {
  const auto& v = src.at(key);
  if (!v.is_number_unsigned()) fail("source '{}': {} must be a non-negative integer, got {}", name, key, v.dump());
  return v.get<uint64_t>();
}
}  // namespace

void DataLoader::restore(const nlohmann::json& s) {
  try {
    const auto& srcs = s.at("sources");
    if (!srcs.is_array()) fail("sources must be an array");
    if (srcs.size() != sources_.size()) fail("data loader state has {} sources, the config has {}", srcs.size(), sources_.size());
    for (size_t i = 0; i < sources_.size(); ++i) {
      Source& src = sources_[i];
      const uint64_t docs = position(srcs[i], "docs", src.name);
      if (srcs[i].at("name") != src.name || docs != src.docs.size())
        fail("data loader state for source '{}' was saved with different data ({} training documents, now {})",
             src.name, docs, src.docs.size());
      src.epoch = position(srcs[i], "epoch", src.name);
      src.index = position(srcs[i], "index", src.name);
      src.offset = position(srcs[i], "offset", src.name);
      // Out-of-range positions would index past the document order or the document.
      if (src.index >= src.docs.size())
        fail("source '{}': index {} is outside its {} training documents", src.name, src.index, src.docs.size());
      shuffle(src);
      const DocRef& d = src.docs[src.order[src.index]];
      const uint64_t len = shards_[d.shard]->doc_length(d.doc);
      if (src.offset >= len)
        fail("source '{}': offset {} is outside its current document of {} tokens", src.name, src.offset, len);
    }
    const auto& r = s.at("rng");
    if (!r.is_array() || r.size() != 4) fail("rng must be an array of 4 integers");
    std::array<uint64_t, 4> rs{};
    for (size_t k = 0; k < 4; ++k) {
      if (!r[k].is_number_unsigned()) fail("rng[{}] must be a non-negative integer, got {}", k, r[k].dump());
      rs[k] = r[k].get<uint64_t>();
    }
    rng_.set_state({rs[0], rs[1], rs[2], rs[3]});
  } catch (const nlohmann::json::exception& e) {
    fail("data loader state is malformed: {}", e.what());
  }
}

}  // namespace kormo::shard
