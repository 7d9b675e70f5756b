#include "kormo/tok/tokenizer.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "kormo/text/unicode.h"
#include "kormo/tok/byte_level.h"
#include "kormo/tok/pair_hash.h"
#include "kormo/tok/pretokenizer.h"
#include "kormo/util/error.h"
#include "kormo/util/hash.h"
#include "kormo/util/io.h"

namespace kormo::tok {

std::vector<std::string> SpecialTokenNames::all() const {
  std::vector<std::string> v{bos, eot, pad, bot, think, think_end};
  v.insert(v.end(), extra.begin(), extra.end());
  return v;
}

namespace {

using json = nlohmann::json;

// (left, right) -> (rank, result): open addressing keyed by the packed id pair,
// the lookup every BPE step does.
class MergeTable {
 public:
  void build(const std::vector<Tokenizer::Merge>& merges) {
    size_t cap = 16;
    while (cap < merges.size() * 2) cap <<= 1;
    slots_.assign(cap, Slot{kEmpty, 0, 0});
    mask_ = cap - 1;
    for (size_t r = 0; r < merges.size(); ++r) {
      uint64_t key = pack_pair(merges[r].left, merges[r].right);
      size_t i = slot_of(key);
      while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
      if (slots_[i].key == key) continue;  // a repeated merge keeps its first (lowest) rank
      slots_[i] = Slot{key, static_cast<uint32_t>(r), merges[r].result};
    }
  }
  // Returns false when (l, r) is not a merge.
  bool find(int32_t l, int32_t r, uint32_t& rank, int32_t& result) const {
    uint64_t key = pack_pair(l, r);
    for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) {
        rank = s.rank;
        result = s.result;
        return true;
      }
      if (s.key == kEmpty) return false;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key;
    uint32_t rank;
    int32_t result;
  };
  size_t slot_of(uint64_t key) const { return static_cast<size_t>(hash_pair(key)) & mask_; }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return xxh3_64(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

std::atomic<uint64_t> g_next_uid{1};

}  // namespace

struct Tokenizer::Impl {
  uint64_t uid = g_next_uid++;
  bool nfc = true;
  bool ignore_merges = false;
  SplitRule split = SplitRule::kQwen2;
  std::vector<std::string> token_str;    // tokenizer.json form, by id
  std::vector<std::string> token_bytes;  // raw bytes, by id
  std::vector<uint8_t> special;          // 1 for special added tokens
  StringIdMap str_to_id;
  StringIdMap bytes_to_id;               // BPE vocabulary only (for ignore_merges)
  std::vector<Merge> merges;
  MergeTable merge_table;
  int32_t byte_ids[256];
  std::vector<AddedToken> added;         // sorted by id
  std::vector<const AddedToken*> added_by_length;  // longest first, for matching
  SpecialIds ids;

