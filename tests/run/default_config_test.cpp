#include <gtest/gtest.h>

#include "kormo/run/run.h"
#include "kormo/synth/program.h"
#include "kormo/util/config.h"

namespace kormo::run {
namespace default_config_test {

// The embedded `kormo run` default and configs/data/debian-demo.toml curate the
// same Debian help text, so they must relax the filter thresholds identically;
// the run default keeps literal values so `kormo run --print-default` is complete.
TEST(DefaultConfig, FilterThresholdsMatchTheDebianDemo) {
  toml::table run_default = load_toml("", default_config());
  toml::table demo = load_toml(std::string(KORMO_TEST_DIR) + "/../configs/data/debian-demo.toml");
  const toml::table* run_filter = run_default["data"]["filter"].as_table();
  const toml::table* demo_filter = demo["filter"].as_table();
  ASSERT_NE(run_filter, nullptr);
  ASSERT_NE(demo_filter, nullptr);
  EXPECT_EQ(*run_filter, *demo_filter) << "run default [data.filter]:\n"
                                       << *run_filter << "\n\ndebian-demo.toml [filter]:\n"
                                       << *demo_filter;
}

// The embedded teacher program is a valid program once the run adds what it sets (output,
// seeds, a teacher), asks for all five of KORMo's synthetic kinds, and leaves [seeds] and
// [program] output/format to the run, which refuses them in a program file.
TEST(DefaultConfig, TeacherProgramIsValidAndLeavesSeedsToTheRun) {
  toml::table prog = load_toml("", default_teacher_program());
  EXPECT_FALSE(prog.contains("seeds"));
  EXPECT_FALSE(prog["program"]["output"]);
  EXPECT_FALSE(prog["program"]["format"]);
  prog["program"].as_table()->insert_or_assign("output", "synth/teacher");
  prog.insert_or_assign("teachers", toml::table{{"t", toml::table{{"url", "http://127.0.0.1:1/v1"}}}});
  const synth::Program p = synth::program_from_toml(prog, "<embedded teacher program>", false);
  EXPECT_EQ(p.tasks, synth::teacher_tasks());
  EXPECT_GE(p.personas.size(), 6u);
  EXPECT_EQ(p.language, "ko");
  // The run default names no teacher: its synth stage runs the builtin programs alone.
  const toml::table run_default = load_toml("", default_config());
  EXPECT_FALSE(run_default["synth"]["teachers"]);
  EXPECT_FALSE(run_default["synth"]["program"]);
}

}  // namespace default_config_test

}  // namespace kormo::run
