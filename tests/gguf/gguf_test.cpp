#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "../temp_dir.h"
#include "kormo/gguf/llama.h"
#include "kormo/gguf/writer.h"
#include "kormo/model/safetensors.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

using namespace kormo::gguf;

namespace gguf_test {

// An independent reader of the spec's layout, enough to check what Writer wrote.
struct Parsed {
  uint32_t version = 0;
  std::map<std::string, std::pair<uint32_t, std::string>> kv;  // key → (type, raw value bytes)
  struct Info {
    std::vector<uint64_t> ne;
    uint32_t type;
    uint64_t offset;
  };
  std::map<std::string, Info> tensors;
  std::vector<std::string> tensor_order;
  size_t data_start = 0;
  std::string bytes;
};

struct Cursor {
  const std::string& s;
  size_t at = 0;
  template <class T>
  T get() {
    if (at + sizeof(T) > s.size()) throw std::runtime_error("read past the end");
    T v;
    std::memcpy(&v, s.data() + at, sizeof(T));
    at += sizeof(T);
    return v;
  }
  std::string str() {
    auto n = get<uint64_t>();
    std::string r = s.substr(at, n);
    at += n;
    return r;
  }
  // Skips one value of type t, returning its bytes.
  std::string value(uint32_t t) {
    size_t from = at;
    static const std::map<uint32_t, size_t> fixed = {{0, 1}, {1, 1}, {2, 2}, {3, 2}, {4, 4}, {5, 4}, {6, 4},
                                                     {7, 1}, {10, 8}, {11, 8}, {12, 8}};
    if (t == 8) {
      str();
    } else if (t == 9) {
      auto et = get<uint32_t>();
      auto n = get<uint64_t>();
      for (uint64_t i = 0; i < n; ++i) value(et);
    } else {
      at += fixed.at(t);
    }
    return s.substr(from, at - from);
  }
};

Parsed parse(const std::string& path) {
  Parsed p;
  p.bytes = kormo::read_file(path);
  Cursor c{p.bytes};
  EXPECT_EQ(p.bytes.substr(0, 4), "GGUF");
  c.at = 4;
  p.version = c.get<uint32_t>();
  auto n_tensors = c.get<uint64_t>();
  auto n_kv = c.get<uint64_t>();
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string k = c.str();
    auto t = c.get<uint32_t>();
    p.kv[k] = {t, c.value(t)};
  }
  for (uint64_t i = 0; i < n_tensors; ++i) {
    std::string name = c.str();
    Parsed::Info info;
    auto nd = c.get<uint32_t>();
    for (uint32_t d = 0; d < nd; ++d) info.ne.push_back(c.get<uint64_t>());
    info.type = c.get<uint32_t>();
    info.offset = c.get<uint64_t>();
    p.tensors[name] = info;
    p.tensor_order.push_back(name);
  }
  p.data_start = (c.at + 31) / 32 * 32;
  return p;
}

template <class T>
T as(const std::string& raw) {
  T v;
  std::memcpy(&v, raw.data(), sizeof(T));
  return v;
}

class GgufTest : public TempDirTest {};