  void set_token(int32_t id, const std::string& str, std::string bytes) {
    if (static_cast<size_t>(id) >= token_str.size()) {
      token_str.resize(id + 1);
      token_bytes.resize(id + 1);
      special.resize(id + 1, 0);
    }
    token_str[id] = str;
    token_bytes[id] = std::move(bytes);
  }
  void finish(const std::string& origin, const SpecialTokenNames& names = {});
  void bpe(std::string_view piece, std::vector<int32_t>& out) const;
  void bpe_long(std::string_view piece, std::vector<int32_t>& out) const;
  void encode_piece_cached(std::string_view piece, std::vector<int32_t>& out) const;
  void encode_text(std::string_view text, std::vector<int32_t>& out, bool normalize) const;
};

// Derived tables shared by load and from_merges.
void Tokenizer::Impl::finish(const std::string& origin, const SpecialTokenNames& names) {
  for (int b = 0; b < 256; ++b) byte_ids[b] = -1;
  for (size_t id = 0; id < token_bytes.size(); ++id) {
    if (special[id] || token_str[id].empty()) continue;
    const std::string& bytes = token_bytes[id];
    if (bytes.size() == 1 && byte_ids[static_cast<uint8_t>(bytes[0])] < 0)
      byte_ids[static_cast<uint8_t>(bytes[0])] = static_cast<int32_t>(id);
  }
  for (int b = 0; b < 256; ++b)
    if (byte_ids[b] < 0)
      fail("{}: vocabulary has no token for byte 0x{:02X}; a byte-level BPE needs all 256", origin, b);
  merge_table.build(merges);
  std::sort(added.begin(), added.end(), [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
  added_by_length.clear();
  for (const auto& t : added) added_by_length.push_back(&t);
  std::stable_sort(added_by_length.begin(), added_by_length.end(),
                   [](const AddedToken* a, const AddedToken* b) { return a->content.size() > b->content.size(); });
  auto find_added = [&](const std::string& s) {
    if (s.empty()) return int32_t{-1};
    for (const auto& t : added)
      if (t.content == s) return t.id;
    return int32_t{-1};
  };
  ids.bos = find_added(names.bos);
  ids.eot = find_added(names.eot);
  ids.pad = find_added(names.pad);
  ids.bot = find_added(names.bot);
  ids.think = find_added(names.think);
  ids.think_end = find_added(names.think_end);
}

// BPE of one piece, exactly as HF's Word::merge_all: repeatedly merge the
// adjacent pair of lowest rank, the leftmost among equals. Short pieces (nearly
// all) use a flat array; long ones a heap so a 1 MB run stays O(n log n).
void Tokenizer::Impl::bpe(std::string_view piece, std::vector<int32_t>& out) const {
  size_t n = piece.size();
  if (n == 1) {
    out.push_back(byte_ids[static_cast<uint8_t>(piece[0])]);
    return;
  }
  if (ignore_merges) {
    auto it = bytes_to_id.find(piece);
    if (it != bytes_to_id.end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (n > 64) {
    bpe_long(piece, out);
    return;
  }
  constexpr uint32_t kNone = ~uint32_t{0};
  int32_t sym[64], res[64];
  uint32_t rank[64];
  for (size_t i = 0; i < n; ++i) sym[i] = byte_ids[static_cast<uint8_t>(piece[i])];
  auto rank_at = [&](size_t i) {
    uint32_t r;
    if (!merge_table.find(sym[i], sym[i + 1], r, res[i])) r = kNone;
    rank[i] = r;
  };
  for (size_t i = 0; i + 1 < n; ++i) rank_at(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i)
      if (rank[i] < rank[best]) best = i;
    if (rank[best] == kNone) break;
    sym[best] = res[best];
    for (size_t i = best + 1; i + 1 < n; ++i) sym[i] = sym[i + 1];
    for (size_t i = best + 1; i + 2 < n; ++i) {
      rank[i] = rank[i + 1];
      res[i] = res[i + 1];
    }
    --n;
    if (best > 0) rank_at(best - 1);
    if (best + 1 < n) rank_at(best);
  }
  out.insert(out.end(), sym, sym + n);
}

void Tokenizer::Impl::bpe_long(std::string_view piece, std::vector<int32_t>& out) const {
  struct Sym {
    int32_t id;
    int32_t prev, next;  // linked list over positions; -1 at the ends
    bool alive;
  };
  struct Cand {
    uint32_t rank;
    uint32_t pos;
    int32_t result;
    bool operator<(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  size_t n = piece.size();
  std::vector<Sym> s(n);
  for (size_t i = 0; i < n; ++i)
    s[i] = Sym{byte_ids[static_cast<uint8_t>(piece[i])], static_cast<int32_t>(i) - 1,
               i + 1 < n ? static_cast<int32_t>(i + 1) : -1, true};
  std::priority_queue<Cand> q;
  auto push = [&](int32_t pos) {
    if (pos < 0 || s[pos].next < 0) return;
    uint32_t r;
    int32_t res;
    if (merge_table.find(s[pos].id, s[s[pos].next].id, r, res)) q.push(Cand{r, static_cast<uint32_t>(pos), res});
  };
  for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i));
  while (!q.empty()) {
    Cand c = q.top();
    q.pop();
    Sym& left = s[c.pos];
    if (!left.alive || left.next < 0) continue;
    uint32_t r;
    int32_t res;
    // Stale entry: the pair at this position changed since it was queued.
    if (!merge_table.find(left.id, s[left.next].id, r, res) || res != c.result) continue;
    Sym& right = s[left.next];
    left.id = c.result;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) s[right.next].prev = static_cast<int32_t>(c.pos);
    push(left.prev);
    push(static_cast<int32_t>(c.pos));
  }
  for (int32_t i = 0; i >= 0; i = s[i].next) out.push_back(s[i].id);
}

namespace {
// Per-thread cache of piece -> ids: open addressing over flat arrays (no
// allocation per entry). Keyed by the tokenizer's uid so a thread that
// switches tokenizers never sees another one's entries. The table starts small
// and doubles up to kMaxSlots (then it is emptied when half full): a server's
// many HTTP threads each tokenize a few prompts, and a full-size table per
// thread (12 MB) made an idle-again server hold hundreds of MB.
struct PieceCache {
  struct Slot {
    uint64_t hash;
    uint32_t key_off, ids_off;
    uint16_t key_len, n_ids;  // key_len 0: empty
  };
  static constexpr size_t kMinSlots = size_t{1} << 12, kMaxSlots = size_t{1} << 19;
  static constexpr size_t kMaxPiece = 256;  // longer pieces are rare; not cached
  uint64_t owner = 0;
  size_t size = 0;
  std::vector<Slot> slots;
  std::string keys;
  std::vector<int32_t> ids;
  void reset(uint64_t uid) {
    owner = uid;
    size = 0;
    slots.assign(kMinSlots, Slot{0, 0, 0, 0, 0});
    keys.clear();
    ids.clear();
  }
  // The empty slot for a new entry of hash h, or the slot holding `piece`.
  size_t find(uint64_t h, std::string_view piece) const {
    const size_t mask = slots.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots[i];
      if (s.key_len == 0 ||
          (s.hash == h && s.key_len == piece.size() && std::memcmp(keys.data() + s.key_off, piece.data(), piece.size()) == 0))
        return i;
    }
  }
  void grow() {
    std::vector<Slot> old(slots.size() * 2, Slot{0, 0, 0, 0, 0});
    old.swap(slots);
    const size_t mask = slots.size() - 1;
    for (const Slot& s : old) {
      if (s.key_len == 0) continue;
      size_t i = s.hash & mask;
      while (slots[i].key_len != 0) i = (i + 1) & mask;
      slots[i] = s;
    }
  }
};
thread_local PieceCache t_cache;
}  // namespace

void Tokenizer::Impl::encode_piece_cached(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.size() == 1) {
    out.push_back(byte_ids[static_cast<uint8_t>(piece[0])]);
    return;
  }
  if (piece.size() > PieceCache::kMaxPiece) {
    bpe(piece, out);
    return;
  }
  PieceCache& c = t_cache;
  if (c.owner != uid) c.reset(uid);
  if (c.size >= c.slots.size() / 2) {
    if (c.slots.size() < PieceCache::kMaxSlots)
      c.grow();
    else
      c.reset(uid);
  }
  const uint64_t h = xxh3_64(piece);
  const size_t i = c.find(h, piece);
  if (const PieceCache::Slot& s = c.slots[i]; s.key_len != 0) {
    out.insert(out.end(), c.ids.begin() + s.ids_off, c.ids.begin() + s.ids_off + s.n_ids);
    return;
  }
  size_t before = out.size();
  bpe(piece, out);
  c.slots[i] = PieceCache::Slot{h, static_cast<uint32_t>(c.keys.size()), static_cast<uint32_t>(c.ids.size()),
                                static_cast<uint16_t>(piece.size()), static_cast<uint16_t>(out.size() - before)};
  c.keys.append(piece);
  c.ids.insert(c.ids.end(), out.begin() + before, out.end());
  ++c.size;
}

void Tokenizer::Impl::encode_text(std::string_view text, std::vector<int32_t>& out, bool normalize) const {
  if (text.empty()) return;
  std::string normalized;
  if (normalize && nfc && !text::is_nfc_quick(text)) {
    normalized = text::normalize(text, text::NormForm::kNFC);
    text = normalized;
  }
  for_each_piece(text, [&](std::string_view piece) { encode_piece_cached(piece, out); }, split);
}

Tokenizer::Tokenizer() : impl_(std::make_unique<Impl>()) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

void Tokenizer::encode_append(std::string_view text, std::vector<int32_t>& out, const EncodeOptions& opt) const {
  const Impl& m = *impl_;
  size_t start = 0;
  // Added tokens split the text first (HF does the same before normalising);
  // at each position the longest matching token wins.
  bool any = false;
  for (const AddedToken* t : m.added_by_length)
    if (opt.allow_special || !t->special) any = true;
  if (any) {
    size_t pos = 0;
    while (pos < text.size()) {
      size_t best_at = std::string_view::npos;
      const AddedToken* best = nullptr;
      for (const AddedToken* t : m.added_by_length) {
        if (t->special && !opt.allow_special) continue;
        size_t at = text.find(t->content, pos);
        if (at < best_at) {
          best_at = at;
          best = t;
        }
      }
      if (!best) break;
      m.encode_text(text.substr(start, best_at - start), out, opt.normalize);
      out.push_back(best->id);
      pos = start = best_at + best->content.size();
    }
  }
  m.encode_text(text.substr(start), out, opt.normalize);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& opt) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  encode_append(text, out, opt);
  return out;
}

void Tokenizer::encode_piece(std::string_view piece, std::vector<int32_t>& out) const { impl_->bpe(piece, out); }

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  const Impl& m = *impl_;
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= m.token_bytes.size())
      fail("decode: token id {} is outside the vocabulary [0, {})", id, m.token_bytes.size());
    if (skip_special && m.special[id]) continue;
    out.append(m.token_bytes[id]);
  }
  return out;
}

