#include "kormo/util/io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/rng.h"

namespace fs = std::filesystem;
using namespace kormo;

namespace io_test {
std::string temp_dir() {
  auto p = fs::temp_directory_path() / ("kormo_io_test_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p.string();
}

TEST(Io, PlainAndZstdRoundTripLines) {
  std::string dir = temp_dir();
  std::string text = "첫 줄\r\nsecond line\n\nlast without newline";
  for (std::string name : {"/a.txt", "/a.txt.zst"}) {
    write_file_atomic(dir + name, text);
    EXPECT_EQ(read_file(dir + name), text) << name;
    LineReader r(dir + name);
    std::string_view line;
    std::vector<std::string> lines;
    while (r.next(line)) lines.emplace_back(line);
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0], "첫 줄\r");  // CR kept so CRLF survives
    EXPECT_EQ(lines[2], "");
    EXPECT_EQ(r.line_number(), 4u);
  }
  fs::remove_all(dir);
}

TEST(Io, TruncatedZstdIsAnErrorNamingTheFile) {
  std::string dir = temp_dir();
  std::string big(200000, 'x');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = char('a' + i % 26);
  write_file_atomic(dir + "/t.zst", big);
  std::string raw;
  {
    std::FILE* f = std::fopen((dir + "/t.zst").c_str(), "rb");
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) raw.append(buf, n);
    std::fclose(f);
  }
  raw.resize(raw.size() / 2);
  {
    std::FILE* f = std::fopen((dir + "/cut.zst").c_str(), "wb");
    std::fwrite(raw.data(), 1, raw.size(), f);
    std::fclose(f);
  }
  try {
    read_file(dir + "/cut.zst");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.zst"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(Io, AtomicWriterLeavesNothingWithoutCommit) {
  std::string dir = temp_dir();
  {
    AtomicWriter w(dir + "/out.json");
    w.write("partial");
  }
  EXPECT_FALSE(fs::exists(dir + "/out.json"));
  EXPECT_TRUE(fs::is_empty(dir));
  fs::remove_all(dir);
}

TEST(Io, ExpandInputsMissingPatternFails) {
  EXPECT_THROW(expand_inputs({"/nonexistent/kormo/*.txt"}), Error);
}

TEST(Config, UnknownKeyIsRejectedWithLocation) {
  toml::table t = load_toml("", "[train]\nlr = 1e-3\nlr_peek = 2\n");
  ConfigSection root(&t, "cfg.toml");
  ConfigSection train = root.section("train");
  EXPECT_DOUBLE_EQ(train.get_double("lr", 0), 1e-3);
  try {
    train.check_unused();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lr_peek"), std::string::npos);
  }
}

TEST(Config, SyntaxErrorNamesLine) {
  try {
    load_toml("", "a = 1\nb = = 2\n");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(":2:"), std::string::npos) << e.what();
  }
}

TEST(Rng, DeterministicAndUniform) {
  Rng a(42), b(42);
  double sum = 0;
  for (int i = 0; i < 10000; ++i) {
    uint64_t x = a.next_u64();
    ASSERT_EQ(x, b.next_u64());
    sum += a.uniform();
    b.uniform();
  }
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);
}

TEST(Io, AtomicWriterRefusesToReplaceNonRegularFiles) {
  EXPECT_THROW(AtomicWriter("/dev/null"), Error);
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
}

// The same file under another name (symlink, hard link, "./" or "d/../")
// is refused as a usage error naming both; other and new outputs are fine.
TEST(Io, CheckOutputNotInputComparesFilesNotSpellings) {
  std::string dir = temp_dir() + "/same";
  fs::create_directories(dir + "/sub");
  std::string in = dir + "/in.jsonl";
  write_file_atomic(in, "x\n");
  write_file_atomic(dir + "/other.jsonl", "y\n");
  fs::create_symlink("in.jsonl", dir + "/link.jsonl");
  fs::create_hard_link(in, dir + "/hard.jsonl");
  for (std::string out : {in, dir + "/link.jsonl", dir + "/hard.jsonl", dir + "/./in.jsonl", dir + "/sub/../in.jsonl"}) {
    try {
      check_output_not_input(out, {dir + "/other.jsonl", in});
      ADD_FAILURE() << out << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage) << out;
      std::string msg = e.what();
      EXPECT_NE(msg.find(out), std::string::npos) << msg;
      EXPECT_NE(msg.find(in), std::string::npos) << msg;
    }
  }
  // Through a symlinked input too.
  EXPECT_THROW(check_output_not_input(in, {dir + "/link.jsonl"}), Error);
  EXPECT_NO_THROW(check_output_not_input(dir + "/other.jsonl", {in}));
  EXPECT_NO_THROW(check_output_not_input(dir + "/new.jsonl", {in}));
  EXPECT_NO_THROW(check_output_not_input("", {in}));
  EXPECT_NO_THROW(check_output_not_input(in, {"-"}));
  fs::remove_all(dir);
}

}  // namespace io_test
