#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "kormo/model/safetensors.h"
#include "kormo/util/error.h"

using namespace kormo::model;

namespace {
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
}  // namespace

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
  write_raw(p, R"({"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}})", 4);
  EXPECT_NE(error_of(p).find("only F32"), std::string::npos);
  write_raw(p, R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                   "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})", 12);
  EXPECT_NE(error_of(p).find("overlap"), std::string::npos);
  write_raw(p, "{not json", 0);
  EXPECT_NE(error_of(p).find("not valid JSON"), std::string::npos);
  std::ofstream(p, std::ios::binary) << "abc";
  EXPECT_NE(error_of(p).find("need at least 8"), std::string::npos);
}
