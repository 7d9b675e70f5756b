#include "kormo/util/manifest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "kormo/util/io.h"

namespace fs = std::filesystem;
using namespace kormo;

TEST(Manifest, VerifyDetectsChangedAndMissingFiles) {
  std::string dir = (fs::temp_directory_path() / ("kormo_manifest_" + std::to_string(::getpid()))).string();
  make_dirs(dir + "/out");
  write_file_atomic(dir + "/in.txt", "input");
  write_file_atomic(dir + "/out/a.bin", "aaa");
  write_file_atomic(dir + "/out/b.bin", "bbb");
  Manifest m(dir);
  m.set_config({{"seed", 1}}, "test");
  StageRecord s;
  s.name = "copy";
  s.inputs = hash_path(dir + "/in.txt", dir);
  s.outputs = hash_path(dir + "/out", dir);
  ASSERT_EQ(s.outputs.size(), 2u);
  EXPECT_EQ(s.outputs[0].path, "out/a.bin");
  m.add_stage(s);
  m.save();
  EXPECT_TRUE(verify_manifest(dir + "/manifest.json").empty());

  write_file_atomic(dir + "/out/a.bin", "changed");
  fs::remove(dir + "/in.txt");
  auto problems = verify_manifest(dir + "/manifest.json");
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].path, "in.txt");
  EXPECT_EQ(problems[0].what, "missing");
  EXPECT_EQ(problems[1].path, "out/a.bin");
  fs::remove_all(dir);
}
