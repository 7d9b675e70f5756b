#include "kormo/run/stage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "kormo/run/run.h"
#include "kormo/util/config.h"
#include "kormo/util/error.h"
#include "kormo/util/io.h"
#include "../temp_dir.h"

namespace fs = std::filesystem;
using namespace kormo;
using namespace kormo::run;

namespace stage_test {

// A two-stage pipeline over small files: "upper" upper-cases in.txt and adds
// the [upper] suffix; "count" (no settings) counts what "upper" wrote.
class StageTable : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    write_file_atomic(input(), "abc");
    set_config("suffix = \"!\"");
  }

  std::string input() const { return (dir_ / "in.txt").string(); }
  void set_config(const std::string& upper_keys) { config_ = load_toml("", "[upper]\n" + upper_keys + "\n"); }

  std::vector<Stage> stages() {
    return {
        {.name = "upper",
         .doing = "upper-casing",
         .sections = {"upper"},
         .resolve =
             [](const RunContext& c) {
               ConfigSection sec(c.config["upper"].as_table(), c.source + " [upper]");
               std::string suffix = sec.get_string("suffix", "");
               // A setting that does not change what the stage writes.
               std::string note = sec.get_string("note", "");
               sec.check_unused();
               return "suffix = \"" + suffix + "\"\n" + (note.empty() ? "" : "note = \"" + note + "\"\n");
             },
         .inputs = [this](const RunContext&) { return std::vector<std::string>{input()}; },
         .run =
             [this](const RunContext& c, const std::string& config_path) {
               ++runs_["upper"];
               EXPECT_EQ(fs::current_path(), c.dir);  // run-relative paths name the run's files
               std::string s = read_file(input());
               std::transform(s.begin(), s.end(), s.begin(), ::toupper);
               s += *load_toml(config_path)["suffix"].value<std::string>();
               make_dirs(c.path("out"));
               write_file_atomic(c.path("out/upper.txt"), s);
               return nlohmann::json{{"bytes", s.size()}};
             },
         .outputs = [](const RunContext&) { return std::vector<std::string>{"out/upper.txt"}; },
         .state = [](const RunContext&) { return std::vector<std::string>{"out/upper.txt", "upper-work"}; }},
        {.name = "count",
         .doing = "counting",
         .inputs = [](const RunContext&) { return std::vector<std::string>{"out/upper.txt"}; },
         .run =
             [this](const RunContext& c, const std::string& config_path) {
               EXPECT_EQ(config_path, "");  // no settings, no config file
               if (fail_count_) fail("count: killed");
               ++runs_["count"];
               make_dirs(c.path("out/count"));
               write_file_atomic(c.path("out/count/n.txt"), std::to_string(read_file(c.path("out/upper.txt")).size()));
               write_file_atomic(c.path("out/count/done.txt"), "yes");
               return nlohmann::json{};
             },
         .outputs = [](const RunContext&) { return std::vector<std::string>{"out/count"}; },
         .summarize = [](const RunContext& c, nlohmann::json& s) { s["n"] = read_file(c.path("out/count/n.txt")); }},
    };
  }

  void run(const std::string& until = "") {
    RunContext ctx{dir_ / "run", config_, "test.toml"};
    run_stages(stages(), ctx, until);
  }

  nlohmann::json manifest(const std::string& name = "manifest.json") const {
    return nlohmann::json::parse(read_file((dir_ / "run" / name).string()));
  }

  static std::vector<std::string> paths(const nlohmann::json& files) {
    std::vector<std::string> out;
    for (const auto& f : files) out.push_back(f["path"]);
    return out;
  }

  std::string error_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  toml::table config_;
  std::map<std::string, int> runs_;
  bool fail_count_ = false;
};

TEST_F(StageTable, KeyFollowsConfigAndInputContent) {
  const std::vector<FileRecord> in = hash_path(input(), dir_.string());
  const std::string key = stage_key("suffix = \"!\"\n", in);
  EXPECT_EQ(key.size(), 32u);
  EXPECT_EQ(stage_key("suffix = \"!\"\n", hash_path(input(), dir_.string())), key);
  EXPECT_NE(stage_key("suffix = \"?\"\n", in), key);
  write_file_atomic(input(), "abd");
  EXPECT_NE(stage_key("suffix = \"!\"\n", hash_path(input(), dir_.string())), key);
  EXPECT_NE(stage_key("suffix = \"!\"\n", {}), key);
}