TEST_F(GgufTest, LayoutIsTheSpecs) {
  Writer w;
  w.set_u32("a.u32", 7);
  w.set_f32("a.f32", 0.5f);
  w.set_bool("a.bool", true);
  w.set_string("a.str", "서울");
  w.set_strings("a.strs", {"x", "yz"});
  w.set_i32s("a.ints", {-1, 3});
  std::vector<float> m = {1, 2, 3, 4, 5, 6}, v = {0.1f, 0.2f, 0.3f};
  w.add_tensor("m", {3, 2}, TensorType::kF32, m.data(), {1, 0});
  w.add_tensor("v", {3}, TensorType::kF16, v.data());
  const std::string path = (dir_ / "t.gguf").string();
  w.write(path);
  Parsed p = parse(path);
  EXPECT_EQ(p.version, 3u);
  ASSERT_EQ(p.kv.size(), 6u);
  EXPECT_EQ(p.kv["a.u32"].first, 4u);
  EXPECT_EQ(as<uint32_t>(p.kv["a.u32"].second), 7u);
  EXPECT_EQ(p.kv["a.f32"].first, 6u);
  EXPECT_EQ(as<float>(p.kv["a.f32"].second), 0.5f);
  EXPECT_EQ(p.kv["a.bool"].first, 7u);
  EXPECT_EQ(p.kv["a.bool"].second, std::string(1, '\1'));
  EXPECT_EQ(p.kv["a.str"].first, 8u);
  EXPECT_EQ(p.kv["a.str"].second.substr(8), "서울");
  EXPECT_EQ(as<uint64_t>(p.kv["a.str"].second), std::string("서울").size());
  // array: element type, count, elements
  EXPECT_EQ(p.kv["a.strs"].first, 9u);
  EXPECT_EQ(as<uint32_t>(p.kv["a.strs"].second), 8u);
  EXPECT_EQ(as<uint64_t>(p.kv["a.strs"].second.substr(4)), 2u);
  EXPECT_EQ(as<uint32_t>(p.kv["a.ints"].second), 5u);
  EXPECT_EQ(as<int32_t>(p.kv["a.ints"].second.substr(12)), -1);
  EXPECT_EQ(p.tensor_order, (std::vector<std::string>{"m", "v"}));
  EXPECT_EQ(p.tensors["m"].ne, (std::vector<uint64_t>{3, 2}));
  EXPECT_EQ(p.tensors["m"].type, 0u);
  EXPECT_EQ(p.tensors["m"].offset, 0u);
  EXPECT_EQ(p.tensors["v"].type, 1u);
  EXPECT_EQ(p.tensors["v"].offset, 32u);  // 24 bytes padded to the alignment
  // Rows reordered: stored row 0 is source row 1.
  std::vector<float> got(6);
  std::memcpy(got.data(), p.bytes.data() + p.data_start, 24);
  EXPECT_EQ(got, (std::vector<float>{4, 5, 6, 1, 2, 3}));
  uint16_t h;
  std::memcpy(&h, p.bytes.data() + p.data_start + 32 + 2, 2);
  EXPECT_EQ(h, kormo::model::float_to_f16(0.2f));
  EXPECT_EQ(p.bytes.size(), p.data_start + 32 + 32);  // the last tensor padded as well
}

TEST(Gguf, Q8BlockMath) {
  std::vector<float> x(32, 0.0f);
  x[0] = 2.54f;   // amax: scale 0.02
  x[1] = -1.27f;  // -63.5 → -64 (half away from zero)
  x[2] = 0.01f;   // 0.5 → 1
  x[3] = -0.01f;  // -0.5 → -1
  x[4] = 0.029f;  // 1.45 → 1
  std::vector<uint8_t> q(kQ8BlockBytes);
  quantize_q8_0(x.data(), 32, q.data());
  uint16_t dh;
  std::memcpy(&dh, q.data(), 2);
  EXPECT_EQ(dh, kormo::model::float_to_f16(2.54f / 127.0f));
  auto qs = reinterpret_cast<const int8_t*>(q.data() + 2);
  EXPECT_EQ(qs[0], 127);
  EXPECT_EQ(qs[1], -64);
  EXPECT_EQ(qs[2], 1);
  EXPECT_EQ(qs[3], -1);
  EXPECT_EQ(qs[4], 1);
  EXPECT_EQ(qs[5], 0);
  std::vector<float> back(32);
  dequantize_q8_0(q.data(), 32, back.data());
  const float d = kormo::model::f16_to_float(dh);
  EXPECT_FLOAT_EQ(back[1], -64 * d);
  for (int i = 0; i < 32; ++i) EXPECT_LE(std::fabs(back[i] - x[i]), d / 2 + 1e-3f) << i;
  // An all-zero block has scale 0 and zero values, not NaN.
  std::vector<float> z(32, 0.0f);
  quantize_q8_0(z.data(), 32, q.data());
  dequantize_q8_0(q.data(), 32, back.data());
  for (float b : back) EXPECT_EQ(b, 0.0f);
}

TEST(Gguf, BadInputErrors) {
  std::vector<float> x(40);
  std::vector<uint8_t> q(100);
  EXPECT_THROW(quantize_q8_0(x.data(), 40, q.data()), kormo::Error);
  Writer w;
  try {
    w.add_tensor("blk.0.attn_q.weight", {40, 1}, TensorType::kQ8_0, x.data());
    FAIL() << "no error";
  } catch (const kormo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q.weight"), std::string::npos) << e.what();
  }
  w.set_u32("k", 1);
  EXPECT_THROW(w.set_u32("k", 2), kormo::Error);
  EXPECT_THROW(parse_file_type("q4_0"), kormo::Error);
  EXPECT_EQ(parse_file_type("bf16"), TensorType::kBF16);
}