int32_t Tokenizer::token_to_id(std::string_view token) const {
  auto it = impl_->str_to_id.find(token);
  return it == impl_->str_to_id.end() ? -1 : it->second;
}
const std::string& Tokenizer::id_to_token(int32_t id) const {
  static const std::string empty;
  if (id < 0 || static_cast<size_t>(id) >= impl_->token_str.size()) return empty;
  return impl_->token_str[id];
}
std::string_view Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->token_bytes.size()) return {};
  return impl_->token_bytes[id];
}
size_t Tokenizer::vocab_size() const { return impl_->token_str.size(); }
bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->special.size() && impl_->special[id];
}
const SpecialIds& Tokenizer::special_ids() const { return impl_->ids; }
const std::vector<AddedToken>& Tokenizer::added_tokens() const { return impl_->added; }
const std::vector<Tokenizer::Merge>& Tokenizer::merges() const { return impl_->merges; }
int32_t Tokenizer::byte_token(uint8_t b) const { return impl_->byte_ids[b]; }

// ------------------------------------------------------------------ building

Tokenizer Tokenizer::from_merges(const std::vector<std::pair<int32_t, int32_t>>& merges,
                                 const SpecialTokenNames& specials) {
  Tokenizer t;
  Impl& m = *t.impl_;
  for (int i = 0; i < 256; ++i) {
    std::string b(1, static_cast<char>(kByteOrder[i]));
    m.set_token(i, bytes_to_byte_level(b), b);
  }
  StringIdMap by_bytes;
  for (int i = 0; i < 256; ++i) by_bytes.emplace(m.token_bytes[i], i);
  for (auto [l, r] : merges) {
    if (l < 0 || r < 0 || static_cast<size_t>(l) >= m.token_bytes.size() || static_cast<size_t>(r) >= m.token_bytes.size())
      fail("from_merges: merge ({}, {}) refers to an id not yet defined", l, r);
    std::string bytes = m.token_bytes[l] + m.token_bytes[r];
    auto [it, fresh] = by_bytes.emplace(bytes, static_cast<int32_t>(m.token_bytes.size()));
    // Two merges can spell the same bytes ((ab,c) and (a,bc)); like HF both keep one id.
    if (fresh) m.set_token(it->second, bytes_to_byte_level(bytes), bytes);
    m.merges.push_back(Merge{l, r, it->second});
  }
  for (const std::string& s : specials.all()) {
    if (s.empty()) continue;
    for (const auto& a : m.added)
      if (a.content == s) fail("special token '{}' is listed twice", s);
    int32_t id = static_cast<int32_t>(m.token_str.size());
    m.set_token(id, s, s);
    m.special[id] = 1;
    m.added.push_back(AddedToken{id, s, true});
  }
  for (size_t id = 0; id < m.token_str.size(); ++id) {
    m.str_to_id.emplace(m.token_str[id], static_cast<int32_t>(id));
    if (!m.special[id]) m.bytes_to_id.emplace(m.token_bytes[id], static_cast<int32_t>(id));
  }
  m.finish("trained tokenizer", specials);
  return t;
}

