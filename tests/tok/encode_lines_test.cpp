#include "kormo/tok/encode_lines.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "kormo/tok/trainer.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "../temp_dir.h"

namespace fs = std::filesystem;
using namespace kormo;
using namespace kormo::tok;

namespace encode_lines_test {

const std::string kText = std::string(KORMO_SHARED_DATA) + "/corpora/en/gutenberg/The-Time-Machine_35.txt";

const Tokenizer& tokenizer() {
  static const Tokenizer tok = [] {
    BpeOptions bo;
    bo.vocab_size = 1000;
    return train_bpe(count_words({kText}, {}), bo);
  }();
  return tok;
}

std::string encode(const std::vector<std::string>& files, LineOutput output, int threads) {
  EncodeLinesOptions o;
  o.output = output;
  o.threads = threads;
  std::string out;
  encode_lines(tokenizer(), files, o, [&](std::string_view s) { out.append(s); });
  return out;
}

class EncodeLines : public TempDirTest {
 protected:
  std::string file(const std::string& name, const std::string& text) {
    std::string p = (dir_ / name).string();
    write_file_atomic(p, text);
    return p;
  }
};

TEST_F(EncodeLines, OneLineOfIdsPerInputLineInOrder) {
  std::string a = file("a.txt", "hello world\n\nthe time machine\n");
  std::string b = file("b.txt", "last line without newline");
  std::string out = encode({a, b}, LineOutput::kIds, 4);
  std::vector<int32_t> ids = tokenizer().encode("the time machine");
  std::string third;
  for (int32_t id : ids) third += (third.empty() ? "" : " ") + std::to_string(id);
  std::vector<std::string> lines;
  for (size_t p = 0, nl; (nl = out.find('\n', p)) != std::string::npos; p = nl + 1)
    lines.push_back(out.substr(p, nl - p));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], "");
  EXPECT_EQ(lines[2], third);
}

TEST_F(EncodeLines, ThreadCountDoesNotChangeOutput) {
  EXPECT_EQ(encode({kText}, LineOutput::kIds, 1), encode({kText}, LineOutput::kIds, 3));
  EXPECT_EQ(encode({kText}, LineOutput::kBinary, 1), encode({kText}, LineOutput::kBinary, 3));
}

TEST_F(EncodeLines, BinaryDecodesToTheInputBytes) {
  const std::string text = "first line\nsecond, with a tab\t\nno newline at the end";
  std::string out = encode({file("t.txt", text)}, LineOutput::kBinary, 2);
  ASSERT_EQ(out.size() % 4, 0u);
  std::vector<int32_t> ids(out.size() / 4);
  std::memcpy(ids.data(), out.data(), out.size());  // little-endian host
  EXPECT_EQ(tokenizer().decode(ids), text);
}

TEST_F(EncodeLines, PiecesAreJsonArrays) {
  EXPECT_EQ(encode({file("p.txt", "Hello, world 42\n")}, LineOutput::kPieces, 1),
            "[\"Hello\",\",\",\" world\",\" \",\"4\",\"2\"]\n");
}

TEST_F(EncodeLines, BadLineNamesFileAndLine) {
  std::string p = file("bad.txt", "fine\nbad \xff byte\n");
  try {
    encode({p}, LineOutput::kIds, 2);
    FAIL() << "invalid UTF-8 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(p + ":2: ", 0), 0u) << e.what();
  }
}

}  // namespace encode_lines_test