TEST_F(GgufTest, AtomicWriteLeavesNoFileOnError) {
  Writer w;
  w.set_u32("k", 1);
  // Under a regular file: its directory cannot be made.
  kormo::write_file_atomic((dir_ / "plain").string(), "x");
  const auto bad = dir_ / "plain" / "t.gguf";
  try {
    w.write(bad.string());
    FAIL() << "no error";
  } catch (const kormo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("plain"), std::string::npos) << e.what();
  }
  // A failed export keeps what was there, and leaves no temporary.
  const auto out = dir_ / "m.gguf";
  kormo::write_file_atomic(out.string(), "old");
  kormo::model::ModelConfig c;
  c.vocab_size = 8, c.hidden_size = 32, c.intermediate_size = 64, c.num_layers = 1;
  c.num_heads = 2, c.num_kv_heads = 1, c.head_dim = 16;
  kormo::model::Weights wts(c, kormo::backend::cpu());
  auto tok = kormo::tok::Tokenizer::from_merges({}, {});  // 256 bytes + specials > 8
  try {
    export_llama(wts, tok, {}, out.string());
    FAIL() << "no error";
  } catch (const kormo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than the model's vocabulary"), std::string::npos) << e.what();
  }
  EXPECT_EQ(kormo::read_file(out.string()), "old");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 2);  // plain, m.gguf
}

TEST_F(GgufTest, LlamaExportNamesShapesAndRopeOrder) {
  kormo::model::ModelConfig c;
  c.vocab_size = 300, c.hidden_size = 32, c.intermediate_size = 64, c.num_layers = 1;
  c.num_heads = 2, c.num_kv_heads = 1, c.head_dim = 8;  // head_dim ≠ hidden/heads
  kormo::model::Weights w(c, kormo::backend::cpu());
  for (int64_t i = 0; i < w.size(); ++i) w.data()[i] = static_cast<float>(i % 1000);
  auto tok = kormo::tok::Tokenizer::from_merges({{0, 1}}, {});
  LlamaExport opt;
  opt.name = "t";
  opt.tokenizer_config = {{"add_bos_token", false}, {"chat_template", "{{x}}"}};
  const auto path = (dir_ / "m.gguf").string();
  export_llama(w, tok, opt, path);
  Parsed p = parse(path);
  EXPECT_EQ(p.tensors["token_embd.weight"].ne, (std::vector<uint64_t>{32, 300}));
  EXPECT_EQ(p.tensors["blk.0.attn_q.weight"].ne, (std::vector<uint64_t>{32, 16}));
  EXPECT_EQ(p.tensors["blk.0.attn_k.weight"].ne, (std::vector<uint64_t>{32, 8}));
  EXPECT_EQ(p.tensors["blk.0.attn_output.weight"].ne, (std::vector<uint64_t>{16, 32}));
  EXPECT_EQ(p.tensors["blk.0.ffn_down.weight"].ne, (std::vector<uint64_t>{64, 32}));
  EXPECT_EQ(p.tensors["output_norm.weight"].ne, (std::vector<uint64_t>{32}));
  EXPECT_EQ(p.tensors.size(), 12u);
  EXPECT_EQ(as<uint32_t>(p.kv["llama.attention.key_length"].second), 8u);
  EXPECT_EQ(as<float>(p.kv["llama.rope.freq_base"].second), 500000.0f);
  EXPECT_EQ(p.kv["tokenizer.ggml.pre"].second.substr(8), "qwen2");
  EXPECT_EQ(p.kv["tokenizer.chat_template"].second.substr(8), "{{x}}");
  // 300 tokens: the tokenizer's (256 bytes + 1 merge + 6 specials) then unused padding.
  EXPECT_EQ(as<uint64_t>(p.kv["tokenizer.ggml.tokens"].second.substr(4)), 300u);
  const std::string& types = p.kv["tokenizer.ggml.token_type"].second;
  auto type_of = [&](int id) { return as<int32_t>(types.substr(12 + 4 * id)); };
  EXPECT_EQ(type_of(0), 1);
  EXPECT_EQ(type_of(257), 3);  // <|BOS|>
  EXPECT_EQ(type_of(299), 5);
  // Stored q row 1 of head 0 is source row head_dim/2 = 4 (the pair partner of row 0).
  const auto& L = w.layout();
  const auto& q = p.tensors["blk.0.attn_q.weight"];
  std::vector<float> row(32);
  std::memcpy(row.data(), p.bytes.data() + p.data_start + q.offset + 32 * 4, 32 * 4);
  EXPECT_EQ(row[0], w.data()[L.layers[0].wq + 4 * 32]);
  std::memcpy(row.data(), p.bytes.data() + p.data_start + q.offset + 9 * 32 * 4, 32 * 4);  // head 1, pair 0, second
  EXPECT_EQ(row[0], w.data()[L.layers[0].wq + (8 + 4) * 32]);
}

}  // namespace gguf_test
