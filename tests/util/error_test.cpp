#include "kormo/util/error.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "kormo/util/io.h"
#include "kormo/util/mmap.h"

namespace fs = std::filesystem;

namespace kormo {
namespace error_test {

ErrorKind kind_of(void (*f)()) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no kormo::Error thrown";
  return ErrorKind::kInternal;
}

TEST(Error, EachFailSetsItsKind) {
  EXPECT_EQ(kind_of([] { fail("bad {}", 1); }), ErrorKind::kBadInput);
  EXPECT_EQ(kind_of([] { fail_usage("--x needs --y"); }), ErrorKind::kUsage);
  EXPECT_EQ(kind_of([] { fail_io("{}: cannot open", "f"); }), ErrorKind::kIo);
  EXPECT_EQ(kind_of([] { fail_internal("invariant"); }), ErrorKind::kInternal);
  EXPECT_EQ(kind_of([] { fail_as(ErrorKind::kIo, "kept"); }), ErrorKind::kIo);
  EXPECT_EQ(Error("plain").kind(), ErrorKind::kBadInput);  // the default: bad input
  try {
    fail_usage("--{} needs --{}", "ids", "vocab-size");
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--ids needs --vocab-size");
  }
}

// Files that cannot be opened, created or mapped are I/O errors; malformed
// content is bad input.
TEST(Error, FileFailuresAreIoAndBadContentIsBadInput) {
  fs::path dir = fs::temp_directory_path() / ("kormo_error_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  static std::string missing, under_file, corrupt;
  missing = (dir / "missing.jsonl").string();
  under_file = (dir / "plain" / "out.jsonl").string();  // "plain" is a regular file
  corrupt = (dir / "corrupt.txt.zst").string();
  write_file_atomic((dir / "plain").string(), "x");
  write_file_atomic(corrupt + ".tmp", "not zstd at all");
  fs::rename(corrupt + ".tmp", corrupt);

  EXPECT_EQ(kind_of([] { LineReader r(missing); }), ErrorKind::kIo);
  EXPECT_EQ(kind_of([] { MappedFile m(missing); }), ErrorKind::kIo);
  EXPECT_EQ(kind_of([] { AtomicWriter w(under_file); }), ErrorKind::kIo);
  EXPECT_EQ(kind_of([] { read_file(corrupt); }), ErrorKind::kBadInput);
  EXPECT_EQ(kind_of([] { expand_inputs({missing}); }), ErrorKind::kBadInput);  // names nothing
  fs::remove_all(dir);
}

}  // namespace error_test

}  // namespace kormo