// ------------------------------------------------------------------ tokenizer.json

namespace {

std::string quote(std::string_view s) { return json(std::string(s)).dump(); }

const char* kByteLevelJson = R"({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false})";

void expect(bool ok, const std::string& origin, std::string_view what) {
  if (!ok) fail("{}: unsupported tokenizer.json: {}", origin, what);
}

bool is_null_or_false(const json& j, const char* key) {
  return !j.contains(key) || j[key].is_null() || (j[key].is_boolean() && !j[key].get<bool>());
}
bool is_null_or_empty(const json& j, const char* key) {
  return !j.contains(key) || j[key].is_null() || (j[key].is_string() && j[key].get<std::string>().empty());
}

bool is_byte_level(const json& p) { return p.is_object() && p.value("type", "") == "ByteLevel"; }

// Ids are dense in practice; a bound keeps a hostile file from allocating gigabytes.
constexpr int64_t kMaxId = int64_t{1} << 24;

// A token named in tokenizer_config.json: a string or {"content": ...}.
std::string config_token(const json& cfg, const char* key) {
  if (!cfg.contains(key)) return {};
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return {};
}

}  // namespace

std::string Tokenizer::to_json() const {
  const Impl& m = *impl_;
  std::string o;
  o.reserve(m.token_str.size() * 40);
  o += "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [";
  for (size_t i = 0; i < m.added.size(); ++i) {
    const AddedToken& t = m.added[i];
    o += i ? ",\n    " : "\n    ";
    o += fmt::format(
        R"({{"id": {}, "content": {}, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": {}}})",
        t.id, quote(t.content), t.special ? "true" : "false");
  }
  o += m.added.empty() ? "],\n" : "\n  ],\n";
  o += m.nfc ? "  \"normalizer\": {\"type\": \"NFC\"},\n" : "  \"normalizer\": null,\n";
  if (m.split == SplitRule::kGpt2) {
    o += "  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},\n";
  } else {
    o += "  \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [\n";
    o += fmt::format("    {{\"type\": \"Split\", \"pattern\": {{\"Regex\": {}}}, \"behavior\": \"Isolated\", \"invert\": false}},\n",
                     quote(kQwen2Pattern));
    o += fmt::format("    {}\n  ]}},\n", kByteLevelJson);
  }
  o += "  \"post_processor\": null,\n";
  o += fmt::format("  \"decoder\": {},\n", kByteLevelJson);
  o += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
       "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": false,\n"
       "    \"byte_fallback\": false,\n";
  o += fmt::format("    \"ignore_merges\": {},\n    \"vocab\": {{", m.ignore_merges ? "true" : "false");
  bool first = true;
  for (size_t id = 0; id < m.token_str.size(); ++id) {
    if (m.special[id] || m.token_str[id].empty()) continue;
    o += first ? "\n      " : ",\n      ";
    first = false;
    o += quote(m.token_str[id]);
    o += ": ";
    o += std::to_string(id);
  }
  o += "\n    },\n    \"merges\": [";
  for (size_t i = 0; i < m.merges.size(); ++i) {
    o += i ? ",\n      [" : "\n      [";
    o += quote(m.token_str[m.merges[i].left]);
    o += ", ";
    o += quote(m.token_str[m.merges[i].right]);
    o += "]";
  }
  o += "\n    ]\n  }\n}\n";
  return o;
}

