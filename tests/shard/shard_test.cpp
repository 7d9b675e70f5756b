#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "kormo/shard/loader.h"
#include "kormo/shard/reader.h"
#include "kormo/shard/writer.h"
#include "kormo/util/error.h"

using namespace kormo::shard;
namespace fs = std::filesystem;

namespace {
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

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const kormo::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

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
  std::string bytes;
  {
    std::ifstream f(p, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  auto write = [&](const std::string& name, const std::string& b) {
    std::ofstream(dir + "/" + name, std::ios::binary) << b;
    return dir + "/" + name;
  };
  std::string trunc = write("trunc.ktok", bytes.substr(0, bytes.size() - 5));
  EXPECT_NE(error_of([&] { ShardReader r(trunc); }).find("truncated shard"), std::string::npos);
  std::string v2 = bytes;
  v2[4] = 2;
  std::string wrong = write("v2.ktok", v2);
  EXPECT_NE(error_of([&] { ShardReader r(wrong); }).find("unsupported shard version 2 at offset 4"), std::string::npos);
  std::string big = bytes;
  big[64] = static_cast<char>(0xff), big[65] = static_cast<char>(0xff);  // token 0 = 65535 ≥ 500
  std::string bad = write("badtok.ktok", big);
  std::string e = error_of([&] { ShardReader r(bad); });
  EXPECT_NE(e.find("badtok.ktok: token id 65535 at byte offset 64"), std::string::npos) << e;
  EXPECT_THROW(write_shard(dir + "/x.ktok", 10, {{3, 10}}, {{}}), kormo::Error);
}

TEST(Loader, DeterministicResumableAndSplit) {
  std::string dir = tmp_dir();
  std::vector<SourceSpec> src = {{"ko", {make_shard(dir + "/ko.ktok", 300, 60, 1, 1)}, 3.0},
                                 {"en", {make_shard(dir + "/en.ktok", 300, 40, 100, 2)}, 1.0}};
  LoaderOptions o;
  o.batch_size = 2;
  o.seq_len = 16;
  o.seed = 42;
  o.val_fraction = 0.1;
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
  auto val = a.validation(1000);
  ASSERT_FALSE(val.empty());
  EXPECT_EQ(val[0].batch.B, 2);
}

TEST(Loader, ThinkSpansAndPaddingAreIgnored) {
  std::string dir = tmp_dir();
  std::string p = dir + "/think.ktok";
  write_shard(p, 50, {{1, 5, 6, 40, 7, 8, 41, 9, 10, 11, 0, 0, 12, 13, 14, 15, 16, 17, 18}}, {{19, 0, 1, 0}});
  LoaderOptions o;
  o.seq_len = 18;
  o.think_open_id = 40;
  o.think_close_id = 41;
  o.pad_id = 0;
  DataLoader l({{"s", {p}, 1.0}}, o);
  auto b = l.next_train().batch;
  std::vector<int32_t> want = {5, 6, -100, -100, -100, -100, 9, 10, 11, -100, -100, 12, 13, 14, 15, 16, 17, 18};
  EXPECT_EQ(b.targets, want);
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
