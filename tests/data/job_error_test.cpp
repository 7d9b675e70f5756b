#include <gtest/gtest.h>

#include <string>

#include "../temp_dir.h"
#include "kormo/data/job.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"

using namespace kormo;

using JobErrorTest = TempDirTest;

// Shards run in an OpenMP region; an error there (here thrown by the stage,
// in real runs a full disk while writing a shard) must come out as the Error,
// not std::terminate, and leave no final output behind.
TEST_F(JobErrorTest, StageErrorInTheParallelRegionComesOut) {
  std::string in = (dir_ / "in.jsonl").string(), out = (dir_ / "out.jsonl").string();
  std::string text;
  for (int i = 0; i < 100; ++i) text += "{\"text\":\"doc " + std::to_string(i) + "\"}\n";
  write_file_atomic(in, text);
  data::JobOptions jo;
  jo.inputs = {in};
  jo.output = out;
  jo.shard_docs = 10;
  auto fn = [](std::string_view line, const std::string& where, data::StageOutput&) {
    if (line.find("doc 57\"") != std::string_view::npos) fail_io("{}: cannot write: No space left on device", where);
  };
  try {
    data::run_sharded_job(jo, fn, data::Launch{});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_EQ(std::string(e.what()), in + ":58: cannot write: No space left on device");
  }
  EXPECT_FALSE(std::filesystem::exists(out));
}