// The function-try-block turns a type error anywhere in the checks (e.g. "type": 3) into
// a message naming the file.
Tokenizer Tokenizer::from_json(std::string_view text, const std::string& origin) try {
  json j;
  // nlohmann keeps the last of repeated keys, so a vocab token listed twice would
  // silently lose one of its ids; refuse repeats in any object instead.
  std::vector<std::unordered_set<std::string>> keys;
  auto no_repeated_keys = [&](int, json::parse_event_t ev, json& v) {
    if (ev == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      keys.pop_back();
    } else if (ev == json::parse_event_t::key && !keys.back().insert(v.get_ref<const std::string&>()).second) {
      fail("{}: key {} appears twice in one object", origin, quote(v.get_ref<const std::string&>()));
    }
    return true;
  };
  try {
    j = json::parse(text, no_repeated_keys);
  } catch (const json::parse_error& e) {
    fail("{}: not valid JSON (byte {}): {}", origin, e.byte, e.what());
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", origin, e.what());
  }
  expect(j.is_object() && j.contains("model") && j["model"].is_object(), origin, "no \"model\" object");
  const json& model = j["model"];
  expect(model.value("type", "BPE") == "BPE", origin, "model type is not BPE");
  expect(is_null_or_false(model, "byte_fallback"), origin, "model.byte_fallback is set");
  expect(is_null_or_empty(model, "continuing_subword_prefix") && is_null_or_empty(model, "end_of_word_suffix"), origin,
         "continuing_subword_prefix / end_of_word_suffix are set");
  expect(model.contains("vocab") && model["vocab"].is_object(), origin, "model.vocab is not an object");
  expect(model.contains("merges") && model["merges"].is_array(), origin, "model.merges is not an array");

  Tokenizer t;
  Impl& m = *t.impl_;
  m.ignore_merges = model.contains("ignore_merges") && model["ignore_merges"].is_boolean() && model["ignore_merges"].get<bool>();
  // normalizer: NFC or none.
  const json norm = j.value("normalizer", json());
  if (norm.is_null()) m.nfc = false;
  else expect(norm.value("type", "") == "NFC", origin, "normalizer is neither NFC nor null");
  // pre_tokenizer: Sequence[Split(Qwen2 regex, Isolated), ByteLevel(use_regex false)].
  const json pre = j.value("pre_tokenizer", json());
  bool pre_ok = false;
  if (pre.is_object() && pre.value("type", "") == "Sequence" && pre.contains("pretokenizers")) {
    const json& seq = pre["pretokenizers"];
    if (seq.is_array() && seq.size() == 2 && seq[0].value("type", "") == "Split" && is_byte_level(seq[1])) {
      const json& split = seq[0];
      pre_ok = split.contains("pattern") && split["pattern"].is_object() &&
               split["pattern"].value("Regex", "") == kQwen2Pattern && split.value("behavior", "") == "Isolated" &&
               !split.value("invert", false) && !seq[1].value("use_regex", true) &&
               !seq[1].value("add_prefix_space", false);
    }
  }
  // GPT-2 style: ByteLevel alone, splitting with its built-in GPT-2 regex.
  if (!pre_ok && is_byte_level(pre) && pre.value("use_regex", true) && !pre.value("add_prefix_space", false)) {
    pre_ok = true;
    m.split = SplitRule::kGpt2;
  }
  expect(pre_ok, origin,
         "pre_tokenizer must be Sequence[Split(Qwen2 regex, Isolated), ByteLevel(add_prefix_space=false, "
         "use_regex=false)] or GPT-2's ByteLevel(add_prefix_space=false, use_regex=true)");
  const json dec = j.value("decoder", json());
  expect(dec.is_null() || is_byte_level(dec), origin, "decoder is not ByteLevel");

  const bool has_added = j.contains("added_tokens") && !j["added_tokens"].is_null();
  expect(!has_added || j["added_tokens"].is_array(), origin, "added_tokens is not an array");
  // Ids run from 0 without gaps (checked at the end), so no id reaches the number of
  // entries; checking that first keeps a hostile id from allocating gigabytes.
  const int64_t id_end = std::min<int64_t>(
      kMaxId, static_cast<int64_t>(model["vocab"].size() + (has_added ? j["added_tokens"].size() : 0)));
  std::string bytes;
  for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
    expect(it.value().is_number_integer(), origin, "vocab value is not an integer");
    int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= id_end)
      fail("{}: vocab id {} of token {} is out of range [0, {}) (ids run from 0 without gaps)", origin, id,
           quote(it.key()), id_end);
    if (it.key().empty()) fail("{}: vocab id {} has an empty token", origin, id);
    if (!byte_level_to_bytes(it.key(), bytes))
      fail("{}: vocab token {} is not in the byte-level alphabet", origin, quote(it.key()));
    if (static_cast<size_t>(id) < m.token_str.size() && !m.token_str[id].empty())
      fail("{}: vocab id {} is used twice ({} and {})", origin, id, quote(m.token_str[id]), quote(it.key()));
    m.set_token(static_cast<int32_t>(id), it.key(), bytes);
    m.str_to_id.emplace(it.key(), static_cast<int32_t>(id));
    m.bytes_to_id.emplace(bytes, static_cast<int32_t>(id));
  }
  size_t rank = 0;
  for (const json& mj : model["merges"]) {
    std::string l, r;
    if (mj.is_string()) {
      const std::string& s = mj.get_ref<const std::string&>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        fail("{}: merge {} is not two tokens separated by one space", origin, rank);
      l = s.substr(0, sp);
      r = s.substr(sp + 1);
    } else if (mj.is_array() && mj.size() == 2 && mj[0].is_string() && mj[1].is_string()) {
      l = mj[0].get<std::string>();
      r = mj[1].get<std::string>();
    } else {
      fail("{}: merge {} is neither \"a b\" nor [\"a\", \"b\"]", origin, rank);
    }
    auto li = m.str_to_id.find(l), ri = m.str_to_id.find(r), res = m.str_to_id.find(l + r);
    if (li == m.str_to_id.end() || ri == m.str_to_id.end() || res == m.str_to_id.end())
      fail("{}: merge {} ({} {}) uses a token missing from the vocabulary", origin, rank, quote(l), quote(r));
    m.merges.push_back(Merge{li->second, ri->second, res->second});
    ++rank;
  }
  if (has_added) {
    for (const json& a : j["added_tokens"]) {
      expect(a.is_object() && a.contains("id") && a.contains("content"), origin, "added token without id/content");
      expect(a["id"].is_number_integer() && a["content"].is_string(), origin, "added token id/content of the wrong type");
      std::string content = a["content"].get<std::string>();
      int64_t id64 = a["id"].get<int64_t>();
      if (id64 < 0 || id64 >= id_end)
        fail("{}: added token {} has id {}, out of range [0, {}) (ids run from 0 without gaps)", origin,
             quote(content), a["id"].dump(), id_end);
      int32_t id = static_cast<int32_t>(id64);
      if (content.empty()) fail("{}: added token {} has empty content", origin, id);
      expect(!a.contains("special") || a["special"].is_boolean(), origin, "added token special is not a boolean");
      bool special = a.value("special", false);
      for (const AddedToken& b : m.added) {
        if (b.id == id) fail("{}: added tokens {} and {} both have id {}", origin, quote(b.content), quote(content), id);
        if (b.content == content)
          fail("{}: added token {} appears twice (ids {} and {})", origin, quote(content), b.id, id);
      }
      if (static_cast<size_t>(id) < m.token_str.size() && !m.token_str[id].empty() && m.token_str[id] != content)
        fail("{}: added token {} has id {} which the vocabulary gives to {}", origin, quote(content), id,
             quote(m.token_str[id]));
      if (auto v = m.str_to_id.find(content); v != m.str_to_id.end() && v->second != id)
        fail("{}: added token {} has id {} but the vocabulary gives it id {}", origin, quote(content), id, v->second);
      m.set_token(id, content, content);
      m.special[id] = special;
      m.str_to_id[content] = id;
      m.added.push_back(AddedToken{id, content, special});
    }
  }
  for (size_t id = 0; id < m.token_str.size(); ++id)
    if (m.token_str[id].empty())
      fail("{}: no token has id {}, yet {} has id {}; ids must run from 0 without gaps", origin, id,
           quote(m.token_str.back()), m.token_str.size() - 1);
  m.finish(origin);
  return t;
} catch (const json::exception& e) {
  fail("{}: unsupported tokenizer.json: {}", origin, e.what());
}

