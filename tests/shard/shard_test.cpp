#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "kormo/shard/docs.h"
#include "kormo/shard/loader.h"
#include "kormo/shard/reader.h"
#include "kormo/shard/writer.h"
#include "kormo/tok/trainer.h"
#include "kormo/util/error.h"

using namespace kormo::shard;
namespace fs = std::filesystem;

namespace shard_test {
std::string tmp_dir() {
  auto d = fs::temp_directory_path() / ("kormo_shard_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d.string();
}

std::string make_shard(const std::string& path, uint32_t vocab, int ndocs, int base, uint8_t lang) {
  std::vector<std::vector<int32_t>> docs;
  std::vector<DocInfo> infos;
  for (int d = 0; d < ndocs; ++d) {
    std::vector<int32_t> t;
    for (int i = 0; i < 5 + d % 7; ++i) t.push_back((base + d * 13 + i) % static_cast<int>(vocab));
    infos.push_back({static_cast<uint64_t>(3 * t.size()), 7, lang, static_cast<uint8_t>(d % 2)});
    docs.push_back(std::move(t));
  }
  write_shard(path, vocab, docs, infos);
  return path;
}

// Two weighted sources: 60 Korean and 40 English documents.
std::vector<SourceSpec> ko_en_sources() {
  std::string dir = tmp_dir();
  return {{"ko", {make_shard(dir + "/ko.ktok", 300, 60, 1, 1)}, 3.0},
          {"en", {make_shard(dir + "/en.ktok", 300, 40, 100, 2)}, 1.0}};
}

LoaderOptions small_batches(uint64_t seed) {
  LoaderOptions o;
  o.batch_size = 2;
  o.seq_len = 16;
  o.seed = seed;
  o.val_fraction = 0.1;
  return o;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

template <class T>
void put_le(std::string& s, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) s.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
}

std::vector<uint8_t> mask_of(const ShardReader& r) {
  std::vector<uint8_t> m(r.num_tokens());
  r.copy_mask(0, m.size(), m.data());
  return m;
}

// loss_weight is 1 exactly where the target is trained on.
void expect_weights_match_targets(const LoadedBatch& b) {
  ASSERT_EQ(b.loss_weight.size(), b.batch.targets.size());
  for (size_t n = 0; n < b.loss_weight.size(); ++n)
    EXPECT_EQ(b.loss_weight[n], b.batch.targets[n] >= 0 ? 1.f : 0.f) << "position " << n;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const kormo::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Shard, RoundTripBothWidths) {
  std::string dir = tmp_dir();
  for (uint32_t vocab : {1000u, 100000u}) {
    std::string p = dir + "/rt.ktok";
    write_shard(p, vocab, {{1, 2, 3}, {}, {999, 0}}, {{9, 1, 1, 1}, {0, 0, 0, 0}, {4, 2, 2, 0}});
    ShardReader r(p);
    EXPECT_EQ(r.token_width(), vocab <= 65536 ? 2u : 4u);
    EXPECT_EQ(r.num_docs(), 3u);
    EXPECT_EQ(r.num_tokens(), 5u);
    EXPECT_EQ(r.doc_length(1), 0u);
    EXPECT_EQ(r.token(3), 999);
    EXPECT_EQ(r.doc_info(0).text_bytes, 9u);
    EXPECT_EQ(r.doc_info(0).flags, kFlagSynthetic);
    EXPECT_EQ(r.doc_info(2).lang, 2);
  }
}

TEST(Shard, BadFilesGiveClearErrors) {
  std::string dir = tmp_dir();
  std::string p = make_shard(dir + "/ok.ktok", 500, 4, 0, 1);
  std::string bytes = read_bytes(p);
  auto write = [&](const std::string& name, const std::string& b) { return write_bytes(dir + "/" + name, b); };
  std::string trunc = write("trunc.ktok", bytes.substr(0, bytes.size() - 5));
  EXPECT_NE(error_of([&] { ShardReader r(trunc); }).find("truncated shard"), std::string::npos);
  std::string v3 = bytes;
  v3[4] = 3;
  std::string wrong = write("v3.ktok", v3);
  EXPECT_NE(error_of([&] { ShardReader r(wrong); }).find("unsupported shard version 3 at offset 4"), std::string::npos);
  std::string big = bytes;
  big[64] = static_cast<char>(0xff), big[65] = static_cast<char>(0xff);  // token 0 = 65535 ≥ 500
  std::string bad = write("badtok.ktok", big);
  std::string e = error_of([&] { ShardReader r(bad); });
  EXPECT_NE(e.find("badtok.ktok: token id 65535 at byte offset 64"), std::string::npos) << e;
  EXPECT_THROW(write_shard(dir + "/x.ktok", 10, {{3, 10}}, {{}}), kormo::Error);
}

TEST(Shard, LossMaskRoundTrip) {
  std::string dir = tmp_dir();
  std::string p = dir + "/mask.ktok";
  ShardWriter w(p, 100);
  w.add({1, 2, 3}, {3, 0, 1, 0});
  const std::vector<uint8_t> m = {1, 0, 0, 1};
  w.add({4, 5, 6, 7}, {4, 0, 2, 0}, m);
  w.add({8, 9}, {2, 0, 2, 0});
  w.finish();
  ShardReader r(p);
  EXPECT_EQ(r.version(), 2u);
  ASSERT_TRUE(r.has_mask());
  EXPECT_EQ(mask_of(r), (std::vector<uint8_t>{1, 1, 1, 1, 0, 0, 1, 1, 1}));
  std::vector<uint8_t> part(3);
  r.copy_mask(4, 3, part.data());
  EXPECT_EQ(part, (std::vector<uint8_t>{0, 0, 1}));
  EXPECT_EQ(r.token(5), 6);
  // header flags, section at the end, padded to 8 bytes
  std::string bytes = read_bytes(p);
  EXPECT_EQ(bytes[32], 1);
  EXPECT_EQ(bytes.size(), 64 + 24 + 8 * 4 + 16 * 3 + 16u);

  // A mask of all ones is no mask: no section, flags 0.
  std::string q = dir + "/ones.ktok";
  ShardWriter ones(q, 100);
  const std::vector<uint8_t> all = {1, 1};
  ones.add({1, 2}, {}, all);
  ones.finish();
  ShardReader ro(q);
  EXPECT_FALSE(ro.has_mask());
  EXPECT_EQ(mask_of(ro), all);
  EXPECT_EQ(read_bytes(q)[32], 0);

  ShardWriter bad(dir + "/bad.ktok", 100);
  const std::vector<uint8_t> two = {1, 2}, short_mask = {1};
  EXPECT_NE(error_of([&] { bad.add({1, 2}, {}, two); }).find("loss-mask byte 1 is 2"), std::string::npos);
  EXPECT_NE(error_of([&] { bad.add({1, 2}, {}, short_mask); }).find("2 tokens but 1 loss-mask bytes"),
            std::string::npos);
}

TEST(Shard, Version1StillReadable) {
  // A version-1 file written byte by byte: 3 tokens in one document, no flags, no mask.
  std::string b(kMagic, 4);
  put_le<uint32_t>(b, 1);
  put_le<uint32_t>(b, 100);
  put_le<uint32_t>(b, 2);
  put_le<uint64_t>(b, 3);
  put_le<uint64_t>(b, 1);
  b.append(32, '\0');
  for (uint16_t t : {7, 8, 9}) put_le<uint16_t>(b, t);
  b.append(2, '\0');
  put_le<uint64_t>(b, 0);
  put_le<uint64_t>(b, 3);
  put_le<uint64_t>(b, 6);  // text bytes
  put_le<uint32_t>(b, 5);  // source
  b.append({'\2', '\0', '\0', '\0'});
  std::string p = write_bytes(tmp_dir() + "/v1.ktok", b);
  ShardReader r(p);
  EXPECT_EQ(r.version(), 1u);
  EXPECT_FALSE(r.has_mask());
  EXPECT_EQ(mask_of(r), (std::vector<uint8_t>{1, 1, 1}));
  EXPECT_EQ(r.token(2), 9);
  EXPECT_EQ(r.doc_info(0).source_id, 5u);
  EXPECT_EQ(r.doc_info(0).lang, 2);
  LoaderOptions o;
  o.seq_len = 2;
  DataLoader l({{"v1", {p}, 1.0}}, o);
  auto lb = l.next_train();
  EXPECT_EQ(lb.batch.targets, (std::vector<int32_t>{8, 9}));
  EXPECT_EQ(lb.loss_weight, (std::vector<float>{1, 1}));
}

TEST(Shard, CorruptMaskSectionRejected) {
  std::string dir = tmp_dir();
  std::string p = dir + "/m.ktok";
  ShardWriter w(p, 100);
  const std::vector<uint8_t> m = {1, 0, 1};
  w.add({1, 2, 3}, {}, m);
  w.finish();
  const std::string bytes = read_bytes(p);
  const uint64_t mask_pos = 64 + 8 + 16 + 16;
  ASSERT_EQ(bytes.size(), mask_pos + 8);
  auto error_for = [&](const std::string& name, const std::string& b) {
    std::string path = write_bytes(dir + "/" + name, b);
    return error_of([&] { ShardReader r(path); });
  };
  std::string e = error_for("cut.ktok", bytes.substr(0, mask_pos));
  EXPECT_NE(e.find("cut.ktok: truncated shard: 104 bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("a loss-mask section at offset 104) implies 112"), std::string::npos) << e;
  std::string seven = bytes;
  seven[mask_pos + 2] = 7;
  e = error_for("seven.ktok", seven);
  EXPECT_NE(e.find("seven.ktok: loss-mask byte 7 at byte offset 106 is not 0 or 1"), std::string::npos) << e;
  std::string unflagged = bytes;
  unflagged[32] = 0;
  e = error_for("unflagged.ktok", unflagged);
  EXPECT_NE(e.find("unflagged.ktok: corrupt shard: 8 trailing bytes after offset 104"), std::string::npos) << e;
  std::string unknown = bytes;
  unknown[32] = 3;
  e = error_for("unknown.ktok", unknown);
  EXPECT_NE(e.find("unknown.ktok: unknown header flags 0x3 at offset 32"), std::string::npos) << e;
  std::string pad = bytes;
  pad[mask_pos + 6] = 1;
  e = error_for("maskpad.ktok", pad);
  EXPECT_NE(e.find("maskpad.ktok: padding byte at byte offset 110 after the loss-mask section is 0x01"),
            std::string::npos)
      << e;
}

// Every header field and section is checked against its range; the error names the
// file and the byte offset. Layout of the 4-document shard below (26 two-byte tokens):
// tokens 64..115, padding 116..119, offsets 120..159, doc infos 160..223.
TEST(Shard, CorruptHeaderFieldsAndSectionsNameTheOffset) {
  std::string dir = tmp_dir();
  const std::string bytes = read_bytes(make_shard(dir + "/hdr.ktok", 500, 4, 0, 1));
  ASSERT_EQ(bytes.size(), 224u);
  auto error_for = [&](const std::string& name, std::string b, uint64_t at, const std::string& value) {
    b.replace(at, value.size(), value);
    std::string path = write_bytes(dir + "/" + name, b);
    return error_of([&] { ShardReader r(path); });
  };
  auto u32 = [](uint32_t v) { std::string s; put_le<uint32_t>(s, v); return s; };
  auto u64 = [](uint64_t v) { std::string s; put_le<uint64_t>(s, v); return s; };
  struct Case {
    const char* name;
    uint64_t at;
    std::string value, expect;
  };
  const std::vector<Case> cases = {
      {"reserved.ktok", 40, "\x01", "reserved.ktok: reserved header byte at offset 40 is 0x01, expected 0"},
      {"reserved_last.ktok", 63, "\xff", "reserved header byte at offset 63 is 0xff"},
      {"v0.ktok", 4, u32(0), "unsupported shard version 0 at offset 4"},
      {"vhuge.ktok", 4, u32(0xffffffff), "unsupported shard version 4294967295 at offset 4"},
      {"vocab0.ktok", 8, u32(0), "vocab size 0 at offset 8 is outside [1, 2147483648]"},
      {"vocabbig.ktok", 8, u32(0x80000001), "vocab size 2147483649 at offset 8 is outside [1, 2147483648]"},
      {"vocabwide.ktok", 8, u32(70000), "vocab size 70000 at offset 8 does not fit token width 2"},
      {"width.ktok", 12, u32(3), "bad token width 3 at offset 12"},
      {"ntok_huge.ktok", 16, u64(~uint64_t{0}), "header counts (18446744073709551615 tokens, 4 docs) exceed"},
      {"ntok_more.ktok", 16, u64(40), "truncated shard: 224 bytes, the header (offset 16: 40 tokens, 4 docs) implies"},
      {"ntok_less.ktok", 16, u64(20), "corrupt shard: 16 trailing bytes after offset 208"},
      {"ndocs.ktok", 24, u64(5), "truncated shard: 224 bytes, the header (offset 16: 26 tokens, 5 docs) implies 248"},
      {"off0.ktok", 120, u64(1), "document offset 0 = 1 at byte offset 120 is out of order or range"},
      {"order.ktok", 128, u64(12), "document offset 2 = 11 at byte offset 136 is out of order or range"},
      {"offend.ktok", 152, u64(25), "document offset 4 = 25 at byte offset 152 is out of order or range"},
      {"tokpad.ktok", 117, "\x01", "padding byte at byte offset 117 after the token section is 0x01, expected 0"},
      {"lang.ktok", 160 + 16 + 12, "\x09", "document 1 has language id 9 at byte offset 188 (expected 0..3)"},
      {"docflags.ktok", 160 + 13, "\x02", "document 0 has unknown flags 0x2 at byte offset 173"},
      {"docreserved.ktok", 160 + 48 + 15, "\x01", "document 3 reserved bytes at byte offset 222 are not zero"},
  };
  for (const Case& c : cases) {
    const std::string e = error_for(c.name, bytes, c.at, c.value);
    EXPECT_NE(e.find(c.name), std::string::npos) << c.name << ": " << e;
    EXPECT_NE(e.find(c.expect), std::string::npos) << c.name << ": " << e;
  }
  // Version 1 has no flags word: bytes 32..63 are all reserved.
  std::string v1 = bytes;
  v1[4] = 1;
  EXPECT_EQ(error_for("v1_ok.ktok", v1, 0, "K"), "");
  EXPECT_NE(error_for("v1_reserved.ktok", v1, 33, "\x01").find("reserved header byte at offset 33"), std::string::npos);
}

TEST(Shard, MaskSpansFromDocumentsOnARealTokenizer) {
  using namespace kormo::tok;
  const std::string dir = tmp_dir();
  {
    const std::string alice =
        std::string(KORMO_SHARED_DATA) + "/corpora/en/gutenberg/Alice-s-Adventures-in-Wonderland_11.txt";
    CorpusOptions co;
    co.threads = 1;
    WordCounts wc = count_words({alice}, co);
    BpeOptions bo;
    bo.vocab_size = 400;
    train_bpe(std::move(wc), bo).save(dir + "/tok");
  }
  const Tokenizer t = Tokenizer::load(dir + "/tok");
  const SpecialIds sp = t.special_ids();
  ASSERT_GE(sp.think, 0);
  ASSERT_GE(sp.think_end, 0);
  const std::vector<std::string> texts = {
      "Alice was <think>a rabbit? no</think> beginning to get tired",  // one span
      "no spans here, and <|EOT|> is only text",                       // other specials stay text
      "</think> closes nothing; <think>but this never closes",        // stray close, unclosed span
  };
  {
    std::ofstream f(dir + "/docs.jsonl");
    for (const auto& text : texts) f << nlohmann::json{{"text", text}, {"lang", "en"}}.dump() << "\n";
  }
  DocsShardOptions o;
  o.inputs = {dir + "/docs.jsonl"};
  o.tokenizer = dir + "/tok";
  o.out_path = dir + "/think.ktok";
  o.mask_spans = {{"<think>", "</think>"}};
  DocsShardSummary sum = shard_from_docs(o);
  ShardReader r(o.out_path);
  ASSERT_EQ(r.num_docs(), 3u);
  ASSERT_TRUE(r.has_mask());
  // Expected ids and mask, part by part: markers become their special ids, everything
  // else is encoded as plain text.
  struct Part {
    std::vector<int32_t> ids;
    uint8_t mask;
  };
  auto doc = [](const std::vector<Part>& parts) {
    std::pair<std::vector<int32_t>, std::vector<uint8_t>> out;
    for (const Part& p : parts) {
      out.first.insert(out.first.end(), p.ids.begin(), p.ids.end());
      out.second.insert(out.second.end(), p.ids.size(), p.mask);
    }
    return out;
  };
  auto enc = [&](const std::string& s) { return t.encode(s); };
  const std::vector<std::pair<std::vector<int32_t>, std::vector<uint8_t>>> want = {
      doc({{{sp.bos}, 1},
           {enc("Alice was "), 1},
           {{sp.think}, 0},
           {enc("a rabbit? no"), 0},
           {{sp.think_end}, 0},
           {enc(" beginning to get tired"), 1},
           {{sp.eot}, 1}}),
      doc({{{sp.bos}, 1}, {enc(texts[1]), 1}, {{sp.eot}, 1}}),
      doc({{{sp.bos}, 1},
           {{sp.think_end}, 1},
           {enc(" closes nothing; "), 1},
           {{sp.think}, 0},
           {enc("but this never closes"), 0},
           {{sp.eot}, 0}}),
  };
  const std::vector<uint8_t> mask = mask_of(r);
  uint64_t masked = 0;
  for (uint64_t d = 0; d < 3; ++d) {
    std::vector<int32_t> ids(r.doc_length(d));
    r.copy_tokens(r.doc_begin(d), ids.size(), ids.data());
    EXPECT_EQ(ids, want[d].first) << "document " << d;
    std::vector<uint8_t> m(mask.begin() + r.doc_begin(d), mask.begin() + r.doc_begin(d + 1));
    EXPECT_EQ(m, want[d].second) << "document " << d;
    masked += std::count(m.begin(), m.end(), 0);
  }
  EXPECT_EQ(std::count(want[1].first.begin(), want[1].first.end(), sp.eot), 1);  // "<|EOT|>" stayed text
  EXPECT_EQ(sum.masked_tokens, masked);

  // The loader ignores exactly the targets whose mask is 0.
  LoaderOptions lo;
  lo.seq_len = static_cast<int64_t>(r.doc_length(0)) - 1;
  o.inputs = {dir + "/one.jsonl"};
  o.out_path = dir + "/one.ktok";
  std::ofstream(o.inputs[0]) << nlohmann::json{{"text", texts[0]}}.dump() << "\n";
  shard_from_docs(o);
  DataLoader l({{"one", {o.out_path}, 1.0}}, lo);
  LoadedBatch lb = l.next_train();
  for (int64_t n = 0; n < lo.seq_len; ++n)
    EXPECT_EQ(lb.batch.targets[n], want[0].second[n + 1] ? want[0].first[n + 1] : -100) << "position " << n;
  expect_weights_match_targets(lb);

  // Without mask spans the marker text is plain text and the shard has no mask.
  o.mask_spans.clear();
  o.out_path = dir + "/plain.ktok";
  shard_from_docs(o);
  ShardReader plain(o.out_path);
  EXPECT_FALSE(plain.has_mask());
  for (uint64_t i = 0; i < plain.num_tokens(); ++i) EXPECT_NE(plain.token(i), sp.think);

  // Markers must be special tokens of the tokenizer; nothing is written otherwise.
  o.out_path = dir + "/absent.ktok";
  for (const char* name : {"<nope>", "a"}) {
    o.mask_spans = {{"<think>", name}};
    std::string e = error_of([&] { shard_from_docs(o); });
    EXPECT_NE(e.find(std::string("'") + name + "' is not a special token of the tokenizer"), std::string::npos) << e;
  }
  EXPECT_FALSE(fs::exists(o.out_path));
}

TEST(Loader, DeterministicResumableAndSplit) {
  const std::vector<SourceSpec> src = ko_en_sources();
  const LoaderOptions o = small_batches(42);
  DataLoader a(src, o), b(src, o);
  EXPECT_GT(a.val_docs(), 0u);
  EXPECT_EQ(a.train_docs() + a.val_docs(), 100u);
  for (int i = 0; i < 3; ++i) a.next_train();
  auto st = a.state();
  std::vector<std::vector<int32_t>> expect;
  for (int i = 0; i < 20; ++i) expect.push_back(a.next_train().batch.inputs);
  b.restore(st);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(b.next_train().batch.inputs, expect[i]) << "batch " << i;
  // Targets: the next token inside a document, -100 across a document boundary.
  auto lb = a.next_train();
  const auto& bt = lb.batch;
  int boundaries = 0;
  for (int64_t t = 0; t + 1 < bt.T; ++t) {
    if (bt.doc[t + 1] != bt.doc[t]) {
      EXPECT_EQ(bt.targets[t], -100);
      ++boundaries;
    } else {
      EXPECT_EQ(bt.targets[t], bt.inputs[t + 1]);
      EXPECT_FLOAT_EQ(lb.target_bytes[t], 3.f);
    }
  }
  EXPECT_GT(boundaries, 0);
  expect_weights_match_targets(lb);
  auto val = a.validation(1000);
  ASSERT_FALSE(val.empty());
  EXPECT_EQ(val[0].batch.B, 2);
  for (const auto& vb : val) expect_weights_match_targets(vb);
}

TEST(Loader, MaskedTokensAndPaddingAreIgnored) {
  std::string dir = tmp_dir();
  std::string p = dir + "/masked.ktok";
  // 40 … 41 play the span markers: masked, both included.
  const std::vector<int32_t> toks = {1, 5, 6, 40, 7, 8, 41, 9, 10, 11, 0, 0, 12, 13, 14, 15, 16, 17, 18};
  const std::vector<uint8_t> mask = {1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  ShardWriter w(p, 50);
  w.add(toks, {19, 0, 1, 0}, mask);
  w.finish();
  LoaderOptions o;
  o.seq_len = 18;
  o.pad_id = 0;
  DataLoader l({{"s", {p}, 1.0}}, o);
  LoadedBatch lb = l.next_train();
  std::vector<int32_t> want = {5, 6, -100, -100, -100, -100, 9, 10, 11, -100, -100, 12, 13, 14, 15, 16, 17, 18};
  EXPECT_EQ(lb.batch.targets, want);
  expect_weights_match_targets(lb);
}

TEST(Loader, RankSlicesConcatenateToTheGlobalBatch) {
  const std::vector<SourceSpec> src = ko_en_sources();
  const LoaderOptions o = small_batches(7);
  const int64_t rows = o.batch_size * o.seq_len;  // positions per rank
  for (int world : {2, 3}) {
    LoaderOptions go = o;
    go.batch_size = world * o.batch_size;
    DataLoader global(src, go);
    std::vector<std::unique_ptr<DataLoader>> ranks;
    for (int r = 0; r < world; ++r) {
      LoaderOptions ro = o;
      ro.rank = r, ro.world = world;
      ranks.push_back(std::make_unique<DataLoader>(src, ro));
    }
    // A rank's batch is its slice of the global batch, in every field.
    auto check_step = [&](DataLoader& g, std::vector<std::unique_ptr<DataLoader>>& rs, int step) {
      LoadedBatch want = g.next_train();
      for (int r = 0; r < world; ++r) {
        LoadedBatch got = rs[r]->next_train();
        ASSERT_EQ(got.batch.B, o.batch_size);
        auto slice = [&](const auto& v) {
          return std::vector<std::decay_t<decltype(v[0])>>(v.begin() + r * rows, v.begin() + (r + 1) * rows);
        };
        SCOPED_TRACE("world " + std::to_string(world) + " rank " + std::to_string(r) + " step " + std::to_string(step));
        EXPECT_EQ(got.batch.inputs, slice(want.batch.inputs));
        EXPECT_EQ(got.batch.targets, slice(want.batch.targets));
        EXPECT_EQ(got.batch.doc, slice(want.batch.doc));
        EXPECT_EQ(got.lang, slice(want.lang));
        EXPECT_EQ(got.target_bytes, slice(want.target_bytes));
        EXPECT_EQ(got.loss_weight, slice(want.loss_weight));
      }
    };
    for (int step = 0; step < 3; ++step) check_step(global, ranks, step);
    // state() is the global position: the same on every rank and in the global loader,
    // so fresh ranks restored from it continue exactly.
    const nlohmann::json st = global.state();
    std::vector<std::unique_ptr<DataLoader>> resumed;
    for (int r = 0; r < world; ++r) {
      EXPECT_EQ(ranks[r]->state(), st) << "rank " << r;
      LoaderOptions ro = o;
      ro.rank = r, ro.world = world;
      resumed.push_back(std::make_unique<DataLoader>(src, ro));
      resumed.back()->restore(st);
    }
    for (int step = 3; step < 6; ++step) check_step(global, resumed, step);
  }
  LoaderOptions bad = o;
  bad.rank = 2, bad.world = 2;
  EXPECT_NE(error_of([&] { DataLoader l(src, bad); }).find("rank 2 is outside a world of 2"), std::string::npos);
}

TEST(Loader, MixtureFollowsSourceWeights) {
  std::string dir = tmp_dir();
  std::vector<SourceSpec> src = {{"ko", {make_shard(dir + "/mko.ktok", 300, 200, 1, 1)}, 3.0},
                                 {"en", {make_shard(dir + "/men.ktok", 300, 200, 100, 2)}, 1.0}};
  LoaderOptions o;
  o.batch_size = 4;
  o.seq_len = 64;
  o.seed = 3;
  DataLoader l(src, o);
  double ko = 0, all = 0;
  for (int i = 0; i < 100; ++i) {
    auto b = l.next_train();
    for (size_t n = 0; n < b.lang.size(); ++n) ko += b.lang[n] == 1, all += 1;
  }
  EXPECT_NEAR(ko / all, 0.75, 0.05);
}

}  // namespace shard_test
