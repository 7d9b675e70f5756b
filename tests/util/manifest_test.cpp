#include "kormo/util/manifest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "kormo/util/error.h"
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

  // An input naming a device is reported, not read forever.
  nlohmann::json j = nlohmann::json::parse(read_file(dir + "/manifest.json"));
  j["stages"][0]["inputs"][0]["path"] = "/dev/zero";
  write_file_atomic(dir + "/manifest.json", j.dump());
  problems = verify_manifest(dir + "/manifest.json");
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems[0].path, "/dev/zero");
  EXPECT_EQ(problems[0].what, "not a regular file");
  fs::remove_all(dir);
}

// Hand-made bad manifests are refused with the offending field named, before any file is read.
TEST(Manifest, VerifyRejectsBadSchema) {
  std::string dir = (fs::temp_directory_path() / ("kormo_manifest_bad_" + std::to_string(::getpid()))).string();
  make_dirs(dir);
  const std::string mp = dir + "/manifest.json";
  const std::string hash(32, 'a');
  auto file = [&](const std::string& path) {
    return nlohmann::json{{"path", path}, {"xxh3_128", hash}, {"bytes", 1}};
  };
  auto manifest = [&](nlohmann::json inputs, nlohmann::json outputs) {
    return nlohmann::json{{"format", "kormo-manifest"}, {"version", 1},
                          {"stages", {{{"name", "s"}, {"inputs", inputs}, {"outputs", outputs}}}}};
  };
  auto refused = [&](const std::string& text, const std::string& expect) {
    write_file_atomic(mp, text);
    try {
      verify_manifest(mp);
      ADD_FAILURE() << "accepted: " << text.substr(0, 200);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
    }
  };
  nlohmann::json v2 = manifest(nlohmann::json::array(), nlohmann::json::array());
  v2["version"] = 2;
  refused(v2.dump(), "version 2 is not known");
  refused(R"({"format": "kormo-manifest", "version": 1, "stages": {}})", "stages: expected an array");
  // json::array() spelled out: a one-element braced list is an array with g++ but the
  // element itself with clang.
  refused(manifest(nlohmann::json::array(), nlohmann::json::array({{{"path", 3}, {"xxh3_128", hash}}})).dump(),
          "outputs[0].path");
  refused(manifest(nlohmann::json::array({file("../outside")}), nlohmann::json::array()).dump(),
          "leaves the run directory");
  refused(manifest(nlohmann::json::array(), nlohmann::json::array({file("/etc/passwd")})).dump(), "is absolute");
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  refused(deep, "nested deeper than");
  fs::remove_all(dir);
}

TEST(Manifest, VerifyRequiresThePlannedStages) {
  std::string dir = (fs::temp_directory_path() / ("kormo_manifest_plan_" + std::to_string(::getpid()))).string();
  make_dirs(dir);
  const std::string mp = dir + "/manifest.json";
  auto manifest = [&](std::vector<std::string> names) {
    nlohmann::json stages = nlohmann::json::array();
    for (const auto& n : names)
      stages.push_back({{"name", n}, {"inputs", nlohmann::json::array()}, {"outputs", nlohmann::json::array()}});
    return nlohmann::json{{"format", "kormo-manifest"}, {"version", 1}, {"stages", stages}};
  };
  const std::vector<std::string> order{"data", "tokenizer", "shard", "pretrain"};
  auto verdict = [&](const nlohmann::json& m) -> std::string {
    write_file_atomic(mp, m.dump());
    try {
      verify_manifest(mp, order);
      return "";
    } catch (const Error& e) {
      return e.what();
    }
  };
  EXPECT_EQ(verdict(manifest(order)), "");
  EXPECT_EQ(verdict(manifest({"data", "tokenizer"})), "");  // a run stopped by --until tokenizer
  EXPECT_NE(verdict(manifest({})).find("records no stages"), std::string::npos);
  EXPECT_NE(verdict(manifest({"data", "shard", "pretrain"})).find("not the pipeline's stages in order"),
            std::string::npos);
  nlohmann::json cut = manifest({"data", "tokenizer"});
  cut["plan"] = order;  // stages removed from the end of a complete run
  EXPECT_NE(verdict(cut).find("planned stages [data, tokenizer, shard, pretrain]"), std::string::npos) << verdict(cut);
  cut["plan"] = {"data", 7};
  EXPECT_NE(verdict(cut).find("plan: expected an array of stage names"), std::string::npos);
  fs::remove_all(dir);
}
