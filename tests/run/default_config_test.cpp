#include <gtest/gtest.h>

#include "kormo/run/run.h"
#include "kormo/util/config.h"

namespace kormo::run {
namespace {

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

}  // namespace
}  // namespace kormo::run