TEST_F(StageTable, RecordsEveryStageInputsAndOutputs) {
  run();
  EXPECT_EQ(read_file((dir_ / "run/out/upper.txt").string()), "ABC!");
  EXPECT_FALSE(fs::exists(dir_ / "run/manifest.partial.json"));
  nlohmann::json m = manifest();
  EXPECT_EQ(m["config_source"], "test.toml");
  EXPECT_EQ(m["config"]["upper"]["suffix"], "!");
  ASSERT_EQ(m["stages"].size(), 2u);
  const nlohmann::json& upper = m["stages"][0];
  const nlohmann::json& count = m["stages"][1];
  EXPECT_EQ(upper["name"], "upper");
  // The resolved config is written and is the stage's first input.
  EXPECT_EQ(read_file((dir_ / "run/config/upper.toml").string()), "suffix = \"!\"\n");
  // A file outside the run directory keeps its absolute path (verify refuses "..").
  EXPECT_EQ(paths(upper["inputs"]), (std::vector<std::string>{"config/upper.toml", (dir_ / "in.txt").string()}));
  EXPECT_EQ(paths(upper["outputs"]), std::vector<std::string>{"out/upper.txt"});
  EXPECT_EQ(upper["summary"]["bytes"], 4);
  EXPECT_EQ(count["name"], "count");
  EXPECT_FALSE(fs::exists(dir_ / "run/config/count.toml"));
  EXPECT_EQ(paths(count["inputs"]), std::vector<std::string>{"out/upper.txt"});
  EXPECT_EQ(paths(count["outputs"]), (std::vector<std::string>{"out/count/done.txt", "out/count/n.txt"}));
  EXPECT_EQ(count["summary"]["n"], "4");
  EXPECT_TRUE(verify_manifest((dir_ / "run/manifest.json").string()).empty());
}

TEST_F(StageTable, UnchangedConfigAndInputsAreReused) {
  run();
  // Each stage's peak memory is recorded (this test process is well over 1 MB resident).
  const nlohmann::json peak = manifest()["stages"][0]["peak_rss_bytes"];
  ASSERT_TRUE(peak.is_number()) << manifest()["stages"][0].dump();
  EXPECT_GT(peak.get<double>(), 1e6);
  run();
  EXPECT_EQ(runs_["upper"], 1);
  EXPECT_EQ(runs_["count"], 1);
  // A reused stage is recorded like a fresh one; summarize still reads its outputs.
  nlohmann::json m = manifest();
  ASSERT_EQ(m["stages"].size(), 2u);
  EXPECT_EQ(paths(m["stages"][1]["outputs"]).size(), 2u);
  EXPECT_EQ(m["stages"][1]["summary"]["n"], "4");
  // ... and keeps the summary and seconds of the run that did the work.
  EXPECT_EQ(m["stages"][0]["summary"]["bytes"], 4);
  EXPECT_GT(m["stages"][0]["seconds"].get<double>(), 0);
  EXPECT_EQ(m["stages"][0]["peak_rss_bytes"], peak);
  EXPECT_EQ(m["plan"], (std::vector<std::string>{"upper", "count"}));
}

TEST_F(StageTable, MissingOrAlteredOutputRedoesTheStage) {
  run();
  fs::remove(dir_ / "run/out/upper.txt");
  run();
  EXPECT_EQ(runs_["upper"], 2);
  EXPECT_EQ(runs_["count"], 1);  // the redone stage wrote the same bytes: its consumer stands
  EXPECT_EQ(read_file((dir_ / "run/out/upper.txt").string()), "ABC!");
  write_file_atomic((dir_ / "run/out/count/n.txt").string(), "5");
  run();
  EXPECT_EQ(runs_["count"], 2);
  EXPECT_EQ(read_file((dir_ / "run/out/count/n.txt").string()), "4");
  EXPECT_TRUE(verify_manifest((dir_ / "run/manifest.json").string()).empty());
}

TEST_F(StageTable, MarkerOfAnEarlierVersionIsHonoured) {
  run();
  const std::string key = nlohmann::json::parse(read_file((dir_ / "run/.stages/upper.done").string()))["key"];
  write_file_atomic((dir_ / "run/.stages/upper.done").string(), key);  // the key alone, as before
  run();
  EXPECT_EQ(runs_["upper"], 1);
  write_file_atomic((dir_ / "run/.stages/upper.done").string(), "{\"key\": 3}");  // not one kormo wrote
  run();
  EXPECT_EQ(runs_["upper"], 2);
}

TEST_F(StageTable, TemporariesOfStoppedWritersAreRemoved) {
  run();
  // pid_max is at most 2^22, so this writer cannot be alive; ours is.
  const fs::path dead = dir_ / "run/out/upper.txt.tmp.4194305";
  const fs::path live = dir_ / ("run/out/upper.txt.tmp." + std::to_string(::getpid()));
  const fs::path dir = dir_ / "run/out/.step-0000010.tmp";
  write_file_atomic(dead.string(), "partial");
  write_file_atomic(live.string(), "being written");
  make_dirs((dir / "trainer_state").string());
  write_file_atomic((dir / "trainer_state/state.json").string(), "{");
  run();
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(fs::exists(live));
}

TEST_F(StageTable, ChangedConfigRerunsTheStageAndItsConsumers) {
  run();
  make_dirs((dir_ / "run/upper-work").string());
  write_file_atomic((dir_ / "run/upper-work/partial").string(), "state of the old configuration");
  set_config("suffix = \"?\"");
  run();
  EXPECT_EQ(runs_["upper"], 2);
  EXPECT_EQ(runs_["count"], 2);  // its input changed
  EXPECT_FALSE(fs::exists(dir_ / "run/upper-work"));  // the old working state is gone
  EXPECT_EQ(read_file((dir_ / "run/out/upper.txt").string()), "ABC?");
  EXPECT_EQ(read_file((dir_ / "run/config/upper.toml").string()), "suffix = \"?\"\n");
  EXPECT_TRUE(verify_manifest((dir_ / "run/manifest.json").string()).empty());
  run();  // and the new configuration is then reused
  EXPECT_EQ(runs_["upper"], 2);
  EXPECT_EQ(runs_["count"], 2);
}

