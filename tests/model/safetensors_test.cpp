#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "kormo/model/safetensors.h"
#include "kormo/util/error.h"

using namespace kormo::model;

namespace safetensors_test {
std::string tmp(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::to_string(::getpid()) + name)).string();
}
std::string error_of(const std::string& path) {
  try {
    SafeTensors st(path);
  } catch (const kormo::Error& e) {
    return e.what();
  }
  return "";
}
void write_raw(const std::string& path, const std::string& header, size_t data_bytes) {
  std::string h = header;
  uint64_t n = h.size();
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(&n), 8);
  f << h << std::string(data_bytes, '\0');
}

TEST(SafeTensors, RoundTripWithAlignedHeader) {
  std::string p = tmp("rt.safetensors");
  std::vector<float> a = {1, 2, 3, 4, 5, 6}, b = {7};
  write_safetensors(p, {{"a", {2, 3}, a.data()}, {"b", {1}, b.data()}}, {{"format", "pt"}});
  SafeTensors st(p);
  EXPECT_EQ(st.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(st.metadata().at("format"), "pt");
  std::vector<float> out(6);
  st.read("a", out.data(), {2, 3});
  EXPECT_EQ(out, a);
  EXPECT_THROW(st.read("a", out.data(), {3, 2}), kormo::Error);
  EXPECT_THROW(st.read("missing", out.data(), {}), kormo::Error);
  uint64_t hlen = 0;
  std::ifstream f(p, std::ios::binary);
  f.read(reinterpret_cast<char*>(&hlen), 8);
  EXPECT_EQ(hlen % 8, 0u);
}

TEST(SafeTensors, CorruptFilesAreRejectedWithTheReason) {
  std::string p = tmp("bad.safetensors");
  write_raw(p, R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", 4);
  EXPECT_NE(error_of(p).find("lie outside the data section"), std::string::npos);
  write_raw(p, R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8);
  EXPECT_NE(error_of(p).find("needs 12 bytes"), std::string::npos);
  write_raw(p, R"({"a": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}})", 16);
  EXPECT_NE(error_of(p).find("supported are F32, BF16 and F16"), std::string::npos);
  write_raw(p, R"({"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 8]}})", 8);
  EXPECT_NE(error_of(p).find("needs 4 bytes"), std::string::npos);
  write_raw(p, R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                   "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})", 12);
  EXPECT_NE(error_of(p).find("overlap"), std::string::npos);
  write_raw(p, "{not json", 0);
  EXPECT_NE(error_of(p).find("not valid JSON"), std::string::npos);
  std::ofstream(p, std::ios::binary) << "abc";
  EXPECT_NE(error_of(p).find("need at least 8"), std::string::npos);
}

TEST(SafeTensors, HalfPrecisionConversionsRoundToNearestEven) {
  // bf16 keeps 8 mantissa bits: 1 + 2^-8 is a tie between 1 and 1 + 2^-7 → even (1).
  EXPECT_EQ(float_to_bf16(1.f), 0x3f80);
  EXPECT_EQ(float_to_bf16(1.f + 1.f / 256), 0x3f80);
  EXPECT_EQ(float_to_bf16(1.f + 3.f / 256), 0x3f82);  // tie, rounds up to even
  EXPECT_EQ(bf16_to_float(0xc040), -3.f);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(NAN))));
  // fp16: normals, the largest finite value, overflow, subnormals, ties.
  EXPECT_EQ(float_to_f16(1.f), 0x3c00);
  EXPECT_EQ(float_to_f16(-2.5f), 0xc100);
  EXPECT_EQ(float_to_f16(65504.f), 0x7bff);
  EXPECT_EQ(float_to_f16(65520.f), 0x7c00);          // halfway to the next power: rounds to inf
  EXPECT_EQ(float_to_f16(std::ldexp(1.f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_f16(std::ldexp(1.f, -25)), 0x0000);  // tie with 0 → even
  EXPECT_EQ(float_to_f16(std::ldexp(3.f, -25)), 0x0002);  // 1.5 units → 2 (even)
  EXPECT_EQ(float_to_f16(1.f + 1.f / 2048), 0x3c00);      // tie → even
  for (uint32_t h = 0; h < 0x7c00; ++h)  // every finite half survives the round trip
    ASSERT_EQ(float_to_f16(f16_to_float(static_cast<uint16_t>(h))), h) << h;
}

TEST(SafeTensors, WritesAndReadsHalfPrecisionTensors) {
  std::string p = tmp("half.safetensors");
  std::vector<float> a = {1.f, -2.5f, 0.1f, 3e-6f};
  write_safetensors(p, {{"bf", {4}, a.data(), Dtype::kBF16}, {"h", {2, 2}, a.data(), Dtype::kF16}});
  SafeTensors st(p);
  EXPECT_EQ(st.dtype("bf"), Dtype::kBF16);
  EXPECT_EQ(st.dtype("h"), Dtype::kF16);
  std::vector<float> out(4);
  st.read("bf", out.data(), {4});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[i], bf16_to_float(float_to_bf16(a[i])));
  st.read("h", out.data(), {2, 2});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[i], f16_to_float(float_to_f16(a[i])));
  EXPECT_EQ(parse_dtype("bfloat16"), Dtype::kBF16);
  EXPECT_THROW(parse_dtype("int8"), kormo::Error);
}

// A tensor without data is filled by its callback in consecutive ranges (ZeRO-1's moments,
// streamed from the ranks); read_range reads a slice of a tensor, in any stored dtype.
TEST(SafeTensors, FilledTensorsAndRangeReads) {
  std::string p = tmp("fill.safetensors");
  const int64_t n = (int64_t{1} << 20) + 5;  // more than one writer slice
  std::vector<float> a(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) a[static_cast<size_t>(i)] = static_cast<float>(i % 1000) * 0.25f - 7.f;
  int64_t next = 0;
  auto fill = [&](int64_t begin, int64_t count, float* out) {
    EXPECT_EQ(begin, next) << "ranges must come in order";
    std::copy_n(a.data() + begin, count, out);
    next = begin + count;
  };
  TensorView f32{"f", {n}}, bf{"h", {n}};
  f32.fill = fill;
  bf.fill = [&](int64_t begin, int64_t count, float* out) {
    std::copy_n(a.data() + begin, count, out);
  };
  bf.stored = Dtype::kBF16;
  write_safetensors(p, {f32, bf});
  EXPECT_EQ(next, n);
  SafeTensors st(p);
  std::vector<float> whole(static_cast<size_t>(n));
  st.read("f", whole.data(), {n});
  EXPECT_EQ(whole, a);
  std::vector<float> part(100);
  st.read_range("f", n - 100, 100, part.data(), {n});
  EXPECT_TRUE(std::equal(part.begin(), part.end(), a.end() - 100));
  st.read_range("h", 3, 100, part.data(), {n});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(part[static_cast<size_t>(i)], bf16_to_float(float_to_bf16(a[3 + i])));
  st.read_range("f", n, 0, part.data(), {n});
  EXPECT_THROW(st.read_range("f", n - 1, 2, part.data(), {n}), kormo::Error);
  EXPECT_THROW(st.read_range("f", -1, 1, part.data(), {n}), kormo::Error);
  EXPECT_THROW(st.read_range("f", 0, 1, part.data(), {n + 1}), kormo::Error);
  std::filesystem::remove(p);
}

}  // namespace safetensors_test