Tokenizer Tokenizer::load(const std::string& path) {
  bool dir = std::filesystem::is_directory(path);
  std::string file = dir ? path + "/tokenizer.json" : path;
  Tokenizer t = from_json(read_file(file), file);
  // A foreign directory (e.g. Qwen2's) names its BOS/EOS/PAD in tokenizer_config.json.
  std::string cfg_path = dir ? path + "/tokenizer_config.json" : "";
  if (dir && std::filesystem::exists(cfg_path)) {
    json cfg;
    try {
      cfg = json::parse(read_file(cfg_path));
    } catch (const json::parse_error& e) {
      fail("{}: not valid JSON (byte {}): {}", cfg_path, e.byte, e.what());
    } catch (const json::exception& e) {
      fail("{}: not valid JSON: {}", cfg_path, e.what());
    }
    SpecialIds& ids = t.impl_->ids;
    auto pick = [&](int32_t& slot, const char* key) {
      std::string name = config_token(cfg, key);
      if (slot < 0 && !name.empty()) slot = t.token_to_id(name);
    };
    pick(ids.bos, "bos_token");
    pick(ids.eot, "eos_token");
    pick(ids.pad, "pad_token");
  }
  return t;
}

void Tokenizer::save(const std::string& dir, int model_max_length) const {
  const Impl& m = *impl_;
  make_dirs(dir);
  auto name = [&](int32_t id) { return id >= 0 ? json(m.token_str[id]) : json(); };
  json added_decoder = json::object();
  json extra = json::array();
  for (const auto& t : m.added) {
    added_decoder[std::to_string(t.id)] = {{"content", t.content}, {"lstrip", false}, {"normalized", false},
                                           {"rstrip", false},      {"single_word", false}, {"special", t.special}};
    if (t.special && t.id != m.ids.bos && t.id != m.ids.eot && t.id != m.ids.pad) extra.push_back(t.content);
  }
  std::string bot = m.ids.bot >= 0 ? m.token_str[m.ids.bot] : "";
  std::string eot = m.ids.eot >= 0 ? m.token_str[m.ids.eot] : "";
  std::string think = m.ids.think >= 0 ? m.token_str[m.ids.think] : "";
  std::string think_end = m.ids.think_end >= 0 ? m.token_str[m.ids.think_end] : "";
  // <|BOT|>{role}\n{content}<|EOT|>; assistant reasoning goes first inside <think>...</think>.
  // The generation prompt steers thinking: enable_thinking false closes an empty
  // <think></think> (answer directly), true opens <think> (reason first), absent leaves
  // the choice to the model.
  std::string chat_template =
      "{% for message in messages %}{{ '" + bot + "' + message['role'] + '\\n' }}" +
      (think.empty() ? std::string()
                     : "{% if message['reasoning_content'] is defined and message['reasoning_content'] %}{{ '" + think +
                           "' + message['reasoning_content'] + '" + think_end + "' }}{% endif %}") +
      "{{ message['content'] + '" + eot + "' }}{% endfor %}"
      "{% if add_generation_prompt %}{{ '" + bot + "assistant\\n' }}" +
      (think.empty() ? std::string()
                     : "{% if enable_thinking is defined %}{% if enable_thinking %}{{ '" + think +
                           "' }}{% else %}{{ '" + think + think_end + "' }}{% endif %}{% endif %}") +
      "{% endif %}";
  json config = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                 {"bos_token", name(m.ids.bos)},
                 {"eos_token", name(m.ids.eot)},
                 {"pad_token", name(m.ids.pad)},
                 {"unk_token", nullptr},
                 {"additional_special_tokens", extra},
                 {"added_tokens_decoder", added_decoder},
                 {"add_bos_token", false},
                 {"add_eos_token", false},
                 {"clean_up_tokenization_spaces", false},
                 {"model_max_length", model_max_length},
                 {"chat_template", chat_template}};
  json special_map = {{"bos_token", name(m.ids.bos)},
                      {"eos_token", name(m.ids.eot)},
                      {"pad_token", name(m.ids.pad)},
                      {"additional_special_tokens", extra}};
  write_file_atomic(dir + "/tokenizer.json", to_json());
  write_file_atomic(dir + "/tokenizer_config.json", config.dump(2) + "\n");
  write_file_atomic(dir + "/special_tokens_map.json", special_map.dump(2) + "\n");
}

}  // namespace kormo::tok