TEST_F(StageTable, ChangeThatKeepsTheOutputRerunsOnlyThatStage) {
  run();
  set_config("suffix = \"!\"\nnote = \"same bytes\"");
  run();
  EXPECT_EQ(runs_["upper"], 2);
  EXPECT_EQ(runs_["count"], 1);  // what it reads is byte for byte what it read before
}

TEST_F(StageTable, ChangedInputReruns) {
  run();
  write_file_atomic(input(), "abd");
  run();
  EXPECT_EQ(runs_["upper"], 2);
  EXPECT_EQ(runs_["count"], 2);
  EXPECT_EQ(read_file((dir_ / "run/out/upper.txt").string()), "ABD!");
}

TEST_F(StageTable, RerunKilledAfterAChangeContinuesUnderTheNewKey) {
  run();
  set_config("suffix = \"?\"");
  fail_count_ = true;
  EXPECT_NE(error_of([&] { run(); }), "");
  EXPECT_EQ(runs_["upper"], 2);
  fail_count_ = false;
  run();
  EXPECT_EQ(runs_["upper"], 2);  // finished under the new key: not redone
  EXPECT_EQ(runs_["count"], 2);
  EXPECT_EQ(read_file((dir_ / "run/out/count/n.txt").string()), "4");
}

TEST_F(StageTable, KilledRunContinuesWhereItStopped) {
  fail_count_ = true;
  EXPECT_NE(error_of([&] { run(); }), "");
  EXPECT_FALSE(fs::exists(dir_ / "run/manifest.json"));
  EXPECT_EQ(manifest("manifest.partial.json")["stages"].size(), 1u);
  fail_count_ = false;
  run();
  EXPECT_EQ(runs_["upper"], 1);
  EXPECT_EQ(runs_["count"], 1);
  EXPECT_EQ(manifest()["stages"].size(), 2u);
}

TEST_F(StageTable, UntilStopsAfterTheNamedStage) {
  run("upper");
  EXPECT_EQ(manifest()["stages"].size(), 1u);
  EXPECT_EQ(runs_["count"], 0);
  std::string err = error_of([&] { run("cont"); });
  EXPECT_NE(err.find("--until: expected one of upper, count; got 'cont'"), std::string::npos) << err;
}

TEST_F(StageTable, UnknownTablesAreRejectedBeforeAnythingRuns) {
  config_ = load_toml("", "[uper]\nsuffix = \"!\"\n");
  std::string err = error_of([&] { run(); });
  EXPECT_NE(err.find("test.toml: unknown key(s) uper"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir_ / "run"));
}

std::vector<std::string> stage_names(const std::string& config_text) {
  std::vector<std::string> names;
  const toml::table config = load_toml("", config_text);
  for (const Stage& s : pipeline_stages(config, "test.toml")) {
    names.push_back(s.name);
    EXPECT_TRUE(s.run && s.outputs) << s.name;
  }
  return names;
}

TEST(PipelineStages, TheDefaultRunsEveryStage) {
  EXPECT_EQ(stage_names(default_config()),
            (std::vector<std::string>{"data", "split", "synth", "tokenizer", "shard", "pretrain-stage1",
                                      "pretrain-stage2", "pretrain-mid", "sft", "eval", "export"}));
}

TEST(PipelineStages, OptionalStagesFollowTheirTables) {
  EXPECT_EQ(stage_names("[data]\n"), (std::vector<std::string>{"data", "split", "tokenizer", "shard", "pretrain"}));
  EXPECT_EQ(stage_names("[eval]\n[[pretrain.phase]]\nname = \"a\"\n[[pretrain.phase]]\nname = \"b2\"\n"),
            (std::vector<std::string>{"data", "split", "tokenizer", "shard", "pretrain-a", "pretrain-b2", "eval"}));
}

TEST(PipelineStages, PhaseNamesAreChecked) {
  auto error = [](const std::string& text) {
    try {
      stage_names(text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  std::string err = error("[[pretrain.phase]]\nname = \"a\"\n[[pretrain.phase]]\nname = \"a\"\n");
  EXPECT_NE(err.find("test.toml [[pretrain.phase]] #2: name 'a' is used by an earlier phase"), std::string::npos) << err;
  err = error("[[pretrain.phase]]\nname = \"Stage 1\"\n");
  EXPECT_NE(err.find("test.toml [[pretrain.phase]] #1: name: expected a short lower-case name"), std::string::npos)
      << err;
  err = error("[[pretrain.phase]]\nsteps = 3\n");
  EXPECT_NE(err.find("#1: name"), std::string::npos) << err;
}

}  // namespace stage_test
